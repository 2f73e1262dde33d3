//! Real receivers on loopback for the export tests: an OTLP/gRPC server (tonic with the
//! `opentelemetry-proto` service) and an HTTP server (hyper) for OTLP/HTTP and Zipkin, each on
//! its own thread and runtime, with a switch to make them fail, stall or drop connections.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use tokio::io::AsyncReadExt;

/// How a receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Takes the request and answers success.
    Ok = 0,
    /// Answers 503 / gRPC `UNAVAILABLE`.
    Fail = 1,
    /// Holds every request until the mode changes.
    Stall = 2,
    /// Reads the start of the request, then closes the connection.
    Close = 3,
}

#[derive(Default)]
pub struct State {
    mode: AtomicU8,
    /// Requests being handled right now (a stalled one stays here until released).
    pub in_flight: AtomicUsize,
    /// Requests answered with success.
    pub accepted: AtomicUsize,
    /// Bodies of accepted HTTP requests, with their path and content type.
    pub bodies: Mutex<Vec<(String, String, Vec<u8>)>>,
    /// Accepted gRPC requests.
    pub grpc: Mutex<Vec<ExportTraceServiceRequest>>,
    /// Accepted gRPC metrics requests.
    pub grpc_metrics: Mutex<Vec<ExportMetricsServiceRequest>>,
    /// Headers (gRPC metadata) of the last request.
    pub last_headers: Mutex<Vec<(String, String)>>,
}

impl State {
    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    pub fn mode(&self) -> Mode {
        match self.mode.load(Ordering::SeqCst) {
            1 => Mode::Fail,
            2 => Mode::Stall,
            3 => Mode::Close,
            _ => Mode::Ok,
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.last_headers
            .lock()
            .unwrap()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    /// Keeps a gRPC request's metadata as the last headers.
    fn note_headers(&self, metadata: &tonic::metadata::MetadataMap) {
        *self.last_headers.lock().unwrap() = metadata
            .clone()
            .into_headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
    }

    async fn hold_while_stalled(&self) {
        while self.mode() == Mode::Stall {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub state: Arc<State>,
}

impl Receiver {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn runtime_thread<F: std::future::Future<Output = ()> + Send + 'static>(
    make: impl FnOnce() -> F + Send + 'static,
) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(make());
    });
}

/// An HTTP/1.1 server taking any POST: OTLP/HTTP (`/v1/traces`) and Zipkin (`/api/v2/spans`).
pub fn http_receiver() -> Receiver {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State::default());
    let shared = state.clone();
    runtime_thread(move || async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            let state = shared.clone();
            tokio::spawn(async move {
                if state.mode() == Mode::Close {
                    let mut start = [0u8; 32];
                    let _ = stream.read(&mut start).await;
                    return;
                }
                let service = hyper::service::service_fn(move |req| handle_http(state.clone(), req));
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    Receiver { addr, state }
}

async fn handle_http(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    state.in_flight.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let content_type =
        req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    state.hold_while_stalled().await;
    *state.last_headers.lock().unwrap() = headers;
    let response = if state.mode() == Mode::Fail {
        Response::builder().status(503).body(Full::new(Bytes::from_static(b"down"))).unwrap()
    } else {
        let json = content_type.contains("json");
        state.bodies.lock().unwrap().push((path, content_type, body));
        state.accepted.fetch_add(1, Ordering::SeqCst);
        let body = if json { Bytes::from_static(b"{}") } else { Bytes::new() };
        let ct = if json { "application/json" } else { "application/x-protobuf" };
        Response::builder().status(200).header("content-type", ct).body(Full::new(body)).unwrap()
    };
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    Ok(response)
}

struct Grpc(Arc<State>);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let state = &self.0;
        state.in_flight.fetch_add(1, Ordering::SeqCst);
        state.note_headers(request.metadata());
        state.hold_while_stalled().await;
        let result = if state.mode() == Mode::Fail {
            Err(tonic::Status::unavailable("collector down"))
        } else {
            state.grpc.lock().unwrap().push(request.into_inner());
            state.accepted.fetch_add(1, Ordering::SeqCst);
            Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
        };
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let state = &self.0;
        state.note_headers(request.metadata());
        state.grpc_metrics.lock().unwrap().push(request.into_inner());
        state.accepted.fetch_add(1, Ordering::SeqCst);
        Ok(tonic::Response::new(ExportMetricsServiceResponse { partial_success: None }))
    }
}

/// An OTLP/gRPC collector of traces and metrics.
pub fn grpc_receiver() -> Receiver {
    grpc_server(|server| server)
}

/// An OTLP/gRPC collector over TLS with `identity` (PEM certificate and key), asking clients
/// for a certificate signed by `client_ca` when one is given (mutual TLS).
#[allow(dead_code)] // used by the TLS tests only
#[cfg(feature = "tls")]
pub fn grpc_tls_receiver(identity: (String, String), client_ca: Option<String>) -> Receiver {
    use tonic::transport::{Certificate, Identity, ServerTlsConfig};
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(identity.0, identity.1));
    if let Some(ca) = client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(ca));
    }
    grpc_server(move |server| server.tls_config(tls).unwrap())
}

fn grpc_server(
    configure: impl FnOnce(tonic::transport::Server) -> tonic::transport::Server + Send + 'static,
) -> Receiver {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State::default());
    let shared = state.clone();
    runtime_thread(move || async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let mut server = configure(tonic::transport::Server::builder());
        // Gzip accepted, as collectors do: a compressed request is refused otherwise.
        let service = TraceServiceServer::new(Grpc(shared.clone()))
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip);
        let metrics = MetricsServiceServer::new(Grpc(shared));
        let _ = server.add_service(service).add_service(metrics).serve_with_incoming(incoming).await;
    });
    Receiver { addr, state }
}

/// A loopback address nothing listens on.
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Waits up to `limit` for `cond`; generous bounds only, never a speed assertion.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// The spans of OTLP requests, each with its resource's attributes.
pub fn otlp_spans(requests: &[ExportTraceServiceRequest]) -> Vec<(Vec<KeyValue>, Span)> {
    let mut out = Vec::new();
    for request in requests {
        for rs in &request.resource_spans {
            let resource = rs.resource.as_ref().map(|r| r.attributes.clone()).unwrap_or_default();
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    out.push((resource.clone(), span.clone()));
                }
            }
        }
    }
    out
}

/// A string, int or bool attribute as text.
pub fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    let value = attrs.iter().find(|kv| kv.key == key)?.value.as_ref()?;
    match value.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        any_value::Value::DoubleValue(d) => Some(d.to_string()),
        _ => Some(format!("{:?}", AnyValue::clone(value))),
    }
}
