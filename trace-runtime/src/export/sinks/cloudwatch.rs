//! AWS CloudWatch Logs `PutLogEvents`, JSON protocol, signed with SigV4 when credentials are
//! given (else sent unsigned, for a signing proxy or LocalStack).

use serde_json::json;

use super::doc::Doc;
use super::engine::{Format, HttpSink, Outcome};
use super::http::{Http, Request, Retry};
use super::sigv4::{Credentials, Signer};
use super::{SinkError, check_url, env, retry_from_env};

const NAME: &str = "cloudwatch";
/// `PutLogEvents` limits: events per call, and bytes (each event counts its message plus 26).
const MAX_EVENTS: usize = 10_000;
const MAX_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD: usize = 26;
/// Longest message kept: CloudWatch rejects events over 256 KiB.
const MAX_MESSAGE: usize = 256 * 1024 - EVENT_OVERHEAD;
/// The events of one `PutLogEvents` call must not span more than 24 hours (in ms).
const MAX_SPAN_MS: u64 = 24 * 3600 * 1000;

/// Builds the CloudWatch Logs sink: POSTs `PutLogEvents` requests
/// (`X-Amz-Target: Logs_20140328.PutLogEvents`, `Content-Type: application/x-amz-json-1.1`) with
/// body `{"logGroupName", "logStreamName", "logEvents": [{"timestamp": <ms>, "message": "<document
/// as JSON>"}]}`, events sorted by timestamp, split at 10 000 events, 1 MiB or 24 hours per call.
///
/// With AWS credentials (`aws_credentials(..)`, or `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN` in [`from_env`](Self::from_env)) and a region, every request is signed with
/// AWS Signature Version 4 (service `logs`), and the URL defaults to
/// `https://logs.{region}.amazonaws.com/`. Without credentials requests go unsigned: for a signing
/// proxy, LocalStack or a gateway of your own. The log group and stream must exist.
///
/// ```
/// use trace_runtime::sinks::CloudWatchConfig;
///
/// let signed = CloudWatchConfig::aws("eu-west-1", "/voice/agent", "host-1")
///     .aws_credentials("AKIDEXAMPLE", "secret")
///     .build()
///     .unwrap();
/// let via_proxy = CloudWatchConfig::new("http://127.0.0.1:8080", "/voice/agent", "host-1").build().unwrap();
/// assert_eq!((signed.name(), via_proxy.name()), ("cloudwatch", "cloudwatch"));
/// ```
#[derive(Clone, Debug)]
#[must_use = "a config does nothing until `.build()`"]
pub struct CloudWatchConfig {
    url: Option<String>,
    group: Option<String>,
    stream: Option<String>,
    headers: Vec<(String, String)>,
    service: Option<String>,
    region: Option<String>,
    credentials: Option<Credentials>,
    retry: Retry,
}

impl CloudWatchConfig {
    /// A sink sending to CloudWatch Logs in `region`; give it credentials to sign its requests.
    pub fn aws(
        region: impl Into<String>,
        log_group: impl Into<String>,
        log_stream: impl Into<String>,
    ) -> Self {
        CloudWatchConfig {
            url: None,
            group: Some(log_group.into()),
            stream: Some(log_stream.into()),
            headers: Vec::new(),
            service: None,
            region: Some(region.into()),
            credentials: None,
            retry: Retry::default(),
        }
    }

    /// A sink sending to `url` (an endpoint or signing proxy) for `log_group` / `log_stream`.
    pub fn new(url: impl Into<String>, log_group: impl Into<String>, log_stream: impl Into<String>) -> Self {
        CloudWatchConfig {
            url: Some(url.into()),
            group: Some(log_group.into()),
            stream: Some(log_stream.into()),
            headers: Vec::new(),
            service: None,
            region: None,
            credentials: None,
            retry: Retry::default(),
        }
    }

