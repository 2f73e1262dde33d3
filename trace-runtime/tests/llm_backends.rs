//! `TRACE_EXPORTER=langfuse,phoenix,langwatch,logfire` against loopback receivers: each lane
//! sends OTLP HTTP/protobuf to its backend's exact path with its auth header, mapped to the names
//! that backend reads — on that lane only — and a missing key is an error from `init` naming the
//! variable, never showing a secret.
//!
//! Child processes: each configuration is one `init`, from the environment alone.

mod common;

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use trace_runtime::{Usage, span, trace, trace_agent, trace_llm, trace_tool};

const CHILD: &str = "LLM_BACKENDS_CHILD";
const LANGFUSE_SECRET: &str = "sk-lf-0000-secret-0000";

#[trace_llm(provider = "openai", model = "gpt-4o-mini", input = goal, output = String::as_str)]
fn plan(goal: &str) -> String {
    span::record_usage(Usage { input_tokens: 12, output_tokens: 7, ..Default::default() });
    format!("plan for {goal}")
}

#[trace_tool(name = "weather")]
fn weather(city: &str) -> String {
    format!("sunny in {city}")
}

#[trace_agent(name = "travel")]
fn agent(goal: &str) -> String {
    let plan = plan(goal);
    format!("{plan}; {}", weather("Oslo"))
}

/// Run as a child: the environment decides everything.
#[test]
fn child_program() {
    if std::env::var(CHILD).is_err() {
        return;
    }
    match trace_runtime::init() {
        Ok(guard) => {
            trace!("trip", session.id = "s-9", user.id = "u-3", {
                agent("a weekend away");
            });
            println!("shutdown: {:?}", guard.shutdown());
        }
        Err(e) => println!("init error: {e}"),
    }
}

fn run(envs: &[(&str, String)]) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_program", "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .env("TRACE_TELEMETRY_ENABLED", "false")
        .env("TRACE_CAPTURE_IO", "true")
        .env("OTEL_SERVICE_NAME", "backends-test")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child failed:\n{text}");
    text
}

/// The spans of every accepted request to `path`, by name, with their attributes as strings.
struct Received {
    requests: Vec<ExportTraceServiceRequest>,
    headers: Vec<(String, String)>,
}

impl Received {
    fn from(receiver: &common::Receiver, path: &str) -> Received {
        let bodies = receiver.state.bodies.lock().unwrap();
        let requests: Vec<_> = bodies
            .iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, ct, body)| {
                assert_eq!(ct, "application/x-protobuf", "HTTP/protobuf");
                ExportTraceServiceRequest::decode(body.as_slice()).unwrap()
            })
            .collect();
        assert!(
            !requests.is_empty(),
            "nothing reached {path}; got {:?}",
            bodies.iter().map(|b| &b.0).collect::<Vec<_>>()
        );
        Received { requests, headers: receiver.state.last_headers.lock().unwrap().clone() }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn spans(&self) -> Vec<&Span> {
        self.requests
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect()
    }

    fn span(&self, name: &str) -> HashMap<String, String> {
        let span =
            self.spans().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"));
        span.attributes
            .iter()
            .map(|kv| (kv.key.clone(), common::attr(&span.attributes, &kv.key).unwrap_or_default()))
            .collect()
    }

    fn resource(&self, key: &str) -> Option<String> {
        self.requests[0].resource_spans[0].resource.as_ref().and_then(|r| common::attr(&r.attributes, key))
    }
}

