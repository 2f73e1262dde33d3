//! Where telemetry batches go: a [`TelemetrySink`] set in code, or [`HttpTelemetrySink`], which POSTs the
//! JSON payload to `TRACE_TELEMETRY_ENDPOINT`.

use std::time::Duration;

use super::Payload;

/// Receives telemetry batches on the telemetry thread. Closures
/// `FnMut(&Payload) -> Result<(), DeliveryError>` are sinks too.
///
/// ```rust,standalone_crate
/// use std::sync::{Arc, Mutex};
/// use trace_runtime::{Config, config::Exporter, telemetry::{self, Payload, DeliveryError}};
///
/// let batches: Arc<Mutex<Vec<Payload>>> = Arc::default();
/// let seen = batches.clone();
/// let sink = move |p: &Payload| -> Result<(), DeliveryError> { seen.lock().unwrap().push(p.clone()); Ok(()) };
/// let guard = trace_runtime::init_with(
///     Config::builder().exporter(Exporter::None).telemetry_sink(sink).telemetry_in_ci(true).build(),
/// )
/// .unwrap();
/// telemetry::feature("voice");
/// drop(guard); // sends the last batch
/// assert_eq!(batches.lock().unwrap()[0].features[0].name, "voice");
/// ```
pub trait TelemetrySink: Send + 'static {
    /// Delivers one batch; an error counts as a failure for the breaker.
    fn send(&mut self, payload: &Payload) -> Result<(), DeliveryError>;

    /// Where batches go, for [`InitReport`](crate::privacy::InitReport).
    fn destination(&self) -> String {
        "a sink in code".to_string()
    }
}

impl<F> TelemetrySink for F
where
    F: FnMut(&Payload) -> Result<(), DeliveryError> + Send + 'static,
{
    fn send(&mut self, payload: &Payload) -> Result<(), DeliveryError> {
        self(payload)
    }
}

/// A batch that could not be delivered. Its text stays in the process (it is counted, never sent).
///
/// ```
/// let err = trace_runtime::telemetry::DeliveryError::new("collector answered 503");
/// assert_eq!(err.to_string(), "telemetry batch not delivered: collector answered 503");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("telemetry batch not delivered: {reason}")]
pub struct DeliveryError {
    reason: String,
}

impl DeliveryError {
    /// An error with a reason.
    ///
    /// ```
    /// let err = trace_runtime::telemetry::DeliveryError::new("queue full");
    /// assert!(err.to_string().ends_with("queue full"));
    /// ```
    pub fn new(reason: impl Into<String>) -> Self {
        DeliveryError { reason: reason.into() }
    }
}

/// An endpoint that [`HttpTelemetrySink::new`] cannot use.
///
/// ```
/// let err = trace_runtime::telemetry::HttpTelemetrySink::new("ftp://x").unwrap_err();
/// assert!(err.to_string().contains("`ftp://x`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("telemetry endpoint `{url}` {problem}: expected {}", EXPECTED)]
pub struct EndpointError {
    url: String,
    problem: &'static str,
}

impl EndpointError {
    /// Whether the endpoint was refused only for being `https://` in a build without TLS.
    pub(crate) fn needs_tls(&self) -> bool {
        self.problem == NEEDS_TLS
    }

    /// Whether the endpoint was refused for a build without an HTTP client.
    pub(crate) fn needs_client(&self) -> bool {
        #[cfg(not(feature = "http-client"))]
        return self.problem == NEEDS_CLIENT;
        #[cfg(feature = "http-client")]
        false
    }
}

#[cfg(feature = "tls")]
const EXPECTED: &str =
    "http://host:port/path or https://host:port/path, such as http://127.0.0.1:4318/v1/telemetry";
#[cfg(not(feature = "tls"))]
const EXPECTED: &str = "http://host:port/path, such as http://127.0.0.1:4318/v1/telemetry";

/// Why an `https://` endpoint is refused without the `tls` feature.
const NEEDS_TLS: &str = "uses https, which this build cannot send: build trace-runtime with its `tls` cargo feature, \
     send through a local http collector, or give `Config` a sink in code";

/// POSTs each batch as JSON (`Content-Type: application/json`) to an `http://` or `https://`
/// endpoint. A status other than 2xx (a redirect included) is a failure.
///
/// Both go through `reqwest`, driven by a current-thread runtime on the telemetry thread (so the
/// request never runs on a span exporter's thread), in every build with an exporter feature
/// (`otlp`, `zipkin`, `sinks`) or `http-client`; `https://` also needs the `tls` feature, which
/// trusts the system's root certificates. A build without them refuses the endpoint with an error
/// that says so (give `Config` a sink in code instead).
///
/// ```
/// use trace_runtime::telemetry::HttpTelemetrySink;
///
/// let sink = HttpTelemetrySink::new("http://127.0.0.1:4318/v1/telemetry").unwrap();
/// let https = HttpTelemetrySink::new("https://telemetry.example/v1");
/// if cfg!(feature = "tls") {
///     assert!(https.is_ok());
/// } else {
///     assert!(https.unwrap_err().to_string().contains("`tls` cargo feature"));
/// }
/// # drop(sink);
/// ```
#[derive(Debug, Clone)]
pub struct HttpTelemetrySink {
    url: String,
    timeout: Duration,
    #[cfg(feature = "http-client")]
    client: super::tls::TlsClient,
}

