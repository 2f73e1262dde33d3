//! The log record: one levelled message with where and when it was written, as sinks see it and
//! as it is stored on a span (an event named `log`).

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::Event;
use opentelemetry::{KeyValue, Value};
use serde::{Deserialize, Serialize};

use crate::privacy::redact::{CleanCache, Redactor};

/// Name of the span event a log record is stored as.
///
/// ```
/// assert_eq!(trace_runtime::log::EVENT_NAME, "log");
/// ```
pub const EVENT_NAME: &str = "log";

/// Attribute keys of a `log` span event; the SQLite store maps them into its `logs` table.
///
/// ```
/// use trace_runtime::log::attr;
/// assert_eq!((attr::LEVEL, attr::LINE), ("log.level", "code.line.number"));
/// ```
pub mod attr {
    /// `debug`, `info`, `warning`, `error` or `exception`.
    pub const LEVEL: &str = "log.level";
    /// The message.
    pub const MESSAGE: &str = "log.message";
    /// The run the record belongs to ([`run`](crate::log::run)).
    pub const RUN_ID: &str = "log.run_id";
    /// The parent of that run.
    pub const PARENT_RUN_ID: &str = "log.parent_run_id";
    /// The caller's source file.
    pub const FILE: &str = "code.file.path";
    /// The caller's line.
    pub const LINE: &str = "code.line.number";
    /// The writing thread's name.
    pub const THREAD_NAME: &str = "thread.name";
    /// The writing thread's number.
    pub const THREAD_ID: &str = "thread.id";
    /// The process id.
    pub const PID: &str = "process.pid";
    /// The error's type, for `exception` records.
    pub const ERROR_TYPE: &str = "error.type";
    /// The error's message.
    pub const EXCEPTION_MESSAGE: &str = "exception.message";
    /// The error's chain of causes, one `caused by: ..` line each.
    pub const EXCEPTION_STACKTRACE: &str = "exception.stacktrace";
    /// User metadata, a JSON object as a string.
    pub const METADATA: &str = "log.metadata";
}

/// How severe a log record is.
///
/// ```
/// use trace_runtime::log::Level;
///
/// assert_eq!("warning".parse::<Level>().unwrap(), Level::Warning);
/// assert!(Level::Exception.is_error() && !Level::Warning.is_error());
/// assert!("loud".parse::<Level>().unwrap_err().to_string().contains("loud"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Detailed diagnostic information.
    Debug,
    /// Progress of the work.
    Info,
    /// Something that may need attention.
    Warning,
    /// An operation failed.
    Error,
    /// An operation failed with an error value, recorded with its chain of causes.
    Exception,
}

impl Level {
    /// Every level, least severe first.
    pub const ALL: [Level; 5] = [Level::Debug, Level::Info, Level::Warning, Level::Error, Level::Exception];

    /// The level's wire name: `debug`, `info`, `warning`, `error`, `exception`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Exception => "exception",
        }
    }

    /// `error` and `exception`: the records that go to a run's `stderr.txt`.
    pub fn is_error(self) -> bool {
        matches!(self, Level::Error | Level::Exception)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A level name that is not one of `debug`, `info`, `warning`, `error`, `exception`; see
/// [`Level`] for an example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log level `{0}`: expected debug, info, warning, error or exception")]
pub struct UnknownLevel(pub String);

impl FromStr for Level {
    type Err = UnknownLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "debug" => Ok(Level::Debug),
            "info" => Ok(Level::Info),
            "warning" | "warn" => Ok(Level::Warning),
            "error" => Ok(Level::Error),
            "exception" | "critical" => Ok(Level::Exception),
            _ => Err(UnknownLevel(s.to_string())),
        }
    }
}

