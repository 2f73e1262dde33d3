//! Grafana Loki's push API: JSON streams of `[nanosecond string, line]` values.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::doc::{Doc, DocKind};
use super::engine::{Format, HttpSink, Outcome};
use super::http::{Http, Request, Retry};
use super::{SinkError, basic_auth, check_url, env, parse_pairs, retry_from_env};

const NAME: &str = "loki";
const PUSH_PATH: &str = "/loki/api/v1/push";

/// Builds the Loki sink: POSTs to `{url}/loki/api/v1/push`
/// `{"streams": [{"stream": {labels}, "values": [["<unix ns>", "<line>"], ...]}]}`, one stream per
/// label set, values in time order. Labels are `service_name`, `level` (a span: `info`, or `error`
/// if it failed), `type` (`span` or `log`) and the configured ones; the line is the document as
/// JSON (run ids and trace ids stay in the line, where they do not multiply streams).
///
/// ```
/// use trace_runtime::sinks::LokiConfig;
///
/// let sink = LokiConfig::new("http://loki:3100").label("env", "prod").tenant("team-a").build().unwrap();
/// assert_eq!(sink.name(), "loki");
/// ```
#[derive(Clone, Debug)]
#[must_use = "a config does nothing until `.build()`"]
pub struct LokiConfig {
    url: Option<String>,
    labels: Vec<(String, String)>,
    tenant: Option<String>,
    auth: Option<(String, String)>,
    service: Option<String>,
    retry: Retry,
}

impl LokiConfig {
    /// A sink pushing to the Loki at `url` (base URL, or the full push URL).
    pub fn new(url: impl Into<String>) -> Self {
        LokiConfig {
            url: Some(url.into()),
            labels: Vec::new(),
            tenant: None,
            auth: None,
            service: None,
            retry: Retry::default(),
        }
    }

    /// From `TRACE_LOKI_URL`, `TRACE_LOKI_LABELS`, `TRACE_LOKI_TENANT`, `TRACE_LOKI_USERNAME`,
    /// `TRACE_LOKI_PASSWORD` and the retry variables.
    pub fn from_env() -> Result<Self, SinkError> {
        let labels = match env("TRACE_LOKI_LABELS") {
            Some(text) => parse_pairs(NAME, "TRACE_LOKI_LABELS", &text)?,
            None => Vec::new(),
        };
        let auth = env("TRACE_LOKI_USERNAME").map(|u| (u, env("TRACE_LOKI_PASSWORD").unwrap_or_default()));
        Ok(LokiConfig {
            url: env("TRACE_LOKI_URL"),
            labels,
            tenant: env("TRACE_LOKI_TENANT"),
            auth,
            service: None,
            retry: retry_from_env(NAME)?,
        })
    }

    /// Adds a stream label.
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((name.into(), value.into()));
        self
    }

    /// Sends `X-Scope-OrgID: <tenant>`.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Sends basic auth.
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some((username.into(), password.into()));
        self
    }

    /// The `service_name` label (default: the pipeline's `service.name`).
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
        let url = self.url.ok_or(SinkError::Missing {
            sink: NAME,
            what: "the Loki URL",
            variable: "TRACE_LOKI_URL",
            method: "new",
        })?;
        let url = check_url(NAME, "TRACE_LOKI_URL", &url)?;
        let url = if url.trim_end_matches('/').ends_with(PUSH_PATH) {
            url
        } else {
            format!("{}{PUSH_PATH}", url.trim_end_matches('/'))
        };
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(tenant) = self.tenant {
            headers.push(("x-scope-orgid".into(), tenant));
        }
        if let Some((user, password)) = self.auth {
            headers.push(("authorization".into(), basic_auth(&user, &password)));
        }
        HttpSink::start(NAME, self.service, self.retry, Loki { url, headers, labels: self.labels })
    }
}

struct Loki {
    url: String,
    headers: Vec<(String, String)>,
    labels: Vec<(String, String)>,
}

impl Format for Loki {
    fn deliver(&mut self, http: &Http, docs: Vec<Doc>) -> Outcome {
        let mut streams: BTreeMap<BTreeMap<String, String>, Vec<(u64, String)>> = BTreeMap::new();
        let n = docs.len() as u64;
        for doc in &docs {
            let mut labels: BTreeMap<String, String> = self.labels.iter().cloned().collect();
            let service = doc.fields.get("service").and_then(Json::as_str).unwrap_or("unknown_service");
            labels.insert("service_name".into(), service.to_string());
            labels.insert("level".into(), doc.level.as_str().to_string());
            labels.insert("type".into(), if doc.kind == DocKind::Span { "span" } else { "log" }.into());
            let line = doc.json().to_string();
            streams.entry(labels).or_default().push((doc.time_unix_nano(), line));
        }
        let streams: Vec<Json> = streams
            .into_iter()
            .map(|(labels, mut values)| {
                values.sort_by_key(|(t, _)| *t);
                let values: Vec<Json> =
                    values.into_iter().map(|(t, line)| json!([t.to_string(), line])).collect();
                json!({ "stream": labels, "values": values })
            })
            .collect();
        let body = serde_json::to_vec(&json!({ "streams": streams })).unwrap_or_default();
        let mut outcome = Outcome::default();
        outcome.send(http, &Request { url: self.url.clone(), headers: self.headers.clone(), body }, n);
        outcome
    }
}
