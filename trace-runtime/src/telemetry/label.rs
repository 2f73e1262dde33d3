//! Labels that may leave the process: short names, never content.
//!
//! Every label the telemetry API takes is a `&'static str` (a name written in the program, not a
//! value computed from a request, a file or an error), and is checked again here before it is
//! counted. Anything that looks like content is replaced by [`REDACTED`]: a path, a URL, an e-mail
//! address, an IP address, a host name, a long number or hex run (ids, keys), whitespace, more
//! than [`MAX_LABEL_BYTES`] bytes, or a word equal to this machine's host name or the user's login
//! name (so `"buildbox7"` cannot slip through as a plain word).

use std::sync::OnceLock;

/// What replaces a label that looks like content.
///
/// ```
/// assert_eq!(trace_runtime::telemetry::REDACTED, "redacted");
/// ```
pub const REDACTED: &str = "redacted";

/// Longest label kept, in bytes.
///
/// ```
/// assert_eq!(trace_runtime::telemetry::MAX_LABEL_BYTES, 64);
/// ```
pub const MAX_LABEL_BYTES: usize = 64;

/// Top-level domains that make a dotted label read as a host name (`api.example.com`).
const HOST_SUFFIXES: &[&str] = &[
    "com",
    "net",
    "org",
    "io",
    "dev",
    "ai",
    "app",
    "co",
    "cloud",
    "local",
    "localhost",
    "internal",
    "lan",
    "home",
    "corp",
    "edu",
    "gov",
    "info",
    "biz",
    "xyz",
    "me",
    "tech",
    "uk",
    "de",
    "fr",
    "jp",
    "cn",
    "ru",
    "eu",
    "us",
    "ca",
    "au",
    "in",
    "br",
    "nl",
];

/// `label` if it is a plain name, else `None`.
pub(crate) fn check(label: &'static str) -> Option<&'static str> {
    let ok = !label.is_empty()
        && label.len() <= MAX_LABEL_BYTES
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        && !single_colon(label)
        && !looks_like_address(label)
        && !looks_like_host(label)
        && !has_long_run(label)
        && !names_this_machine(label, identities());
    ok.then_some(label)
}

/// The host name and login names of this process, lower-cased: words a label must not be.
fn identities() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let host = crate::export::resource::host_name();
        let vars = ["HOSTNAME", "COMPUTERNAME", "USER", "USERNAME", "LOGNAME"];
        host.into_iter()
            .chain(vars.iter().filter_map(|v| std::env::var(v).ok()))
            .flat_map(|name| {
                // `host.example.com` also names the machine by its first label.
                let name = name.trim().to_ascii_lowercase();
                let first = name.split('.').next().unwrap_or_default().to_string();
                [name, first]
            })
            .filter(|name| name.len() >= 2)
            .collect()
    })
}

/// Whether `label`, or one of its words (split at `.`, `-`, `_`, `:`), is one of `names`
/// (compared without allocating: this runs once per event on the telemetry thread).
fn names_this_machine(label: &str, names: &[String]) -> bool {
    let is_name = |word: &str| names.iter().any(|name| name.eq_ignore_ascii_case(word));
    is_name(label) || label.split(['.', '-', '_', ':']).any(is_name)
}

/// A `:` that is not part of a Rust path `::` (a drive letter, `host:port`, IPv6).
fn single_colon(label: &str) -> bool {
    label.split("::").any(|part| part.contains(':'))
}

fn looks_like_address(label: &str) -> bool {
    label.parse::<std::net::IpAddr>().is_ok()
        || (label.contains(':') && label.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'))
        || label.split('.').filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).count() >= 3
}

fn looks_like_host(label: &str) -> bool {
    let mut parts = label.rsplit('.');
    let last = parts.next().unwrap_or_default();
    parts.next().is_some() && HOST_SUFFIXES.iter().any(|s| s.eq_ignore_ascii_case(last))
}

/// Six digits in a row (a number that identifies something) or eight hex digits with a digit
/// among them (a hash, a UUID part, a key).
fn has_long_run(label: &str) -> bool {
    let (mut digits, mut hex, mut hex_has_digit) = (0, 0, false);
    for b in label.bytes() {
        digits = if b.is_ascii_digit() { digits + 1 } else { 0 };
        if b.is_ascii_hexdigit() {
            hex += 1;
            hex_has_digit |= b.is_ascii_digit();
        } else {
            (hex, hex_has_digit) = (0, false);
        }
        if digits >= 6 || (hex >= 8 && hex_has_digit) {
            return true;
        }
    }
    false
}

/// The bare name of a type: `std::io::error::Error` -> `Error`, `my::Wrapper<T>` -> `Wrapper`.
pub(crate) fn type_label(type_name: &'static str) -> &'static str {
    let base = type_name.split('<').next().unwrap_or(type_name);
    let base = base.trim_start_matches(['&', '*']).trim_start_matches("mut ").trim_start_matches("dyn ");
    base.rsplit("::").next().unwrap_or(base).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_kept() {
        for label in [
            "simple",
            "pydantic_ai",
            "agent.simple",
            "TimeoutError",
            "voice-pipeline",
            "tools::search",
            "gpt4o",
            "Error404",
        ] {
            assert_eq!(check(label), Some(label), "{label}");
        }
    }

    #[test]
    fn content_is_refused() {
        for label in [
            "",
            "/home/ada/secrets.txt",
            "C:\\Users\\ada",
            "C:",
            "~/.ssh",
            "src/main.rs",
            "https://api.example.com/v1",
            "ada@example.com",
            "192.168.1.20",
            "10.0.0.1",
            "::1",
            "fe80::1",
            "2001:db8::8a2e:370:7334",
            "api.openai.com",
            "db.internal",
            "localhost:8080",
            "user 42 failed",
            "connection refused\n",
            "sk-0123456789abcdef",
            "123e4567-e89b-12d3-a456-426614174000",
            "call 5551234567",
            "order1234567",
            "x=1&y=2",
            "a_label_that_goes_on_and_on_and_on_well_past_the_sixty_four_byte_limit",
        ] {
            assert_eq!(check(label), None, "{label:?} must not leave the process");
        }
    }

    #[test]
    fn the_machine_and_user_names_are_refused() {
        let names = ["buildbox7".to_string(), "ada".to_string()];
        for label in ["buildbox7", "BuildBox7", "agent.buildbox7", "ada", "ada_agent"] {
            assert!(names_this_machine(label, &names), "{label}");
        }
        for label in ["adapter", "agent.simple", "buildbox"] {
            assert!(!names_this_machine(label, &names), "{label}");
        }
    }

    #[test]
    fn type_labels_are_the_bare_type_name() {
        assert_eq!(type_label(std::any::type_name::<std::io::Error>()), "Error");
        assert_eq!(type_label(std::any::type_name::<std::num::ParseIntError>()), "ParseIntError");
        assert_eq!(type_label(std::any::type_name::<Box<dyn std::error::Error>>()), "Box");
        assert_eq!(type_label(std::any::type_name::<&str>()), "str");
    }
}