#[test]
fn each_backend_gets_its_path_auth_and_names_and_the_other_lanes_stay_unchanged() {
    let (langfuse, phoenix, langwatch, logfire, otlp) = (
        common::http_receiver(),
        common::http_receiver(),
        common::http_receiver(),
        common::http_receiver(),
        common::http_receiver(),
    );
    let out = run(&[
        ("TRACE_EXPORTER", "langfuse,phoenix,langwatch,logfire,otlp".into()),
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-1111".into()),
        ("LANGFUSE_SECRET_KEY", LANGFUSE_SECRET.into()),
        ("LANGFUSE_HOST", langfuse.url()),
        ("PHOENIX_COLLECTOR_ENDPOINT", phoenix.url()),
        ("PHOENIX_API_KEY", "phx-key-2222".into()),
        ("PHOENIX_PROJECT_NAME", "travel-agents".into()),
        ("LANGWATCH_API_KEY", "lw-key-3333".into()),
        ("LANGWATCH_ENDPOINT", langwatch.url()),
        ("LOGFIRE_TOKEN", "pylf_v1_eu_4444".into()),
        ("LOGFIRE_BASE_URL", logfire.url()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.url()),
    ]);
    assert!(out.contains("shutdown: Ok(())"), "{out}");
    assert!(!out.contains(LANGFUSE_SECRET), "{out}");

    let lf = Received::from(&langfuse, "/api/public/otel/v1/traces");
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("pk-lf-1111:{LANGFUSE_SECRET}"));
    assert_eq!(lf.header("authorization"), Some(format!("Basic {basic}").as_str()));
    assert_eq!(lf.header("x-langfuse-ingestion-version"), Some("4"));
    let root = lf.span("trip");
    assert_eq!(root.get("langfuse.trace.name").map(String::as_str), Some("trip"));
    assert_eq!(root.get("langfuse.session.id").map(String::as_str), Some("s-9"));
    assert_eq!(root.get("langfuse.user.id").map(String::as_str), Some("u-3"));
    let generation = lf.span("chat gpt-4o-mini");
    assert_eq!(generation.get("langfuse.observation.type").map(String::as_str), Some("generation"));
    assert_eq!(generation.get("langfuse.session.id").map(String::as_str), Some("s-9"), "carried down");
    assert_eq!(generation.get("gen_ai.usage.input_tokens").map(String::as_str), Some("12"));
    assert!(
        generation.get("langfuse.observation.output").is_some_and(|o| o.contains("plan for")),
        "{generation:?}"
    );
    assert!(!generation.contains_key("langfuse.trace.name"), "only the root names the trace");
    let tool = lf.span("execute_tool weather");
    assert_eq!(tool.get("langfuse.observation.type").map(String::as_str), Some("tool"));
    assert!(tool.get("langfuse.observation.input").is_some_and(|i| i.contains("Oslo")), "{tool:?}");
    assert_eq!(
        lf.span("invoke_agent travel").get("langfuse.observation.type").map(String::as_str),
        Some("agent")
    );

    let px = Received::from(&phoenix, "/v1/traces");
    assert_eq!(px.header("authorization"), Some("Bearer phx-key-2222"));
    assert_eq!(px.resource("openinference.project.name").as_deref(), Some("travel-agents"));
    let llm = px.span("chat gpt-4o-mini");
    assert_eq!(llm.get("openinference.span.kind").map(String::as_str), Some("LLM"));
    assert_eq!(llm.get("llm.token_count.total").map(String::as_str), Some("19"));
    assert_eq!(llm.get("session.id").map(String::as_str), Some("s-9"));
    assert_eq!(
        px.span("execute_tool weather").get("openinference.span.kind").map(String::as_str),
        Some("TOOL")
    );
    assert_eq!(
        px.span("invoke_agent travel").get("openinference.span.kind").map(String::as_str),
        Some("AGENT")
    );

    let lw = Received::from(&langwatch, "/api/otel/v1/traces");
    assert_eq!(lw.header("authorization"), Some("Bearer lw-key-3333"));
    let llm = lw.span("chat gpt-4o-mini");
    assert_eq!(llm.get("langwatch.span.type").map(String::as_str), Some("llm"));
    assert_eq!(llm.get("langwatch.thread.id").map(String::as_str), Some("s-9"));
    assert_eq!(llm.get("langwatch.user.id").map(String::as_str), Some("u-3"));
    assert_eq!(lw.span("execute_tool weather").get("langwatch.span.type").map(String::as_str), Some("tool"));

    let lg = Received::from(&logfire, "/v1/traces");
    assert_eq!(lg.header("authorization"), Some("pylf_v1_eu_4444"), "the token itself, no scheme");
    assert_eq!(
        lg.span("chat gpt-4o-mini").get("gen_ai.request.model").map(String::as_str),
        Some("gpt-4o-mini")
    );

    // The other lanes see the kit's spans unchanged.
    let plain = Received::from(&otlp, "/v1/traces");
    let llm = plain.span("chat gpt-4o-mini");
    assert!(
        llm.keys()
            .all(|k| !k.starts_with("langfuse.") && !k.starts_with("langwatch.") && !k.starts_with("llm.")),
        "{llm:?}"
    );
    assert!(!llm.contains_key("openinference.span.kind"));
    assert_eq!(plain.resource("openinference.project.name"), None);
    // Nor does one backend's mapping reach another's lane.
    let names = |r: &Received| -> Vec<String> {
        r.spans().iter().flat_map(|s| s.attributes.iter().map(|kv| kv.key.clone())).collect()
    };
    assert!(names(&lf).iter().all(|k| !k.starts_with("langwatch.") && !k.starts_with("llm.")));
    assert!(names(&lw).iter().all(|k| !k.starts_with("langfuse.") && !k.starts_with("llm.")));
    assert!(names(&lg).iter().all(|k| !k.starts_with("langfuse.") && !k.starts_with("langwatch.")));
}

#[test]
fn a_missing_key_is_an_error_naming_the_variable_and_no_secret_is_shown() {
    let out = run(&[("TRACE_EXPORTER", "langfuse".into()), ("LANGFUSE_SECRET_KEY", LANGFUSE_SECRET.into())]);
    assert!(out.contains("init error:") && out.contains("`LANGFUSE_PUBLIC_KEY`"), "{out}");
    assert!(!out.contains(LANGFUSE_SECRET), "{out}");
    for (exporter, variable) in [("langwatch", "LANGWATCH_API_KEY"), ("logfire", "LOGFIRE_TOKEN")] {
        let out = run(&[("TRACE_EXPORTER", exporter.into())]);
        assert!(out.contains(&format!("`{variable}`")), "{exporter}: {out}");
    }
    let broken = "lw-line\nbreak-secret";
    let out = run(&[
        ("TRACE_EXPORTER", "langwatch".into()),
        ("LANGWATCH_API_KEY", broken.into()),
        ("LANGWATCH_ENDPOINT", format!("http://{}", common::closed_port())),
    ]);
    assert!(out.contains("init error:"), "{out}");
    assert!(out.contains("`langwatch` credential"), "{out}");
    assert!(!out.contains("break-secret") && !out.contains("lw-line"), "{out}");
}

#[test]
fn phoenix_needs_no_key_and_defaults_its_project_to_the_service_name() {
    let phoenix = common::http_receiver();
    let out = run(&[
        ("TRACE_EXPORTER", "phoenix".into()),
        ("PHOENIX_COLLECTOR_ENDPOINT", format!("{}/v1/traces", phoenix.url())),
    ]);
    assert!(out.contains("shutdown: Ok(())"), "{out}");
    let px = Received::from(&phoenix, "/v1/traces");
    assert_eq!(px.header("authorization"), None);
    assert_eq!(px.resource("openinference.project.name").as_deref(), Some("backends-test"));
}
