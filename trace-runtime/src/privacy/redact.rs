//! Redaction: secrets are scrubbed from every exported string before any exporter sees it.
//!
//! The export worker runs the rules over the name, every string attribute value (and every
//! string of a string-list value), every event's name and attributes and the error description
//! of every span, then
//! cuts each string to [`limits::MAX_VALUE_BYTES`](crate::record::limits::MAX_VALUE_BYTES) (a cut value ends
//! with [`TRUNCATED`]). All exporters — console, OTLP, files, anything added with
//! `with_span_exporter` — and [`testing::capture`](crate::testing::capture) get the scrubbed
//! spans. No key is exempt: a user's `code.*` attribute is scrubbed like any other (the kit's
//! own code locations are static strings, checked once).
//!
//! Log records get the same rules on their way to the log sinks (the run directory, the remote
//! sinks, any [`LogSink`](crate::log::LogSink)): the log drain thread scrubs every text field of
//! each record (message, run ids, thread name, error type, message and causes, metadata keys and
//! string values) before the first sink sees it. Nothing of this runs on the application's
//! threads.
//!
//! A match is replaced by `[REDACTED:<class>]`, the classes being:
//!
//! | class | what |
//! |---|---|
//! | `anthropic_key` | `sk-ant-…` |
//! | `openai_key` | `sk-…`, `sk-proj-…` (20+ characters after `sk-`) |
//! | `google_key` | `AIza…` (39 characters) |
//! | `aws_key` | `AKIA…` / `ASIA…` access key ids |
//! | `github_token` | `ghp_…`, `gho_…`, `ghu_…`, `ghs_…`, `ghr_…`, `github_pat_…` |
//! | `slack_token` | `xoxb-…`, `xoxp-…`, `xoxa-…`, `xoxo-…`, `xoxs-…`, `xoxr-…` |
//! | `stripe_key` | `sk_live_…`, `rk_test_…`, ... |
//! | `huggingface_token` | `hf_…` |
//! | `groq_key` | `gsk_…` |
//! | `jwt` | three base64url segments starting `eyJ` |
//! | `private_key` | a PEM `-----BEGIN … PRIVATE KEY-----` block |
//! | `bearer` | `Bearer <token>` (any case) |
//! | `email` | e-mail addresses |
//! | `custom` | your patterns: `TRACE_REDACT_PATTERNS` or [`ConfigBuilder::redact_pattern`](crate::ConfigBuilder::redact_pattern) |
//!
//! `TRACE_REDACT_PATTERNS` holds regular expressions ([`regex`] syntax) separated by `;` (write a
//! literal `;` as `\;`); an invalid one makes `init()` fail naming it. `TRACE_REDACT=false` (or
//! [`ConfigBuilder::redact`](crate::ConfigBuilder::redact)`(false)`) turns the built-in rules off;
//! custom patterns and truncation still apply.
//!
//! ```
//! use trace_runtime::redact::Redactor;
//!
//! let r = Redactor::builtin();
//! assert_eq!(r.redact("key sk-proj-abcdefghijklmnopqrstuvwx"), "key [REDACTED:openai_key]");
//! assert_eq!(r.redact("mail ada@example.com"), "mail [REDACTED:email]");
//! assert_eq!(r.redact("nothing to hide"), "nothing to hide");
//! ```

use std::borrow::Cow;
use std::sync::{Arc, OnceLock, RwLock};

use aho_corasick::AhoCorasick;
use opentelemetry::trace::Status;
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;
use regex::{Regex, RegexSet};

mod clean_cache;
pub(crate) use clean_cache::CleanCache;

pub use crate::record::limits::TRUNCATED;