/// One log record with its metadata, as the log sinks receive it and as
/// [`RunDirSink::find_run`](crate::log::RunDirSink::find_run) gives it back.
///
/// ```
/// use trace_runtime::log::{Level, LogRecord};
///
/// let record = LogRecord::new(Level::Info, "workflow started");
/// assert_eq!(record.level, Level::Info);
/// assert!(record.datetime.ends_with('Z'));
/// assert_eq!(record.pid, std::process::id());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LogRecord {
    /// How severe.
    pub level: Level,
    /// The message.
    pub message: String,
    /// When it was written, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// The same instant as RFC 3339 in UTC with microseconds, `2024-12-01T14:30:22.123456Z`.
    #[serde(default)]
    pub datetime: String,
    /// The run it belongs to.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The parent of that run.
    #[serde(default)]
    pub parent_run_id: Option<String>,
    /// The trace current where it was written, 32 hex digits.
    #[serde(default)]
    pub trace_id: Option<String>,
    /// The span current where it was written, 16 hex digits.
    #[serde(default)]
    pub span_id: Option<String>,
    /// The caller's source file.
    #[serde(default)]
    pub file: Option<String>,
    /// The caller's line.
    #[serde(default)]
    pub line: Option<u32>,
    /// The writing thread's name.
    #[serde(default)]
    pub thread_name: Option<String>,
    /// The writing thread's number (the one in `ThreadId(n)`).
    #[serde(default)]
    pub thread_id: u64,
    /// The process id.
    #[serde(default)]
    pub pid: u32,
    /// The error's type, for records of an error.
    #[serde(default)]
    pub error_type: Option<String>,
    /// The error's message.
    #[serde(default)]
    pub exception_message: Option<String>,
    /// The error's causes, one `caused by: ..` line each.
    #[serde(default)]
    pub exception_stacktrace: Option<String>,
    /// User metadata.
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

impl LogRecord {
    /// A record written now by this thread and process, with no caller location or run.
    pub fn new(level: Level, message: impl Into<String>) -> Self {
        let time = SystemTime::now();
        let thread = std::thread::current();
        LogRecord {
            level,
            message: message.into(),
            time_unix_nano: unix_nanos(time),
            datetime: rfc3339(time),
            run_id: None,
            parent_run_id: None,
            trace_id: None,
            span_id: None,
            file: None,
            line: None,
            thread_name: thread.name().map(str::to_string),
            thread_id: thread_number(),
            pid: std::process::id(),
            error_type: None,
            exception_message: None,
            exception_stacktrace: None,
            metadata: None,
        }
    }

    /// Scrubs every text field with the redaction rules, as the export worker scrubs spans: the
    /// log drain thread calls it before any sink sees the record. Ids, numbers, the level and the
    /// time are left alone.
    pub(crate) fn redact(&mut self, redactor: &Redactor, clean: &mut CleanCache) {
        redactor.scrub_in_place(&mut self.message, clean);
        for text in [
            &mut self.run_id,
            &mut self.parent_run_id,
            &mut self.file,
            &mut self.thread_name,
            &mut self.error_type,
            &mut self.exception_message,
            &mut self.exception_stacktrace,
        ]
        .into_iter()
        .flatten()
        {
            redactor.scrub_in_place(text, clean);
        }
        if let Some(metadata) = &mut self.metadata {
            redact_map(metadata, redactor, clean);
        }
    }

