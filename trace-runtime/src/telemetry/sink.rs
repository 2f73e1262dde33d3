//! Where telemetry batches go: a [`TelemetrySink`] set in code, or [`HttpTelemetrySink`], which POSTs the
//! JSON payload to `TRACE_TELEMETRY_ENDPOINT`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
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
/// endpoint, with one connection per batch. A status other than 2xx (a redirect included) is a
/// failure.
///
/// `http://` goes through a small built-in HTTP/1.1 client, in every build. `https://` needs the
/// `tls` cargo feature, which sends through `reqwest` and rustls, trusting the system's root
/// certificates; without it, `https://` endpoints are refused with an error that says so. Either
/// way the request runs on the telemetry thread, never on a span exporter's.
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
    transport: Transport,
}

#[derive(Debug, Clone)]
enum Transport {
    /// The built-in HTTP/1.1 client: `authority` always has a port.
    Plain { authority: String, path: String },
    #[cfg(feature = "tls")]
    Tls(super::tls::TlsClient),
}

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
        let url = url.trim().to_string();
        let timeout = Duration::from_secs(5);
        #[cfg(feature = "tls")]
        if tls {
            // reqwest parses the URL again on each send: a URL it refuses is refused here, once.
            if reqwest::Url::parse(&url).map_or(true, |u| u.host_str().is_none_or(str::is_empty)) {
                return Err(error("has no usable host"));
            }
            return Ok(HttpTelemetrySink {
                url,
                timeout,
                transport: Transport::Tls(super::tls::TlsClient::new()),
            });
        }
        let authority = if authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok())
            && !authority.ends_with(']')
        {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(HttpTelemetrySink {
            url,
            timeout,
            transport: Transport::Plain { authority, path: path.to_string() },
        })
    }

    /// Bounds connecting, writing and reading the answer, each (`https://`: connecting, and the
    /// whole request to three times the timeout).
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
        #[cfg(feature = "tls")]
        if let Transport::Tls(client) = &mut self.transport {
            client.reset();
        }
        self
    }

    /// Trusts `der` (a DER-encoded certificate) instead of the system's root certificates, for
    /// an `https://` endpoint; no effect on `http://`. Only for tests against a loopback server
    /// with a self-signed certificate: not part of the supported API.
    #[cfg(feature = "tls")]
    #[doc(hidden)]
    pub fn __trust_only_certificate(mut self, der: &[u8]) -> Self {
        if let Transport::Tls(client) = &mut self.transport {
            client.trust_only(der);
        }
        self
    }

    /// Each address the host resolves to in turn (`localhost` may give `::1` first while the
    /// collector listens on `127.0.0.1` only), until one accepts.
    fn connect(authority: &str, timeout: Duration) -> std::io::Result<TcpStream> {
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "the host resolved to no address");
        for address in authority.to_socket_addrs()? {
            match TcpStream::connect_timeout(&address, timeout) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The plain-HTTP POST: the status of the answer.
    fn post(authority: &str, path: &str, timeout: Duration, body: &[u8]) -> std::io::Result<u16> {
        let mut stream = Self::connect(authority, timeout)?;
        stream.set_write_timeout(Some(timeout))?;
        stream.set_read_timeout(Some(timeout))?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: trace-runtime/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            path,
            authority,
            env!("CARGO_PKG_VERSION"),
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()?;
        // Only the status line matters; read at most a small bounded prefix of the answer, within
        // one timeout in all (a server sending a byte at a time cannot hold the thread longer).
        let mut answer = [0u8; 512];
        let mut len = 0;
        let deadline = std::time::Instant::now() + timeout;
        while len < answer.len() && !answer[..len].contains(&b'\n') {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no status line within the timeout",
                ));
            }
            stream.set_read_timeout(Some(left))?;
            match stream.read(&mut answer[len..])? {
                0 => break,
                n => len += n,
            }
        }
        let line = String::from_utf8_lossy(&answer[..len]);
        line.split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no HTTP status line"))
    }
}

impl TelemetrySink for HttpTelemetrySink {
    fn send(&mut self, payload: &Payload) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(payload).map_err(|e| DeliveryError::new(e.to_string()))?;
        let status = match &mut self.transport {
            Transport::Plain { authority, path } => {
                Self::post(authority, path, self.timeout, &body).map_err(|e| e.to_string())
            }
            #[cfg(feature = "tls")]
            Transport::Tls(client) => client.post(&self.url, body, self.timeout),
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

    fn plain(url: &str) -> (String, String) {
        match HttpTelemetrySink::new(url).unwrap().transport {
            Transport::Plain { authority, path } => (authority, path),
            #[cfg(feature = "tls")]
            Transport::Tls(_) => panic!("{url} is plain HTTP"),
        }
    }

    #[test]
    fn endpoints_are_parsed_or_refused_with_the_reason() {
        assert_eq!(
            plain("http://127.0.0.1:4318/v1/telemetry"),
            ("127.0.0.1:4318".into(), "/v1/telemetry".into())
        );
        assert_eq!(plain("HTTP://collector"), ("collector:80".into(), "/".into()));
        assert_eq!(plain("http://[::1]:9000/t").0, "[::1]:9000");
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
    fn with_tls_https_goes_through_reqwest() {
        let sink = HttpTelemetrySink::new("HTTPS://t.example:8443/v1/telemetry").unwrap();
        assert!(matches!(sink.transport, Transport::Tls(_)));
        assert_eq!(sink.destination(), "HTTPS://t.example:8443/v1/telemetry");
        assert!(matches!(
            HttpTelemetrySink::new("http://t.example").unwrap().transport,
            Transport::Plain { .. }
        ));
    }
}