/// Why any endpoint is refused in a build without an HTTP client.
#[cfg(not(feature = "http-client"))]
const NEEDS_CLIENT: &str = "cannot be sent by this build: build trace-runtime with an exporter feature (`otlp`, \
     `zipkin`, `sinks`) or `http-client`, which bring its HTTP client, or give `Config` a sink in code";

impl HttpTelemetrySink {
    /// A sink for `url` with a 5 s timeout per request.
    ///
    /// ```
    /// use trace_runtime::telemetry::{HttpTelemetrySink, TelemetrySink};
    ///
    /// let sink = HttpTelemetrySink::new("http://127.0.0.1:4318/v1/telemetry").unwrap();
    /// assert_eq!(sink.destination(), "http://127.0.0.1:4318/v1/telemetry");
    /// let err = HttpTelemetrySink::new("collector:4318").unwrap_err().to_string();
    /// assert!(err.contains("`collector:4318`") && err.contains("http://"), "{err}");
    /// ```
    pub fn new(url: &str) -> Result<HttpTelemetrySink, EndpointError> {
        let error = |problem| EndpointError { url: url.to_string(), problem };
        let (tls, rest) = match url.trim().split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => (true, rest),
            _ => return Err(error("is not an http:// URL")),
        };
        if tls && !cfg!(feature = "tls") {
            return Err(error(NEEDS_TLS));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') || authority.chars().any(char::is_whitespace) {
            return Err(error("has no usable host"));
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(error("has a path with spaces or control characters"));
        }
        #[cfg(not(feature = "http-client"))]
        return Err(error(NEEDS_CLIENT));
        #[cfg(feature = "http-client")]
        {
            let url = url.trim().to_string();
            // reqwest parses the URL again on each send: a URL it refuses is refused here, once.
            if reqwest::Url::parse(&url).map_or(true, |u| u.host_str().is_none_or(str::is_empty)) {
                return Err(error("has no usable host"));
            }
            Ok(HttpTelemetrySink {
                url,
                timeout: Duration::from_secs(5),
                client: super::tls::TlsClient::new(),
            })
        }
    }

    /// Bounds connecting, and the whole request to three times the timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use trace_runtime::telemetry::{HttpTelemetrySink, Payload, TelemetrySink};
    ///
    /// // Nothing listens on port 9 (discard) here: the send fails within the timeout.
    /// let mut sink = HttpTelemetrySink::new("http://127.0.0.1:9/t").unwrap().timeout(Duration::from_millis(200));
    /// assert!(sink.send(&Payload::example()).is_err());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        #[cfg(feature = "http-client")]
        self.client.reset();
        self
    }

    /// Trusts `der` (a DER-encoded certificate) instead of the system's root certificates, for
    /// an `https://` endpoint; no effect on `http://`. Only for tests against a loopback server
    /// with a self-signed certificate: not part of the supported API.
    #[cfg(feature = "tls")]
    #[doc(hidden)]
    pub fn __trust_only_certificate(mut self, der: &[u8]) -> Self {
        self.client.trust_only(der);
        self
    }
}

impl TelemetrySink for HttpTelemetrySink {
    fn send(&mut self, payload: &Payload) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(payload).map_err(|e| DeliveryError::new(e.to_string()))?;
        #[cfg(feature = "http-client")]
        let status = self.client.post(&self.url, body, self.timeout);
        #[cfg(not(feature = "http-client"))]
        let status: Result<u16, String> = {
            drop(body);
            Err(NEEDS_CLIENT.to_string())
        };
        match status {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => Err(DeliveryError::new(format!("{} answered HTTP {status}", self.url))),
            Err(e) => Err(DeliveryError::new(format!("{}: {e}", self.url))),
        }
    }

    fn destination(&self) -> String {
        self.url.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_parsed_or_refused_with_the_reason() {
        for url in ["http://127.0.0.1:4318/v1/telemetry", "HTTP://collector", "http://[::1]:9000/t"] {
            assert_eq!(HttpTelemetrySink::new(url).unwrap().destination(), url);
        }
        assert!(
            HttpTelemetrySink::new("127.0.0.1:4318").unwrap_err().to_string().contains("not an http:// URL")
        );
        assert!(HttpTelemetrySink::new("http://user:pw@host/").is_err());
        assert!(HttpTelemetrySink::new("http:///x").is_err());
        assert!(HttpTelemetrySink::new("https:///x").is_err());
        assert!(HttpTelemetrySink::new("https://user:pw@host/").is_err());
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn without_tls_https_is_refused_naming_the_feature() {
        let err = HttpTelemetrySink::new("https://t.example").unwrap_err();
        assert!(err.needs_tls());
        let err = err.to_string();
        assert!(err.contains("`https://t.example` uses https"), "{err}");
        assert!(err.contains("`tls` cargo feature"), "{err}");
    }

    #[cfg(feature = "tls")]
    #[test]
    fn with_tls_https_is_taken() {
        let sink = HttpTelemetrySink::new("HTTPS://t.example:8443/v1/telemetry").unwrap();
        assert_eq!(sink.destination(), "HTTPS://t.example:8443/v1/telemetry");
    }
}