/// The built-in rules: class and pattern, applied in this order (a bearer token is one match,
/// whatever key it holds).
pub const BUILTIN_RULES: &[(&str, &str)] = &[
    ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    ("bearer", r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{8,}=*"),
    ("anthropic_key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("stripe_key", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("google_key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("aws_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("slack_token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}"),
    ("groq_key", r"\bgsk_[A-Za-z0-9]{40,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ("email", r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b"),
];

/// A compiled set of redaction rules.
///
/// ```
/// use trace_runtime::redact::Redactor;
///
/// let r = Redactor::new(true, &[r"acct-\d{6}"]).unwrap();
/// assert_eq!(r.redact("acct-123456 of bob@corp.io"), "[REDACTED:custom] of [REDACTED:email]");
/// assert!(Redactor::new(true, &["(unclosed"]).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Redactor {
    /// Literals every built-in match contains: a literal search (a few ns) rules out most
    /// strings before any pattern runs.
    trigger: Option<AhoCorasick>,
    /// The custom patterns, which have no known literal.
    custom: Option<RegexSet>,
    any: RegexSet,
    rules: Vec<(String, Regex)>,
}

/// Literals (compared ignoring ASCII case) one of which every built-in match contains.
const TRIGGERS: &[&str] = &[
    "-----begin",
    "bearer",
    "sk-",
    "sk_",
    "rk_",
    "pk_",
    "aiza",
    "akia",
    "asia",
    "gh",
    "xox",
    "hf_",
    "gsk_",
    "eyj",
    "@",
];

/// A redaction pattern that is not a valid regular expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("redaction pattern `{pattern}` is not a valid regular expression: {problem}")]
pub struct PatternError {
    /// The pattern as given.
    pub pattern: String,
    /// The regex parser's message.
    pub problem: String,
}

impl Redactor {
    /// The built-in rules only.
    pub fn builtin() -> Redactor {
        // The built-in patterns are constants checked by the tests, so this cannot fail; an empty
        // rule set (no redaction) would be the only fallback and is never reached.
        Redactor::new(true, &[] as &[&str]).unwrap_or_else(|_| Redactor::none())
    }

    /// No rule: only truncation.
    fn none() -> Redactor {
        Redactor { trigger: None, custom: None, any: RegexSet::empty(), rules: Vec::new() }
    }

    /// The built-in rules (when `builtin`) followed by `custom` patterns.
    pub fn new(builtin: bool, custom: &[impl AsRef<str>]) -> Result<Redactor, PatternError> {
        let mut rules = Vec::new();
        if builtin {
            for (class, pattern) in BUILTIN_RULES {
                rules.push((class.to_string(), compile(pattern)?));
            }
        }
        for pattern in custom {
            rules.push(("custom".to_string(), compile(pattern.as_ref())?));
        }
        let trigger = match builtin {
            true => Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(TRIGGERS)
                    .map_err(|e| PatternError { pattern: TRIGGERS.join("|"), problem: e.to_string() })?,
            ),
            false => None,
        };
        let custom_set = match custom.len() {
            0 => None,
            _ => Some(
                RegexSet::new(custom.iter().map(|p| p.as_ref()))
                    .map_err(|e| PatternError { pattern: String::new(), problem: e.to_string() })?,
            ),
        };
        let any = RegexSet::new(rules.iter().map(|(_, r)| r.as_str()))
            .map_err(|e| PatternError { pattern: String::new(), problem: e.to_string() })?;
        Ok(Redactor { trigger, custom: custom_set, any, rules })
    }

    /// `text` with every match replaced by `[REDACTED:<class>]` (no copy when nothing matches).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let builtin = self.trigger.as_ref().is_some_and(|t| t.is_match(text));
        if !builtin && !self.custom.as_ref().is_some_and(|c| c.is_match(text)) {
            return Cow::Borrowed(text);
        }
        // A trigger literal is no match ("gh" in "throughput"): text no rule changes comes back
        // borrowed, so it is known clean (as a copy, every span carrying it was scanned again).
        let mut out = Cow::Borrowed(text);
        for index in self.any.matches(text).iter() {
            let (class, rule) = &self.rules[index];
            let replaced = match rule.replace_all(&out, format!("[REDACTED:{class}]").as_str()) {
                Cow::Owned(replaced) => replaced,
                Cow::Borrowed(_) => continue,
            };
            out = Cow::Owned(replaced);
        }
        out
    }

    /// Redacts and truncates every string of `span`; `clean` remembers short strings that need
    /// neither, so a value repeated on every span is scanned once.
    pub(crate) fn apply(&self, span: &mut SpanData, clean: &mut CleanCache) {
        if let Some(new) = self.scrub(&span.name, clean) {
            span.name = Cow::Owned(new);
        }
        for kv in &mut span.attributes {
            self.value(kv, clean);
        }
        for event in &mut span.events.events {
            // An event's name is often a message (a `tracing` event's, an `add_event` text).
            if let Some(new) = self.scrub(&event.name, clean) {
                event.name = Cow::Owned(new);
            }
            for kv in &mut event.attributes {
                self.value(kv, clean);
            }
        }
        if let Status::Error { description } = &mut span.status
            && let Some(new) = self.scrub(description, clean)
        {
            *description = Cow::Owned(new);
        }
    }

    #[inline(always)]
    fn value(&self, kv: &mut KeyValue, clean: &mut CleanCache) {
        match &mut kv.value {
            Value::String(s) => {
                if let Some(new) = self.scrub(s.as_str(), clean) {
                    *s = StringValue::from(new);
                }
            }
            Value::Array(Array::String(list)) => {
                for s in list {
                    if let Some(new) = self.scrub(s.as_str(), clean) {
                        *s = StringValue::from(new);
                    }
                }
            }
            _ => {}
        }
    }

    /// Redacts and truncates `text` in place, as [`Redactor::apply`] does each string of a span:
    /// the log drain thread scrubs log records with it.
    pub(crate) fn scrub_in_place(&self, text: &mut String, clean: &mut CleanCache) {
        if let Some(new) = self.scrub(text, clean) {
            *text = new;
        }
    }

    /// The redacted and truncated text, `None` when unchanged. Inline, the common case: a
    /// static string checked before, found by address (a call per string, with the slow path's
    /// frame set up, was most of redaction's time in the throughput benchmark).
    #[inline(always)]
    fn scrub(&self, text: &str, clean: &mut CleanCache) -> Option<String> {
        if clean.known_clean_recent(text) {
            return None;
        }
        self.scrub_slow(text, clean)
    }

    #[inline(never)]
    fn scrub_slow(&self, text: &str, clean: &mut CleanCache) -> Option<String> {
        if clean.known_clean_static(text) {
            return None;
        }
        let cacheable = text.len() <= CleanCache::MAX_LEN;
        if cacheable && clean.set.contains(text) {
            return None;
        }
        let redacted = self.redact(text);
        if redacted.len() <= crate::record::limits::value_bytes() {
            return match redacted {
                Cow::Borrowed(_) => {
                    if cacheable {
                        clean.insert(text);
                    }
                    None
                }
                Cow::Owned(s) => Some(s),
            };
        }
        Some(crate::record::value::clip(&redacted).into_owned())
    }
}

