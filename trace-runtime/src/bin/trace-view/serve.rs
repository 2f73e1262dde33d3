//! `trace-view serve`: the local web viewer. One page (embedded: no network, no CDN) built from a
//! small JSON API over the same store the other commands read:
//!
//! | route | answer |
//! |---|---|
//! | `GET /`, `GET /trace/{id}` | the page: the trace list, or one trace's waterfall |
//! | `GET /api/traces?limit=N&attr=Q` | `{"traces": [{"trace_id", "name", "start", "duration", "spans", "errors", "tokens", "cost", "session_id", "models"}], "warnings": [..]}`, newest first (default 500); `attr` keeps the traces with a span attribute matching `Q`: `key=value`, or text in a key or value |
//! | `GET /api/traces/{id}` | `{"trace_id", "spans": [..]}`: every span as the stores keep it (`StoredSpan`); `id` is the full id or a unique prefix of 4 or more characters |
//!
//! Errors are `{"error": ".."}` with status 400 (a malformed id), 404 (no such trace) or 500
//! (a corrupt file, named). The server binds loopback by default and answers one request at a
//! time on its own thread: a viewer for one person, with nothing to tune.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use trace_runtime::store::StoreError;

use super::{Failure, Source, location};

/// The page, with its script and styles inline.
pub(crate) const PAGE: &str = include_str!("page.html");
/// Traces `/api/traces` returns when no limit is asked.
const DEFAULT_LIMIT: usize = 500;

/// Serves `source` on `addr` until the process is stopped.
pub(crate) fn serve(source: Source, addr: SocketAddr) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Failed(format!("cannot start the server's runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            Failure::Failed(format!(
                "cannot listen on {addr}: {e} (is another viewer running? try --addr 127.0.0.1:0)"
            ))
        })?;
        let bound = listener.local_addr().unwrap_or(addr);
        // Where to point the browser (the test harnesses read this line for the port).
        super::out::line(&format!(
            "trace-view: serving {} on http://{bound}/ (Ctrl-C to stop)",
            location(&source)
        ))?;
        let source = Arc::new(Mutex::new(source));
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let source = Arc::clone(&source);
            let service = hyper::service::service_fn(move |request| {
                let source = Arc::clone(&source);
                async move { Ok::<_, Infallible>(answer(&source, &request)) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(async move {
                // A browser closing its connection mid-answer is not an error worth reporting.
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    })
}

fn answer(source: &Mutex<Source>, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "the viewer only answers GET");
    }
    let path = request.uri().path();
    let source = source.lock().unwrap_or_else(|p| p.into_inner());
    match path.trim_end_matches('/') {
        "" => page(),
        p if p.starts_with("/trace/") => page(),
        "/api/traces" => {
            let limit = query(request, "limit").and_then(|l| l.parse().ok()).unwrap_or(DEFAULT_LIMIT);
            let found = super::api::traces(&source, limit).map(|listing| match query(request, "attr") {
                Some(attr) => super::api::search(&source, listing, &decode(&attr)),
                None => listing,
            });
            match found {
                Ok(body) => json_response(StatusCode::OK, &body),
                Err(e) => store_error(e),
            }
        }
        p if p.starts_with("/api/traces/") => match super::api::trace(&source, &p["/api/traces/".len()..]) {
            Ok(body) => json_response(StatusCode::OK, &body),
            Err(e) => store_error(e),
        },
        _ => error(StatusCode::NOT_FOUND, &format!("no such page: {path}")),
    }
}

fn query(request: &Request<Incoming>, name: &str) -> Option<String> {
    request.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// A query value as the browser sent it: `+` and `%XX` decoded.
fn decode(value: &str) -> String {
    let spaced = value.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

fn page() -> Response<Full<Bytes>> {
    response(StatusCode::OK, "text/html; charset=utf-8", Bytes::from_static(PAGE.as_bytes()))
}

fn response(status: StatusCode, content_type: &str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = content_type.parse() {
        headers.insert(hyper::header::CONTENT_TYPE, value);
    }
    // The page and its data are the user's traces: never cached, never framed by another site.
    headers.insert(hyper::header::CACHE_CONTROL, hyper::header::HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", hyper::header::HeaderValue::from_static("DENY"));
    headers.insert("x-content-type-options", hyper::header::HeaderValue::from_static("nosniff"));
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    response(status, "application/json", Bytes::from(body.to_string()))
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json_response(status, &json!({ "error": message }))
}

fn store_error(e: StoreError) -> Response<Full<Bytes>> {
    let status = match &e {
        StoreError::InvalidId { .. } => StatusCode::BAD_REQUEST,
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string())
}

/// Where `serve` listens unless told: loopback only.
pub(crate) const DEFAULT_ADDR: &str = "127.0.0.1:7007";