    /// From `TRACE_CLOUDWATCH_URL`, `TRACE_CLOUDWATCH_LOG_GROUP`, `TRACE_CLOUDWATCH_LOG_STREAM`,
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN` and the retry variables.
    pub fn from_env() -> Result<Self, SinkError> {
        let credentials = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            (Some(access_key_id), Some(secret_access_key)) => Some(Credentials {
                access_key_id,
                secret_access_key,
                session_token: env("AWS_SESSION_TOKEN"),
            }),
            _ => None,
        };
        Ok(CloudWatchConfig {
            url: env("TRACE_CLOUDWATCH_URL"),
            group: env("TRACE_CLOUDWATCH_LOG_GROUP"),
            stream: env("TRACE_CLOUDWATCH_LOG_STREAM"),
            headers: Vec::new(),
            service: None,
            region: env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")),
            credentials,
            retry: retry_from_env(NAME)?,
        })
    }

    /// Signs requests with these credentials (SigV4).
    pub fn aws_credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        });
        self
    }

    /// A session token for temporary credentials (`x-amz-security-token`).
    pub fn session_token(mut self, token: impl Into<String>) -> Self {
        if let Some(c) = &mut self.credentials {
            c.session_token = Some(token.into());
        }
        self
    }

    /// The AWS region, for the signature and the default URL.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Adds a header to every request (what a proxy needs).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `service` field of every message (default: the pipeline's `service.name`).
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
        let missing = |what, variable| SinkError::Missing { sink: NAME, what, variable, method: "new" };
        let url = self
            .url
            .or_else(|| self.region.as_ref().map(|r| format!("https://logs.{r}.amazonaws.com/")))
            .ok_or_else(|| missing("the endpoint URL", "TRACE_CLOUDWATCH_URL"))?;
        let url = check_url(NAME, "TRACE_CLOUDWATCH_URL", &url)?;
        let signing = match self.credentials {
            Some(credentials) => {
                let region = self.region.ok_or(SinkError::Missing {
                    sink: NAME,
                    what: "the AWS region (needed to sign requests)",
                    variable: "AWS_REGION",
                    method: "region",
                })?;
                let parsed = reqwest::Url::parse(&url).map_err(|_| SinkError::Invalid {
                    sink: NAME,
                    setting: "TRACE_CLOUDWATCH_URL",
                    value: url.clone(),
                    expected: "an http:// or https:// URL",
                })?;
                Some((Signer { credentials, region, service: "logs" }, parsed))
            }
            None => None,
        };
        let group = self.group.ok_or_else(|| missing("the log group", "TRACE_CLOUDWATCH_LOG_GROUP"))?;
        let stream = self.stream.ok_or_else(|| missing("the log stream", "TRACE_CLOUDWATCH_LOG_STREAM"))?;
        let mut headers = vec![
            ("content-type".to_string(), "application/x-amz-json-1.1".to_string()),
            ("x-amz-target".to_string(), "Logs_20140328.PutLogEvents".to_string()),
        ];
        headers.extend(self.headers);
        HttpSink::start(NAME, self.service, self.retry, CloudWatch { url, group, stream, headers, signing })
    }
}

struct CloudWatch {
    url: String,
    group: String,
    stream: String,
    headers: Vec<(String, String)>,
    signing: Option<(Signer, reqwest::Url)>,
}

impl CloudWatch {
    fn send(&self, http: &Http, events: &[(u64, String)], outcome: &mut Outcome) {
        let log_events: Vec<_> =
            events.iter().map(|(ms, message)| json!({ "timestamp": ms, "message": message })).collect();
        let body =
            json!({ "logGroupName": self.group, "logStreamName": self.stream, "logEvents": log_events });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut headers = self.headers.clone();
        if let Some((signer, url)) = &self.signing {
            signer.sign("POST", url, &mut headers, &body, std::time::SystemTime::now());
        }
        outcome.send(http, &Request { url: self.url.clone(), headers, body }, events.len() as u64);
    }
}

impl Format for CloudWatch {
    fn deliver(&mut self, http: &Http, docs: Vec<Doc>) -> Outcome {
        let mut events: Vec<(u64, String)> = docs
            .iter()
            .map(|doc| {
                let mut message = doc.json().to_string();
                if message.len() > MAX_MESSAGE {
                    let mut end = MAX_MESSAGE;
                    while !message.is_char_boundary(end) {
                        end -= 1;
                    }
                    message.truncate(end);
                }
                (doc.time_unix_nano() / 1_000_000, message)
            })
            .collect();
        events.sort_by_key(|(ms, _)| *ms);
        let mut outcome = Outcome::default();
        for range in calls(&events) {
            self.send(http, &events[range], &mut outcome);
        }
        outcome
    }
}

/// Splits sorted events into `PutLogEvents` calls within the event, byte and 24-hour limits.
fn calls(events: &[(u64, String)]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (ms, message)) in events.iter().enumerate() {
        let size = message.len() + EVENT_OVERHEAD;
        let too_long = ms.saturating_sub(events[start].0) >= MAX_SPAN_MS;
        if i > start && (i - start == MAX_EVENTS || bytes + size > MAX_BYTES || too_long) {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < events.len() {
        out.push(start..events.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_never_spans_24_hours() {
        let hour = 3600 * 1000;
        let events: Vec<_> = [0, hour, 24 * hour - 1, 24 * hour, 30 * hour, 49 * hour]
            .into_iter()
            .map(|ms| (ms, "x".to_string()))
            .collect();
        assert_eq!(calls(&events), [0..3, 3..5, 5..6]);
    }

    #[test]
    fn calls_stay_within_10000_events_and_1_mib() {
        let small: Vec<_> = (0..20_001).map(|i| (i, "x".to_string())).collect();
        assert_eq!(calls(&small), [0..10_000, 10_000..20_000, 20_000..20_001]);
        let big: Vec<_> = (0..3).map(|i| (i, "y".repeat(500_000))).collect();
        assert_eq!(calls(&big), [0..2, 2..3]);
        assert!(calls(&[]).is_empty());
    }
}