fn compile(pattern: &str) -> Result<Regex, PatternError> {
    Regex::new(pattern).map_err(|e| PatternError { pattern: pattern.to_string(), problem: e.to_string() })
}

/// Splits `TRACE_REDACT_PATTERNS` at each `;` not preceded by a backslash.
pub(crate) fn split_patterns(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&';') => {
                current.push_str("\\;");
                chars.next();
            }
            ';' => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// The rules `init` installed, built-in ones until then: the one source both the span stage and
/// the log drain read, so a record is never scrubbed with rules older than the other's.
fn installed() -> &'static RwLock<Arc<Redactor>> {
    static INSTALLED: OnceLock<RwLock<Arc<Redactor>>> = OnceLock::new();
    INSTALLED.get_or_init(|| RwLock::new(Arc::new(Redactor::builtin())))
}

/// Installs `rules` (from `init`); every [`Scrubber`] picks them up at its next refresh.
pub(crate) fn install(rules: Redactor) {
    *installed().write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
}

/// `text` scrubbed by the installed rules, for what leaves the process other than through the
/// export worker (association values in outgoing `baggage`).
pub(crate) fn redact_installed(text: &str) -> String {
    Scrubber::current().redact(text).into_owned()
}

/// The installed rules with a cache of strings they leave unchanged: one per thread that scrubs
/// (the export worker, the log drain).
pub(crate) struct Scrubber {
    rules: Arc<Redactor>,
    clean: CleanCache,
}

impl Scrubber {
    pub(crate) fn new() -> Self {
        Scrubber { rules: Self::current(), clean: CleanCache::default() }
    }

    fn current() -> Arc<Redactor> {
        installed().read().map_or_else(|p| p.into_inner().clone(), |r| r.clone())
    }

    /// Picks up rules installed since the last call (and forgets what the old ones found clean).
    pub(crate) fn refresh(&mut self) {
        let rules = Self::current();
        if !Arc::ptr_eq(&rules, &self.rules) {
            self.clean.clear();
            self.rules = rules;
        }
    }

    /// Notes a static string of the span being converted: redaction then knows it by address.
    #[inline]
    pub(crate) fn note_static(&mut self, text: &'static str) {
        self.clean.note_static(text, &self.rules);
    }

    /// Scrubs every string of `span`.
    pub(crate) fn span(&mut self, span: &mut SpanData) {
        self.rules.apply(span, &mut self.clean);
    }