    /// When it was written.
    ///
    /// ```
    /// let record = trace_runtime::log::LogRecord::new(trace_runtime::log::Level::Info, "x");
    /// assert!(record.time() <= std::time::SystemTime::now());
    /// ```
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.time_unix_nano)
    }

    /// The attributes of the `log` span event this record is stored as (`log.metadata` cut at
    /// [`MAX_VALUE_BYTES`](crate::record::limits::MAX_VALUE_BYTES), like every string attribute).
    ///
    /// ```
    /// use trace_runtime::log::{Level, LogRecord};
    ///
    /// let attrs = LogRecord::new(Level::Error, "timeout").event_attributes();
    /// assert_eq!(attrs[0].key.as_str(), "log.level");
    /// assert_eq!(attrs[0].value.as_str(), "error");
    /// ```
    pub fn event_attributes(&self) -> Vec<KeyValue> {
        let mut attrs = vec![
            KeyValue::new(attr::LEVEL, self.level.as_str()),
            KeyValue::new(attr::MESSAGE, self.message.clone()),
        ];
        let mut opt = |key: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                attrs.push(KeyValue::new(key, v.clone()));
            }
        };
        opt(attr::RUN_ID, &self.run_id);
        opt(attr::PARENT_RUN_ID, &self.parent_run_id);
        opt(attr::FILE, &self.file);
        if let Some(line) = self.line {
            attrs.push(KeyValue::new(attr::LINE, i64::from(line)));
        }
        if let Some(name) = &self.thread_name {
            attrs.push(KeyValue::new(attr::THREAD_NAME, name.clone()));
        }
        attrs.push(KeyValue::new(attr::THREAD_ID, self.thread_id as i64));
        attrs.push(KeyValue::new(attr::PID, i64::from(self.pid)));
        let mut opt = |key: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                attrs.push(KeyValue::new(key, v.clone()));
            }
        };
        opt(attr::ERROR_TYPE, &self.error_type);
        opt(attr::EXCEPTION_MESSAGE, &self.exception_message);
        opt(attr::EXCEPTION_STACKTRACE, &self.exception_stacktrace);
        if let Some(meta) = &self.metadata {
            let json = serde_json::Value::Object(meta.clone()).to_string();
            attrs.push(KeyValue::new(attr::METADATA, crate::record::value::clip(&json).into_owned()));
        }
        attrs
    }

    /// Reads a record back from a `log` span event of the span `trace_id`/`span_id`; `None` for
    /// any other event, or a `log` event without a known level.
    ///
    /// ```
    /// use trace_runtime::log::{Level, LogRecord};
    /// use trace_runtime::opentelemetry::trace::Event;
    ///
    /// let original = LogRecord::new(Level::Warning, "slow");
    /// let event = Event::new("log", original.time(), original.event_attributes(), 0);
    /// let back = LogRecord::from_event(&event, None, None).unwrap();
    /// assert_eq!((back.level, back.message.as_str()), (Level::Warning, "slow"));
    /// ```
    pub fn from_event(event: &Event, trace_id: Option<String>, span_id: Option<String>) -> Option<LogRecord> {
        if event.name != EVENT_NAME {
            return None;
        }
        let get = |key: &str| event.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value);
        let string = |key: &str| get(key).map(|v| v.as_str().into_owned());
        let int = |key: &str| match get(key) {
            Some(Value::I64(n)) => Some(*n),
            Some(other) => other.as_str().parse().ok(),
            None => None,
        };
        let level = string(attr::LEVEL)?.parse().ok()?;
        let metadata = string(attr::METADATA).and_then(|s| match serde_json::from_str(&s) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => None,
        });
        Some(LogRecord {
            level,
            message: string(attr::MESSAGE).unwrap_or_default(),
            time_unix_nano: unix_nanos(event.timestamp),
            datetime: rfc3339(event.timestamp),
            run_id: string(attr::RUN_ID),
            parent_run_id: string(attr::PARENT_RUN_ID),
            trace_id,
            span_id,
            file: string(attr::FILE),
            line: int(attr::LINE).and_then(|n| u32::try_from(n).ok()),
            thread_name: string(attr::THREAD_NAME),
            thread_id: int(attr::THREAD_ID).and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            pid: int(attr::PID).and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
            error_type: string(attr::ERROR_TYPE),
            exception_message: string(attr::EXCEPTION_MESSAGE),
            exception_stacktrace: string(attr::EXCEPTION_STACKTRACE),
            metadata,
        })
    }
}

/// Nanoseconds since the Unix epoch (0 before it, saturating far after it).
/// Scrubs the keys and every string value of a JSON object, nested ones included.
fn redact_map(
    map: &mut serde_json::Map<String, serde_json::Value>,
    redactor: &Redactor,
    clean: &mut CleanCache,
) {
    let keys_change = map.keys().any(|k| matches!(redactor.redact(k), std::borrow::Cow::Owned(_)));
    if keys_change {
        let old = std::mem::take(map);
        for (mut key, value) in old {
            redactor.scrub_in_place(&mut key, clean);
            map.insert(key, value);
        }
    }
    for value in map.values_mut() {
        redact_json(value, redactor, clean);
    }
}

