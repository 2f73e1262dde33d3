//! The Datadog logs intake (v2): a JSON array of log entries, `DD-API-KEY` header.

use serde_json::{Value as Json, json};

use super::doc::Doc;
use super::engine::{Format, HttpSink, Outcome};
use super::http::{Http, Request, Retry};
use super::{SinkError, check_url, env, hostname, retry_from_env};
use crate::log::Level;

const NAME: &str = "datadog";
const DEFAULT_URL: &str = "https://http-intake.logs.datadoghq.com/api/v2/logs";
/// The intake's limits per request: entries, and bytes (5 MB, kept under).
const MAX_ENTRIES: usize = 1000;
const MAX_PAYLOAD: usize = 4_500_000;
/// "Log events can be submitted with a timestamp that is up to 18 hours in the past"
/// (<https://docs.datadoghq.com/api/latest/logs/send-logs/>): older ones are not sent, and
/// counted as failed, instead of being dropped by the intake unseen.
const MAX_AGE_MS: u64 = 18 * 3600 * 1000;

/// Builds the Datadog logs sink: POSTs to the logs intake v2 (`/api/v2/logs`) a JSON array of
/// entries `{"ddsource", "ddtags", "hostname", "service", "status", "message", ...}` with the
/// document's other fields beside them (`trace_id`, `span_id`, `run_id`, `attributes`, ..., a span's
/// status as `span_status`).
/// `status` is the level (`debug`, `info`, `warn`, `error`, `critical` for exceptions); a span is
/// `info`, or `error` if it failed, with its name as message. A batch is split at the intake's
/// limits, 1000 entries or 5 MB per request; records more than 18 hours old, which the intake
/// does not take, are counted as failed and not sent.
///
/// ```
/// use trace_runtime::sinks::DatadogConfig;
///
/// let sink = DatadogConfig::new("my-api-key").tags("env:prod,team:voice").build().unwrap();
/// assert_eq!(sink.name(), "datadog");
/// ```
#[derive(Clone, Debug)]
#[must_use = "a config does nothing until `.build()`"]
pub struct DatadogConfig {
    api_key: Option<String>,
    url: String,
    tags: Option<String>,
    source: String,
    hostname: Option<String>,
    service: Option<String>,
    retry: Retry,
}

impl DatadogConfig {
    /// A sink sending with `api_key` to the US1 intake.
    pub fn new(api_key: impl Into<String>) -> Self {
        DatadogConfig {
            api_key: Some(api_key.into()),
            url: DEFAULT_URL.into(),
            tags: None,
            source: "trace-runtime".into(),
            hostname: None,
            service: None,
            retry: Retry::default(),
        }
    }

    /// From `TRACE_DATADOG_API_KEY` (or `DD_API_KEY`), `TRACE_DATADOG_URL`, `TRACE_DATADOG_TAGS`
    /// (or `DD_TAGS`) and the retry variables.
    pub fn from_env() -> Result<Self, SinkError> {
        Ok(DatadogConfig {
            api_key: env("TRACE_DATADOG_API_KEY").or_else(|| env("DD_API_KEY")),
            url: env("TRACE_DATADOG_URL").unwrap_or_else(|| DEFAULT_URL.into()),
            tags: env("TRACE_DATADOG_TAGS").or_else(|| env("DD_TAGS")),
            source: "trace-runtime".into(),
            hostname: None,
            service: None,
            retry: retry_from_env(NAME)?,
        })
    }

    /// The intake URL (another site: `https://http-intake.logs.datadoghq.eu/api/v2/logs`).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// `ddtags`, `key:value,key:value`.
    pub fn tags(mut self, tags: impl Into<String>) -> Self {
        self.tags = Some(tags.into());
        self
    }

