//! The generic JSON REST sink: documents POSTed as a JSON array.

use super::doc::Doc;
use super::engine::{Format, HttpSink, Outcome};
use super::http::{Http, Request, Retry};
use super::{SinkError, check_url, env, parse_pairs, retry_from_env};

const NAME: &str = "rest";

/// Builds the generic REST sink: each batch is POSTed to the URL as a JSON array of documents,
/// `{"type": "span", "trace_id": .., "name": .., "attributes": {..}, ..}` for spans and
/// `{"type": "log", "level": .., "message": .., "run_id": .., ..}` for log records, at most
/// `batch_size` (default 500) per request, with `Content-Type: application/json`.
///
/// ```
/// use trace_runtime::sinks::RestConfig;
///
/// let sink = RestConfig::new("https://logs.example.com/ingest")
///     .header("x-team", "voice")
///     .bearer_token("secret")
///     .build()
///     .expect("a valid URL");
/// assert_eq!(sink.name(), "rest");
/// ```
#[derive(Clone, Debug)]
#[must_use = "a config does nothing until `.build()`"]
pub struct RestConfig {
    url: Option<String>,
    headers: Vec<(String, String)>,
    token: Option<String>,
    service: Option<String>,
    batch_size: usize,
    retry: Retry,
}

impl RestConfig {
    /// A sink posting to `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RestConfig {
            url: Some(url.into()),
            headers: Vec::new(),
            token: None,
            service: None,
            batch_size: 500,
            retry: Retry::default(),
        }
    }

    /// From `TRACE_REST_URL`, `TRACE_REST_HEADERS`, `TRACE_REST_TOKEN`, `TRACE_SINK_MAX_ATTEMPTS`
    /// and `TRACE_SINK_TIMEOUT_MS`.
    ///
    /// ```rust,standalone_crate
    /// // With TRACE_REST_URL unset (a process of its own: it changes the environment):
    /// # // SAFETY: no other thread of this doctest reads the environment.
    /// # unsafe { std::env::remove_var("TRACE_REST_URL") };
    /// let err = trace_runtime::sinks::RestConfig::from_env().unwrap().build().unwrap_err();
    /// assert!(err.to_string().contains("TRACE_REST_URL"));
    /// ```
    pub fn from_env() -> Result<Self, SinkError> {
        let headers = match env("TRACE_REST_HEADERS") {
            Some(text) => parse_pairs(NAME, "TRACE_REST_HEADERS", &text)?,
            None => Vec::new(),
        };
        Ok(RestConfig {
            url: env("TRACE_REST_URL"),
            headers,
            token: env("TRACE_REST_TOKEN"),
            service: None,
            batch_size: 500,
            retry: retry_from_env(NAME)?,
        })
    }

    /// Adds a header to every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends `Authorization: Bearer <token>`.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The `service` of every document (default: the pipeline's `service.name`).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Documents per request (at least 1).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
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
            what: "the endpoint URL",
            variable: "TRACE_REST_URL",
            method: "new",
        })?;
        let url = check_url(NAME, "TRACE_REST_URL", &url)?;
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        headers.extend(self.headers);
        if let Some(token) = self.token {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        HttpSink::start(NAME, self.service, self.retry, Rest { url, headers, batch_size: self.batch_size })
    }
}

struct Rest {
    url: String,
    headers: Vec<(String, String)>,
    batch_size: usize,
}

impl Format for Rest {
    fn deliver(&mut self, http: &Http, docs: Vec<Doc>) -> Outcome {
        let mut outcome = Outcome::default();
        for chunk in docs.chunks(self.batch_size) {
            let body: Vec<serde_json::Value> = chunk.iter().map(Doc::json).collect();
            let body = serde_json::to_vec(&body).unwrap_or_default();
            let request = Request { url: self.url.clone(), headers: self.headers.clone(), body };
            outcome.send(http, &request, chunk.len() as u64);
        }
        outcome
    }
}