fn redact_json(value: &mut serde_json::Value, redactor: &Redactor, clean: &mut CleanCache) {
    match value {
        serde_json::Value::String(text) => redactor.scrub_in_place(text, clean),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| redact_json(v, redactor, clean)),
        serde_json::Value::Object(map) => redact_map(map, redactor, clean),
        _ => {}
    }
}

pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64)
}

/// RFC 3339 in UTC with microseconds: `2024-12-01T14:30:22.123456Z`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    crate::record::clock::rfc3339(time)
}

/// The UTC calendar date of `time`.
#[cfg(any(feature = "sinks", test))]
pub(crate) fn utc_date(time: SystemTime) -> (i64, u32, u32) {
    let text = rfc3339(time);
    let field = |range: std::ops::Range<usize>| text.get(range).and_then(|f| f.parse().ok()).unwrap_or(1);
    (i64::from(field(0..4)), field(5..7), field(8..10))
}

/// The number in `ThreadId(n)`, read once per thread.
fn thread_number() -> u64 {
    thread_local! {
        static NUMBER: u64 = {
            let text = format!("{:?}", std::thread::current().id());
            text.trim_start_matches("ThreadId(").trim_end_matches(')').parse().unwrap_or(0)
        };
    }
    NUMBER.with(|n| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_field_of_a_record_is_redacted_and_nothing_else() {
        const KEY: &str = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345";
        let mut record = LogRecord::new(Level::Error, format!("using {KEY}"));
        record.run_id = Some(format!("run-{KEY}"));
        record.exception_message = Some(format!("denied {KEY}"));
        record.trace_id = Some("0af7651916cd43dd8448eb211c80319c".into());
        let mut meta = serde_json::Map::new();
        meta.insert(format!("k-{KEY}"), serde_json::json!({ "nested": [KEY, 3] }));
        record.metadata = Some(meta);
        let before = record.clone();
        record.redact(&Redactor::builtin(), &mut CleanCache::default());
        let text = serde_json::to_string(&record).unwrap();
        assert!(!text.contains("AbCdEfGh"), "{text}");
        assert_eq!(record.message, "using [REDACTED:openai_key]");
        assert_eq!(record.run_id.as_deref(), Some("run-[REDACTED:openai_key]"));
        assert_eq!(
            record.metadata.unwrap()["k-[REDACTED:openai_key]"],
            serde_json::json!({ "nested": ["[REDACTED:openai_key]", 3] })
        );
        assert_eq!((record.trace_id, record.time_unix_nano), (before.trace_id, before.time_unix_nano));
    }

    #[test]
    fn dates_format_as_utc_rfc3339_with_micros() {
        let t = UNIX_EPOCH + Duration::from_micros(1_733_063_422_123_456);
        assert_eq!(rfc3339(t), "2024-12-01T14:30:22.123456Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        assert_eq!(utc_date(UNIX_EPOCH + Duration::from_secs(951_782_400)), (2000, 2, 29));
    }

    #[test]
    fn records_round_trip_through_span_event_attributes() {
        let mut record = LogRecord::new(Level::Exception, "boom");
        record.run_id = Some("r-1".into());
        record.file = Some("src/main.rs".into());
        record.line = Some(42);
        record.error_type = Some("std::io::Error".into());
        record.metadata = Some(serde_json::json!({"stage": "load"}).as_object().cloned().unwrap_or_default());
        let event = Event::new(EVENT_NAME, record.time(), record.event_attributes(), 0);
        let mut back = LogRecord::from_event(&event, None, None).unwrap();
        back.datetime = record.datetime.clone();
        back.time_unix_nano = record.time_unix_nano;
        assert_eq!(back, record);
    }
}
