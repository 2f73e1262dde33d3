//! OTLP over TLS against loopback collectors with a private CA: the exporter trusts the CA it is
//! given (`otlp_certificate`, `OTEL_EXPORTER_OTLP_CERTIFICATE`) and presents a client certificate
//! (`otlp_client_identity`, `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` / `_CLIENT_KEY`) to a
//! collector that requires one, over gRPC and HTTP; without them the handshake fails and the
//! failure is counted. `init` is process-wide, so these tests take turns.
#![cfg(all(feature = "otlp", feature = "tls"))]

mod common;
#[path = "privacy_support/mod.rs"]
mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{otlp_spans, wait_until};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use trace_runtime::config::{Exporter, OtlpProtocol};
use trace_runtime::{Config, ConfigBuilder, init_with, trace};

static INIT: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    INIT.lock().unwrap_or_else(|p| p.into_inner())
}

/// A private CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it.
struct Pki {
    ca: String,
    server: (String, String),
    server_der: (CertificateDer<'static>, Vec<u8>),
    client: (String, String),
    dir: PathBuf,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let client_cert = CertificateParams::new(vec!["client".to_string()])
            .unwrap()
            .signed_by(&client_key, &issuer)
            .unwrap();
        let dir = support::temp_dir(name);
        let pki = Pki {
            ca: ca_cert.pem(),
            server: (server_cert.pem(), server_key.serialize_pem()),
            server_der: (server_cert.der().clone(), server_key.serialize_der()),
            client: (client_cert.pem(), client_key.serialize_pem()),
            dir,
        };
        std::fs::write(pki.file("ca.pem"), &pki.ca).unwrap();
        std::fs::write(pki.file("client.pem"), &pki.client.0).unwrap();
        std::fs::write(pki.file("client-key.pem"), &pki.client.1).unwrap();
        pki
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// An OTLP/HTTP collector over TLS (rustls, one request per connection), requiring a client
/// certificate signed by the CA when `mutual`.
struct HttpsCollector {
    port: u16,
    requests: Arc<Mutex<Vec<support::Request>>>,
}

impl HttpsCollector {
    fn start(pki: &Pki, mutual: bool) -> HttpsCollector {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if mutual {
            let mut roots = rustls::RootCertStore::empty();
            let ca = rustls_pemfile_der(&pki.ca);
            roots.add(ca).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_der.1.clone()));
        let config = Arc::new(builder.with_single_cert(vec![pki.server_der.0.clone()], key).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let collector =
            HttpsCollector { port: listener.local_addr().unwrap().port(), requests: Arc::default() };
        let requests = collector.requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, requests) = (config.clone(), requests.clone());
                std::thread::spawn(move || support::serve_tls(config, stream, &requests));
            }
        });
        collector
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    fn spans(&self) -> usize {
        let requests = self.requests.lock().unwrap();
        let decoded: Vec<ExportTraceServiceRequest> = requests
            .iter()
            .filter_map(|r| ExportTraceServiceRequest::decode(r.body.as_slice()).ok())
            .collect();
        otlp_spans(&decoded).len()
    }
}

/// The DER of the first certificate in `pem`.
fn rustls_pemfile_der(pem: &str) -> CertificateDer<'static> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

fn turn() {
    trace!("tls turn", { trace!("tls child", {}) });
}

fn otlp(protocol: OtlpProtocol, url: String) -> ConfigBuilder {
    Config::builder()
        .exporter(Exporter::Otlp)
        .otlp_protocol(protocol)
        .otlp_endpoint(url)
        .export_timeout(Duration::from_secs(2))
}

/// Exports one trace with `config`; whether the collector took it, by `received`.
fn export(config: ConfigBuilder, received: impl Fn() -> usize) -> (bool, u64) {
    let guard = init_with(config.build()).unwrap();
    turn();
    let flushed = guard.flush();
    let arrived = wait_until(Duration::from_secs(if flushed { 10 } else { 1 }), || received() >= 2);
    let failed = trace_runtime::metrics().exporters.iter().map(|e| e.spans_failed).sum();
    guard.shutdown().ok();
    (arrived, failed)
}

#[test]
fn otlp_http_trusts_a_private_ca_and_presents_its_client_certificate() {
    let _serial = serial();
    let pki = Pki::new("otlp-tls-http");
    let collector = HttpsCollector::start(&pki, true);
    let config = otlp(OtlpProtocol::HttpProtobuf, collector.url())
        .otlp_certificate(pki.file("ca.pem"))
        .otlp_client_identity(pki.file("client.pem"), pki.file("client-key.pem"));
    let (arrived, _) = export(config, || collector.spans());
    assert!(arrived, "the spans reached the mutual-TLS collector");
    assert_eq!(collector.requests.lock().unwrap()[0].path, "/v1/traces");

    // Without a client certificate the collector refuses the handshake: nothing arrives, and the
    // exporter counts it.
    let collector = HttpsCollector::start(&pki, true);
    let config = otlp(OtlpProtocol::HttpProtobuf, collector.url()).otlp_certificate(pki.file("ca.pem"));
    let (arrived, failed) = export(config, || collector.spans());
    assert!(!arrived && failed > 0, "refused and counted ({failed} failed)");

    // Without the CA the collector's certificate is not trusted.
    let collector = HttpsCollector::start(&pki, false);
    let (arrived, failed) = export(otlp(OtlpProtocol::HttpProtobuf, collector.url()), || collector.spans());
    assert!(!arrived && failed > 0, "an unknown issuer is refused ({failed} failed)");
    assert_eq!(collector.requests.lock().unwrap().len(), 0);
}

#[test]
fn otlp_grpc_trusts_a_private_ca_and_presents_its_client_certificate() {
    let _serial = serial();
    let pki = Pki::new("otlp-tls-grpc");
    let collector = common::grpc_tls_receiver(pki.server.clone(), Some(pki.ca.clone()));
    let url = format!("https://127.0.0.1:{}", collector.addr.port());
    let config = otlp(OtlpProtocol::Grpc, url.clone())
        .otlp_certificate(pki.file("ca.pem"))
        .otlp_client_identity(pki.file("client.pem"), pki.file("client-key.pem"));
    let state = collector.state.clone();
    let (arrived, _) = export(config, || otlp_spans(&state.grpc.lock().unwrap()).len());
    assert!(arrived, "the spans reached the mutual-TLS collector over gRPC");

    let collector = common::grpc_tls_receiver(pki.server.clone(), Some(pki.ca.clone()));
    let url = format!("https://127.0.0.1:{}", collector.addr.port());
    let state = collector.state.clone();
    let config = otlp(OtlpProtocol::Grpc, url).otlp_certificate(pki.file("ca.pem"));
    let (arrived, failed) = export(config, || otlp_spans(&state.grpc.lock().unwrap()).len());
    assert!(!arrived && failed > 0, "no client certificate: refused and counted ({failed} failed)");
}
