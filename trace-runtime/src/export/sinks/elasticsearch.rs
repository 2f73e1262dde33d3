//! Elasticsearch `_bulk`: NDJSON of action and document lines, with per-item failures.

use serde_json::{Value as Json, json};

use super::doc::Doc;
use super::engine::{Format, HttpSink, Outcome};
use super::http::{Http, Request, Retry, SendError};
use super::{SinkError, basic_auth, check_url, env, retry_from_env};
use crate::log::utc_date;

const NAME: &str = "elasticsearch";
const DEFAULT_INDEX: &str = "trace-runtime-{date}";
/// Documents per `_bulk` request.
const BULK_DOCS: usize = 500;

/// Builds the Elasticsearch sink: POSTs to `{url}/_bulk` (`Content-Type: application/x-ndjson`)
/// one `{"create":{"_index":"<index>"}}` line and one document line per span or log record, the
/// document carrying `@timestamp`. The index name's `{date}` becomes the document's UTC date
/// `YYYY.MM.DD` (default index `trace-runtime-{date}`; `create` works for data streams too).
///
/// The response's `errors` and `items` are read: items that failed with `429` or `5xx` are sent
/// again (only them) with back-off, up to the attempt limit; other item failures (a mapping
/// conflict, say) are permanent and counted in [`HttpSink::stats`] as failed.
///
/// ```
/// use trace_runtime::sinks::ElasticsearchConfig;
///
/// let sink = ElasticsearchConfig::new("http://127.0.0.1:9200")
///     .index("voice-logs-{date}")
///     .basic_auth("elastic", "changeme")
///     .build()
///     .unwrap();
/// assert_eq!(sink.name(), "elasticsearch");
/// ```
#[derive(Clone, Debug)]
#[must_use = "a config does nothing until `.build()`"]
pub struct ElasticsearchConfig {
    url: Option<String>,
    index: String,
    auth: Option<String>,
    service: Option<String>,
    retry: Retry,
}

impl ElasticsearchConfig {
    /// A sink indexing into the cluster at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        ElasticsearchConfig {
            url: Some(url.into()),
            index: DEFAULT_INDEX.into(),
            auth: None,
            service: None,
            retry: Retry::default(),
        }
    }

    /// From `TRACE_ELASTICSEARCH_URL`, `TRACE_ELASTICSEARCH_INDEX`, `TRACE_ELASTICSEARCH_API_KEY`
    /// or `TRACE_ELASTICSEARCH_USERNAME` / `TRACE_ELASTICSEARCH_PASSWORD`, and the retry variables.
    pub fn from_env() -> Result<Self, SinkError> {
        let auth = match (env("TRACE_ELASTICSEARCH_API_KEY"), env("TRACE_ELASTICSEARCH_USERNAME")) {
            (Some(key), _) => Some(format!("ApiKey {key}")),
            (None, Some(user)) => {
                Some(basic_auth(&user, &env("TRACE_ELASTICSEARCH_PASSWORD").unwrap_or_default()))
            }
            (None, None) => None,
        };
        Ok(ElasticsearchConfig {
            url: env("TRACE_ELASTICSEARCH_URL"),
            index: env("TRACE_ELASTICSEARCH_INDEX").unwrap_or_else(|| DEFAULT_INDEX.into()),
            auth,
            service: None,
            retry: retry_from_env(NAME)?,
        })
    }

    /// The index name; `{date}` becomes the document's UTC `YYYY.MM.DD`.
    pub fn index(mut self, index: impl Into<String>) -> Self {
        self.index = index.into();
        self
    }

    /// Basic auth.
    pub fn basic_auth(mut self, username: impl AsRef<str>, password: impl AsRef<str>) -> Self {
        self.auth = Some(basic_auth(username.as_ref(), password.as_ref()));
        self
    }

    /// API-key auth (`Authorization: ApiKey <key>`, the base64 `id:api_key` Elasticsearch gives).
    pub fn api_key(mut self, key: impl AsRef<str>) -> Self {
        self.auth = Some(format!("ApiKey {}", key.as_ref()));
        self
    }

    /// The `service` field of every document (default: the pipeline's `service.name`).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Attempts per request and per failed item, the first included (at least 1).
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
            what: "the cluster URL",
            variable: "TRACE_ELASTICSEARCH_URL",
            method: "new",
        })?;
        let url = check_url(NAME, "TRACE_ELASTICSEARCH_URL", &url)?;
        let url = format!("{}/_bulk", url.trim_end_matches('/'));
        if self.index.is_empty()
            || self.index.chars().any(|c| matches!(c, ' ' | '"' | '\\' | '/' | ',' | '#'))
        {
            return Err(SinkError::Invalid {
                sink: NAME,
                setting: "TRACE_ELASTICSEARCH_INDEX",
                value: self.index,
                expected: "an index name without spaces, quotes, slashes, commas or #",
            });
        }
        let mut headers = vec![("content-type".to_string(), "application/x-ndjson".to_string())];
        if let Some(auth) = self.auth {
            headers.push(("authorization".into(), auth));
        }
        HttpSink::start(NAME, self.service, self.retry, Elastic { url, index: self.index, headers })
    }
}

struct Elastic {
    url: String,
    index: String,
    headers: Vec<(String, String)>,
}

/// What the `_bulk` response said about each item.
enum ItemResult {
    Ok,
    Retry(String),
    Failed(String),
}

