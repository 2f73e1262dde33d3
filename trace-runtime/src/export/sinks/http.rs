//! One HTTP POST with bounded retries and exponential back-off.
//!
//! Retried: connection errors, timeouts, `429 Too Many Requests`, `5xx` and AWS's
//! `ThrottlingException` (a `400`), honouring a `Retry-After` in seconds or as an HTTP date,
//! capped at the longest back-off. Not retried: any other status that is not a success, since
//! sending the same payload again cannot fix it. Waits are jittered (between half and all of the back-off), so sinks that failed together do not
//! retry together; a response body is read up to [`MAX_RESPONSE_BYTES`].

use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::time::{Duration, SystemTime};

/// The most of a response body a sink reads (an Elasticsearch bulk answer for a full batch fits).
pub(crate) const MAX_RESPONSE_BYTES: u64 = 4 << 20;

use reqwest::blocking::Client;

/// How a sink retries a request.
///
/// ```
/// use std::time::Duration;
/// use trace_runtime::sinks::Retry;
///
/// let retry = Retry { max_attempts: 5, ..Retry::default() };
/// assert_eq!(retry.backoff(1), Duration::from_millis(200));
/// assert_eq!(retry.backoff(3), Duration::from_millis(800));
/// assert_eq!(retry.backoff(30), Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Attempts per request, the first included (`TRACE_SINK_MAX_ATTEMPTS`, default 4).
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled for each next one (default 200 ms).
    pub initial_backoff: Duration,
    /// Longest wait between attempts (default 5 s).
    pub max_backoff: Duration,
    /// Time limit of one attempt, connection included (`TRACE_SINK_TIMEOUT_MS`, default 10 s).
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
        }
    }
}

impl Retry {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// A request as the formats build it.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// A response with a success status.
pub(crate) struct Response {
    pub(crate) body: String,
}

/// A request that was not delivered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error("POST {url} answered {status} (not retried: the payload or the credentials are wrong): {body}")]
    Rejected { url: String, status: u16, body: String },
    #[error("POST {url} failed {attempts} times, giving up; last: {last}")]
    GaveUp { url: String, attempts: u32, last: String },
}

pub(crate) struct Http {
    client: Client,
    pub(crate) retry: Retry,
}

impl Http {
    pub(crate) fn new(retry: Retry) -> Result<Self, reqwest::Error> {
        let client = Client::builder().timeout(retry.timeout).connect_timeout(retry.timeout).build()?;
        Ok(Http { client, retry })
    }

    /// Posts `request`, retrying what may succeed later; `retries` counts the extra attempts.
    pub(crate) fn send(&self, request: &Request, retries: &mut u64) -> Result<Response, SendError> {
        self.send_attempts(request, retries, self.retry.max_attempts.max(1))
    }

    /// One attempt of `request`, for a format that retries on its own (per bulk item): a failure
    /// that may pass later is [`SendError::GaveUp`] after 1 attempt.
    pub(crate) fn send_once(&self, request: &Request) -> Result<Response, SendError> {
        self.send_attempts(request, &mut 0, 1)
    }

    fn send_attempts(
        &self,
        request: &Request,
        retries: &mut u64,
        attempts: u32,
    ) -> Result<Response, SendError> {
        let mut last = String::new();
        for attempt in 1..=attempts {
            let mut builder = self.client.post(&request.url).body(request.body.clone());
            for (name, value) in &request.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            let mut wait = jittered(self.retry.backoff(attempt));
            match builder.send() {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| retry_after(v, SystemTime::now()));
                    let mut bytes = Vec::new();
                    let _ = response.take(MAX_RESPONSE_BYTES).read_to_end(&mut bytes);
                    let body = String::from_utf8_lossy(&bytes).into_owned();
                    if status.is_success() {
                        return Ok(Response { body });
                    }
                    if !retried(status.as_u16(), &body) {
                        return Err(SendError::Rejected {
                            url: request.url.clone(),
                            status: status.as_u16(),
                            body: cut(&body),
                        });
                    }
                    if let Some(after) = retry_after {
                        wait = after.min(self.retry.max_backoff);
                    }
                    last = format!("status {status}: {}", cut(&body));
                }
                Err(e) => last = e.to_string(),
            }
            if attempt < attempts {
                *retries += 1;
                std::thread::sleep(wait);
            }
        }
        Err(SendError::GaveUp { url: request.url.clone(), attempts, last })
    }
}

/// Whether a failed status may succeed later: `429`, `5xx`, and AWS's throttling, which
/// CloudWatch Logs answers as a `400` whose body names `ThrottlingException`.
fn retried(status: u16, body: &str) -> bool {
    status == 429 || (500..600).contains(&status) || (status == 400 && body.contains("ThrottlingException"))
}

/// The wait a `Retry-After` value asks for at `now`: delay seconds or an HTTP date (RFC 9110).
fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Between half and all of `wait`, at random.
pub(crate) fn jittered(wait: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let half = wait / 2;
    half + half.mul_f64((random >> 11) as f64 / (1u64 << 53) as f64)
}

/// A response body short enough for an error message.
fn cut(body: &str) -> String {
    const MAX: usize = 300;
    if body.len() <= MAX {
        return body.to_string();
    }
    let mut end = MAX;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_an_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("Wed, 21 Oct 2026 07:28:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("Wed, 21 Oct 2026 07:27:00 GMT", now), Some(Duration::ZERO), "past: now");
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-5", now), None);
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_wait_and_varies() {
        let wait = Duration::from_millis(800);
        let waits: Vec<Duration> = (0..64).map(|_| jittered(wait)).collect();
        assert!(waits.iter().all(|w| *w >= wait / 2 && *w <= wait), "{waits:?}");
        assert!(waits.iter().any(|w| *w != waits[0]), "not one fixed wait: {waits:?}");
        assert_eq!(jittered(Duration::ZERO), Duration::ZERO);
    }
}