    /// Scrubs each string of `attributes` (a metric point's, taken from a span before it was
    /// scrubbed).
    #[cfg(feature = "metrics")]
    pub(crate) fn attributes(&mut self, attributes: &mut [KeyValue]) {
        for kv in attributes {
            self.rules.value(kv, &mut self.clean);
        }
    }

    /// The rules and the cache, for records that scrub themselves.
    pub(crate) fn parts(&mut self) -> (&Redactor, &mut CleanCache) {
        (&self.rules, &mut self.clean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::limits::MAX_VALUE_BYTES;

    fn redacted(text: &str) -> String {
        Redactor::builtin().redact(text).into_owned()
    }

    #[test]
    fn each_secret_class_is_redacted() {
        let cases = [
            ("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345", "anthropic_key"),
            ("sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345", "openai_key"),
            ("sk-AbCdEfGhIjKlMnOpQrStUvWxYz012345", "openai_key"),
            ("sk_live_AbCdEfGhIjKlMnOpQrSt", "stripe_key"),
            ("AIzaSyA-1234567890abcdefghijklmnopqrstu", "google_key"),
            ("AKIAIOSFODNN7EXAMPLE", "aws_key"),
            ("ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "github_token"),
            ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_token"),
            ("xoxb-1234567890-abcdefghij", "slack_token"),
            ("hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234", "huggingface_token"),
            ("gsk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdef", "groq_key"),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "jwt",
            ),
            ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "private_key"),
            ("ada.lovelace+ai@analytical-engine.co.uk", "email"),
        ];
        for (secret, class) in cases {
            assert_eq!(redacted(&format!("x {secret} y")), format!("x [REDACTED:{class}] y"), "{class}");
        }
        assert_eq!(redacted("Authorization: Bearer abc.def-ghi_jkl=="), "Authorization: [REDACTED:bearer]");
        assert_eq!(redacted("authorization: bearer 0123456789abcdef"), "authorization: [REDACTED:bearer]");
    }

    #[test]
    fn event_names_are_redacted_like_their_attributes() {
        use opentelemetry::trace::Event;
        let (_, mut spans) = crate::testing::capture(|| crate::trace!("job", {}));
        let span = &mut spans[0];
        let key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345";
        span.events.events.push(Event::new(format!("call {key}"), std::time::SystemTime::now(), vec![], 0));
        Redactor::builtin().apply(span, &mut CleanCache::default());
        assert_eq!(span.events.events[0].name, "call [REDACTED:openai_key]");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let r = Redactor::builtin();
        // Some hold a literal the rules start from ("sk", "gh", "@", "bearer"): the text still
        // comes back borrowed, so the clean cache remembers it and it is scanned once.
        for text in [
            "the task-manager skipped 3 frames",
            "sk-short",
            "price is $0.50 @ store",
            "gpt-4o-mini-2024-07-18",
            "user@localhost",
            "bearer of bad news",
            "throughput::kit_step",
            "AKIA",
        ] {
            assert!(matches!(r.redact(text), Cow::Borrowed(t) if t == text), "{text} copied");
            let mut clean = CleanCache::default();
            assert!(r.scrub(text, &mut clean).is_none() && clean.set.contains(text), "{text} not clean");
        }
    }

    #[test]
    fn custom_patterns_and_their_errors() {
        let r = Redactor::new(false, &["acct-[0-9]+", r"semi\;colon"]).unwrap();
        assert_eq!(
            r.redact("acct-42 semi;colon ada@example.com"),
            "[REDACTED:custom] [REDACTED:custom] ada@example.com"
        );
        let err = Redactor::new(true, &["ok", "a{2"]).unwrap_err();
        assert_eq!(err.pattern, "a{2");
        assert!(err.to_string().starts_with("redaction pattern `a{2` is not a valid regular expression"));
    }

    #[test]
    fn pattern_lists_split_at_unescaped_semicolons() {
        assert_eq!(split_patterns(r"a{1,3}; b\;c ;;"), vec!["a{1,3}".to_string(), r"b\;c".to_string()]);
    }

    #[test]
    fn long_values_are_cut_with_a_marker_after_redaction() {
        let r = Redactor::builtin();
        let long = format!("{}ada@example.com", "é".repeat(MAX_VALUE_BYTES));
        let mut clean = CleanCache::default();
        let cut = r.scrub(&long, &mut clean).unwrap();
        assert!(cut.len() <= MAX_VALUE_BYTES && cut.ends_with(TRUNCATED));
        assert!(r.scrub("short", &mut clean).is_none());
    }
}
