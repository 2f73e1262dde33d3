//! `https://` telemetry endpoints. With the `tls` feature, batches reach a real TLS server on
//! loopback (a self-signed certificate made here, trusted through the sink's test-only hook), an
//! untrusted certificate is refused, and an https endpoint is accepted by `init`. Without the
//! feature, `init` refuses an https endpoint and names the feature to enable.
//!
//! Run the TLS half with `cargo test -p trace-runtime --features tls --test telemetry_tls`.

#[path = "privacy_support/mod.rs"]
mod support;

use std::sync::Mutex;

use trace_runtime::Config;
use trace_runtime::config::Exporter;

/// `init` is process-wide: the tests that call it take turns.
static INIT: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    INIT.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(not(feature = "tls"))]
#[test]
fn without_tls_an_https_endpoint_is_an_init_error_naming_the_feature() {
    let _serial = serial();
    let err = trace_runtime::init_with(
        Config::builder().exporter(Exporter::None).telemetry_endpoint("https://telemetry.example/v1").build(),
    )
    .expect_err("https:// needs the tls feature")
    .to_string();
    assert!(err.contains("https://telemetry.example/v1"), "{err}");
    assert!(err.contains("`tls` cargo feature"), "{err}");
}

#[cfg(feature = "tls")]
mod tls {
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use trace_runtime::telemetry::{self, HttpTelemetrySink, Payload, TelemetrySink};

    use super::support::Request;
    use super::*;

    /// An HTTPS/1.1 server on 127.0.0.1 with a fresh self-signed certificate for `localhost`,
    /// answering every request with 200 and recording it.
    struct TlsServer {
        port: u16,
        certificate: CertificateDer<'static>,
        requests: Arc<Mutex<Vec<Request>>>,
    }

    impl TlsServer {
        fn start() -> TlsServer {
            let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
            let certificate = generated.cert.der().clone();
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der()));
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![certificate.clone()], key)
                .unwrap();
            let config = Arc::new(config);
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let server = TlsServer {
                port: listener.local_addr().unwrap().port(),
                certificate,
                requests: Arc::default(),
            };
            let requests = server.requests.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (config, requests) = (config.clone(), requests.clone());
                    std::thread::spawn(move || support::serve_tls(config, stream, &requests));
                }
            });
            server
        }

        fn url(&self) -> String {
            format!("https://localhost:{}/v1/telemetry", self.port)
        }

        fn requests(&self) -> Vec<Request> {
            self.requests.lock().unwrap().clone()
        }
    }

    fn trusting(server: &TlsServer) -> HttpTelemetrySink {
        HttpTelemetrySink::new(&server.url()).unwrap().__trust_only_certificate(&server.certificate)
    }

    #[test]
    fn a_batch_reaches_an_https_endpoint() {
        let server = TlsServer::start();
        let mut sink = trusting(&server);
        sink.send(&Payload::example()).expect("the loopback TLS server answers 200");
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("POST", "/v1/telemetry"));
        assert_eq!(requests[0].header("content-type"), Some("application/json"));
        assert_eq!(requests[0].json()["schema"], telemetry::SCHEMA);
        assert_eq!(requests[0].json()["features"][0]["name"], "multimodal");
    }

    #[test]
    fn a_certificate_the_sink_does_not_trust_is_refused() {
        let server = TlsServer::start();
        let mut sink = HttpTelemetrySink::new(&server.url()).unwrap();
        let err = sink.send(&Payload::example()).expect_err("a self-signed certificate is not trusted");
        let err = err.to_string();
        assert!(err.contains(&server.url()) && err.contains("certificate"), "the reason is kept: {err}");
        assert!(server.requests().is_empty(), "nothing was sent over an untrusted connection");
    }

    #[test]
    fn sending_from_async_code_does_not_panic() {
        let server = TlsServer::start();
        let mut sink = trusting(&server);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async { sink.send(&Payload::example()) }).expect("sent from inside a runtime");
        drop(runtime);
        drop(sink); // its own runtime, dropped outside any: no panic either
        assert_eq!(server.requests().len(), 1);
    }

    #[test]
    fn the_telemetry_thread_sends_the_last_batch_over_https_at_shutdown() {
        let _serial = serial();
        let server = TlsServer::start();
        let guard = trace_runtime::init_with(
            Config::builder()
                .exporter(Exporter::None)
                .telemetry_in_ci(true)
                .telemetry_interval(Duration::from_secs(3600))
                .telemetry_sink(trusting(&server))
                .build(),
        )
        .unwrap();
        assert!(telemetry::is_enabled());
        telemetry::feature("voice");
        drop(guard);
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "one batch, at shutdown");
        assert_eq!(requests[0].json()["features"][0]["name"], "voice");
        assert_eq!(telemetry::metrics().batches_sent, 1);
    }

    #[test]
    fn init_accepts_an_https_endpoint() {
        let _serial = serial();
        let guard = trace_runtime::init_with(
            Config::builder()
                .exporter(Exporter::None)
                .telemetry_in_ci(true)
                .telemetry_endpoint("https://telemetry.example/v1")
                .telemetry_enabled(false)
                .build(),
        )
        .expect("an https:// endpoint is valid with the tls feature");
        drop(guard);
    }
}