impl Elastic {
    fn index_for(&self, doc: &Doc) -> String {
        let (y, m, d) = utc_date(doc.time);
        self.index.replace("{date}", &format!("{y:04}.{m:02}.{d:02}")).to_lowercase()
    }

    fn body(&self, docs: &[(&Doc, String)]) -> Vec<u8> {
        let mut body = String::new();
        for (doc, id) in docs {
            // `create` with an `_id` is idempotent: a batch retried after Elasticsearch applied it
            // (the answer was lost) is refused per item with 409, not stored twice.
            let action = json!({ "create": { "_index": self.index_for(doc), "_id": id } });
            let mut fields = doc.fields.clone();
            fields.insert("@timestamp".into(), json!(crate::log::rfc3339(doc.time)));
            body.push_str(&action.to_string());
            body.push('\n');
            body.push_str(&Json::Object(fields).to_string());
            body.push('\n');
        }
        body.into_bytes()
    }
}

/// Reads the per-item results of a `_bulk` response of `n` items.
fn item_results(body: &str, n: usize) -> Vec<ItemResult> {
    let Ok(response) = serde_json::from_str::<Json>(body) else {
        return (0..n).map(|_| ItemResult::Retry(format!("unreadable _bulk response: {body}"))).collect();
    };
    if response.get("errors").and_then(Json::as_bool) == Some(false) {
        return (0..n).map(|_| ItemResult::Ok).collect();
    }
    let items = response.get("items").and_then(Json::as_array).cloned().unwrap_or_default();
    (0..n)
        .map(|i| {
            let Some(result) = items.get(i).and_then(Json::as_object).and_then(|o| o.values().next()) else {
                return ItemResult::Retry("item missing from the _bulk response".into());
            };
            let status = result.get("status").and_then(Json::as_u64).unwrap_or(0);
            let reason = || {
                let error = result.get("error").cloned().unwrap_or(Json::Null);
                format!("status {status}: {error}")
            };
            match status {
                // 409: the document with this `_id` is there already, from an earlier attempt.
                200..=299 | 409 => ItemResult::Ok,
                429 | 500..=599 => ItemResult::Retry(reason()),
                _ => ItemResult::Failed(reason()),
            }
        })
        .collect()
}

/// A random id for a document, fixed across the attempts that send it.
fn doc_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let half = || std::collections::hash_map::RandomState::new().build_hasher().finish();
    format!("{:016x}{:016x}", half(), half())
}

impl Format for Elastic {
    /// Sends each chunk with one HTTP attempt at a time and retries what is left (the whole
    /// request, or only the items that failed), so a batch is sent at most `max_attempts` times:
    /// no retries nested inside retries.
    fn deliver(&mut self, http: &Http, docs: Vec<Doc>) -> Outcome {
        let mut outcome = Outcome::default();
        for chunk in docs.chunks(BULK_DOCS) {
            let mut pending: Vec<(&Doc, String)> = chunk.iter().map(|doc| (doc, doc_id())).collect();
            let attempts = http.retry.max_attempts.max(1);
            for attempt in 1..=attempts {
                let request = Request {
                    url: self.url.clone(),
                    headers: self.headers.clone(),
                    body: self.body(&pending),
                };
                let mut last_retry = None;
                let sent = pending.len();
                match http.send_once(&request) {
                    Ok(response) => {
                        let mut again = Vec::new();
                        for (doc, result) in pending.into_iter().zip(item_results(&response.body, sent)) {
                            match result {
                                ItemResult::Ok => outcome.delivered += 1,
                                ItemResult::Retry(reason) => {
                                    again.push(doc);
                                    last_retry = Some(reason);
                                }
                                ItemResult::Failed(reason) => {
                                    outcome.failed += 1;
                                    outcome.error =
                                        Some(format!("POST {}: item rejected, {reason}", self.url));
                                }
                            }
                        }
                        pending = again;
                    }
                    Err(e @ SendError::Rejected { .. }) => {
                        // Not retried: the payload or the credentials are wrong, for every item.
                        outcome.fail(pending.len() as u64, &e);
                        pending.clear();
                    }
                    Err(SendError::GaveUp { last, .. }) => last_retry = Some(last),
                }
                if pending.is_empty() {
                    break;
                }
                if attempt == attempts {
                    let e = SendError::GaveUp {
                        url: self.url.clone(),
                        attempts,
                        last: format!(
                            "{} items still failing: {}",
                            pending.len(),
                            last_retry.unwrap_or_default()
                        ),
                    };
                    outcome.fail(pending.len() as u64, &e);
                } else {
                    outcome.retries += 1;
                    std::thread::sleep(super::http::jittered(http.retry.backoff(attempt)));
                }
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::{ItemResult, item_results};

    #[test]
    fn bulk_items_split_into_ok_retry_and_failed() {
        let body = r#"{"errors":true,"items":[
            {"create":{"status":201}},
            {"create":{"status":429,"error":{"type":"es_rejected_execution_exception"}}},
            {"create":{"status":400,"error":{"type":"mapper_parsing_exception"}}}]}"#;
        let results = item_results(body, 3);
        assert!(matches!(results[0], ItemResult::Ok));
        assert!(matches!(&results[1], ItemResult::Retry(r) if r.contains("429")));
        assert!(matches!(&results[2], ItemResult::Failed(r) if r.contains("mapper_parsing_exception")));
        assert!(
            item_results(r#"{"errors":false,"items":[]}"#, 2).iter().all(|r| matches!(r, ItemResult::Ok))
        );
    }
}
