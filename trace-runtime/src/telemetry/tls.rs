//! The telemetry endpoint's HTTP client (`http-client` feature, brought by every exporter
//! feature): the POST goes through `reqwest` (with rustls for `https://`, `tls` feature), driven
//! by a current-thread runtime that lives on the telemetry thread.
//!
//! Not `reqwest::blocking`: that client runs a thread of its own, and the telemetry layer is one
//! parked thread. The runtime and the client are built on the first send, so a sink that is
//! configured but never used (or cloned) costs nothing, and a build error is a failed batch
//! counted by the breaker rather than an `init` error.

use std::time::Duration;

/// The client of [`HttpTelemetrySink`](super::HttpTelemetrySink).
pub(super) struct TlsClient {
    /// DER certificates trusted instead of the system's roots (tests with a self-signed server).
    roots: Vec<Vec<u8>>,
    ready: Option<Ready>,
}

struct Ready {
    /// Always `Some` until drop.
    runtime: Option<tokio::runtime::Runtime>,
    client: reqwest::Client,
}

impl Drop for Ready {
    fn drop(&mut self) {
        // A plain drop panics when the sink is dropped inside the application's async code; the
        // only thread this runtime may have is a resolver finishing a lookup, which needs no wait.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl TlsClient {
    pub(super) fn new() -> TlsClient {
        TlsClient { roots: Vec::new(), ready: None }
    }

    #[cfg(feature = "tls")]
    pub(super) fn trust_only(&mut self, der: &[u8]) {
        self.roots.push(der.to_vec());
        self.ready = None;
    }

    /// The timeout changed: the next send builds a client with it.
    pub(super) fn reset(&mut self) {
        self.ready = None;
    }

    /// POSTs `body` to `url`; the HTTP status, or why there is none. Connecting is bounded by
    /// `timeout`, and the whole request (connect, handshake, send, status line) by three of it.
    pub(super) fn post(&mut self, url: &str, body: Vec<u8>, timeout: Duration) -> Result<u16, String> {
        let ready = match &mut self.ready {
            Some(ready) => ready,
            empty => empty.insert(Ready::build(&self.roots, timeout)?),
        };
        let runtime = ready.runtime.as_ref().ok_or("the telemetry client was shut down")?;
        let client = &ready.client;
        // Built inside the runtime: reqwest arms its timeout when the request is made.
        let request = async move {
            client.post(url).header(http::header::CONTENT_TYPE, "application/json").body(body).send().await
        };
        let response = if tokio::runtime::Handle::try_current().is_ok() {
            // Called from the application's async code (the telemetry thread never is):
            // `block_on` would panic there, so the request runs on a scoped thread.
            std::thread::scope(|scope| scope.spawn(|| runtime.block_on(request)).join())
                .map_err(|_| "the request thread panicked".to_string())?
        } else {
            runtime.block_on(request)
        };
        response.map(|r| r.status().as_u16()).map_err(|e| error_chain(&e))
    }
}

impl Ready {
    fn build(roots: &[Vec<u8>], timeout: Duration) -> Result<Ready, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("trace-telemetry-dns")
            .max_blocking_threads(1)
            .build()
            .map_err(|e| format!("cannot start the telemetry HTTP runtime: {e}"))?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout.saturating_mul(3))
            .user_agent(concat!("trace-runtime/", env!("CARGO_PKG_VERSION")))
            // A redirect is a failure: counts never go to a host the application did not name.
            .redirect(reqwest::redirect::Policy::none());
        if !roots.is_empty() {
            let certificates = roots
                .iter()
                .map(|der| reqwest::Certificate::from_der(der))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("a trusted root certificate is not DER: {e}"))?;
            builder = builder.tls_certs_only(certificates);
        }
        let client = builder.build().map_err(|e| format!("cannot build the telemetry HTTP client: {e}"))?;
        Ok(Ready { runtime: Some(runtime), client })
    }
}

/// reqwest's own message is often just "error sending request": the cause (refused, certificate
/// not trusted, timed out) is further down the chain.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Clone for TlsClient {
    /// The copy builds its own runtime and client on its first send.
    fn clone(&self) -> TlsClient {
        TlsClient { roots: self.roots.clone(), ready: None }
    }
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("trusted_roots", &self.roots.len())
            .field("started", &self.ready.is_some())
            .finish()
    }
}