    /// `ddsource` (default `trace-runtime`).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// `hostname` (default: this host's name).
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = Some(hostname.into());
        self
    }

    /// `service` (default: the pipeline's `service.name`).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Attempts per request, the first included (at least 1).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.retry.max_attempts = n.max(1);
        self
    }

    /// The whole retry policy.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Starts the sink.
    pub fn build(self) -> Result<HttpSink, SinkError> {
        let api_key = self.api_key.ok_or(SinkError::Missing {
            sink: NAME,
            what: "the API key",
            variable: "TRACE_DATADOG_API_KEY",
            method: "new",
        })?;
        let url = check_url(NAME, "TRACE_DATADOG_URL", &self.url)?;
        let format = Datadog {
            url,
            api_key,
            tags: self.tags,
            source: self.source,
            hostname: self.hostname.unwrap_or_else(hostname),
        };
        HttpSink::start(NAME, self.service, self.retry, format)
    }
}

struct Datadog {
    url: String,
    api_key: String,
    tags: Option<String>,
    source: String,
    hostname: String,
}

fn status(doc: &Doc) -> &'static str {
    match doc.level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warning => "warn",
        Level::Error => "error",
        Level::Exception => "critical",
    }
}

impl Datadog {
    fn entry(&self, doc: &Doc) -> Json {
        let mut entry = doc.fields.clone();
        let service = entry.remove("service").unwrap_or(Json::Null);
        entry.remove("message");
        // `status` is Datadog's level; a span's own status is kept beside it.
        if let Some(span_status) = entry.remove("status") {
            entry.insert("span_status".into(), span_status);
        }
        let mut out = serde_json::Map::new();
        out.insert("ddsource".into(), json!(self.source));
        if let Some(tags) = &self.tags {
            out.insert("ddtags".into(), json!(tags));
        }
        out.insert("hostname".into(), json!(self.hostname));
        out.insert("service".into(), service);
        out.insert("status".into(), json!(status(doc)));
        out.insert("message".into(), json!(doc.message));
        // Datadog reads the entry's time from `date`, in ms; a span's is its start.
        out.insert("date".into(), json!(doc.time_unix_nano() / 1_000_000));
        out.extend(entry);
        Json::Object(out)
    }
}

impl Datadog {
    fn send(
        &self,
        http: &Http,
        headers: &[(String, String)],
        mut body: Vec<u8>,
        n: usize,
        outcome: &mut Outcome,
    ) {
        body.push(b']');
        let request = Request { url: self.url.clone(), headers: headers.to_vec(), body };
        outcome.send(http, &request, n as u64);
    }
}

impl Format for Datadog {
    fn deliver(&mut self, http: &Http, docs: Vec<Doc>) -> Outcome {
        let mut outcome = Outcome::default();
        let headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("dd-api-key".to_string(), self.api_key.clone()),
        ];
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let oldest_ms = now_ms.saturating_sub(MAX_AGE_MS);
        let (docs, stale): (Vec<Doc>, Vec<Doc>) =
            docs.into_iter().partition(|doc| doc.time_unix_nano() / 1_000_000 >= oldest_ms);
        if !stale.is_empty() {
            outcome.failed += stale.len() as u64;
            outcome.error = Some(format!(
                "{} records more than 18 hours old were not sent: the Datadog intake takes log events up to 18 hours old",
                stale.len()
            ));
        }
        let mut body = Vec::from(*b"[");
        let mut count = 0;
        for doc in &docs {
            let entry = self.entry(doc).to_string();
            if count > 0 && (count == MAX_ENTRIES || body.len() + entry.len() + 2 > MAX_PAYLOAD) {
                self.send(
                    http,
                    &headers,
                    std::mem::replace(&mut body, Vec::from(*b"[")),
                    count,
                    &mut outcome,
                );
                count = 0;
            }
            if count > 0 {
                body.push(b',');
            }
            body.extend_from_slice(entry.as_bytes());
            count += 1;
        }
        if count > 0 {
            self.send(http, &headers, body, count, &mut outcome);
        }
        outcome
    }
}
