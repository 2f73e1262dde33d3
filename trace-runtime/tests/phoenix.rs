//! A real Phoenix (`arize-phoenix` from PyPI, on loopback): an agent trace sent by the `phoenix`
//! lane arrives in the configured project with its parentage, the AGENT / LLM / TOOL kinds, the
//! token counts and the session id, read back through Phoenix's REST API.
//!
//! Needs a running Phoenix: `.ci/phoenix` creates (and caches) the virtualenv, starts the server
//! and runs this test with `PHOENIX_TEST_URL` set; `.ci/run` calls it.

use std::time::{Duration, Instant};

use serde_json::Value;
use trace_runtime::config::Exporter;
use trace_runtime::{Config, Usage, span, trace, trace_agent, trace_llm, trace_tool};

#[trace_llm(provider = "openai", model = "gpt-4o-mini")]
fn plan(goal: &str) -> String {
    span::record_usage(Usage { input_tokens: 21, output_tokens: 8, ..Default::default() });
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

/// Phoenix's spans of `project`, once at least `n` arrived (it ingests asynchronously).
fn spans(url: &str, project: &str, n: usize) -> Vec<Value> {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = client.get(format!("{url}/v1/projects/{project}/spans?limit=100")).send();
        if let Ok(response) = response
            && response.status().is_success()
        {
            let body: Value = serde_json::from_str(&response.text().unwrap()).unwrap();
            let data = body["data"].as_array().cloned().unwrap_or_default();
            if data.len() >= n {
                return data;
            }
        }
        assert!(Instant::now() < deadline, "Phoenix at {url} did not show {n} spans in project {project}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn named<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    spans.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn attribute<'a>(span: &'a Value, key: &str) -> &'a Value {
    &span["attributes"][key]
}

#[test]
#[ignore = "needs a running Phoenix: run .ci/phoenix"]
fn an_agent_trace_arrives_in_phoenix_with_parentage_kinds_tokens_and_session() {
    let url =
        std::env::var("PHOENIX_TEST_URL").expect("PHOENIX_TEST_URL: the Phoenix that .ci/phoenix started");
    let project = format!("trace-runtime-{}", std::process::id());
    let guard = trace_runtime::init_with(
        Config::builder()
            .exporter(Exporter::None)
            .telemetry_enabled(false)
            .phoenix(&url)
            .phoenix_project(&project)
            .build(),
    )
    .expect("init");
    trace!("trip", session.id = "s-phoenix", {
        agent("a weekend away");
    });
    guard.shutdown().expect("Phoenix took every span");

    let spans = spans(&url, &project, 4);
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let id = |s: &Value| s["context"]["span_id"].as_str().unwrap().to_string();
    let parent = |s: &Value| s["parent_id"].as_str().map(str::to_string);
    let (root, agent, llm, tool) = (
        named(&spans, "trip"),
        named(&spans, "invoke_agent travel"),
        named(&spans, "chat gpt-4o-mini"),
        named(&spans, "execute_tool weather"),
    );
    assert_eq!(parent(root), None);
    assert_eq!(parent(agent), Some(id(root)));
    assert_eq!((parent(llm), parent(tool)), (Some(id(agent)), Some(id(agent))));
    let trace = |s: &Value| s["context"]["trace_id"].clone();
    assert!(spans.iter().all(|s| trace(s) == trace(root)), "one trace");

    // Phoenix files `openinference.span.kind` as the span's kind.
    assert_eq!(
        (&agent["span_kind"], &llm["span_kind"], &tool["span_kind"]),
        (&"AGENT".into(), &"LLM".into(), &"TOOL".into())
    );
    assert_eq!(attribute(llm, "llm.token_count.prompt"), 21);
    assert_eq!(attribute(llm, "llm.token_count.completion"), 8);
    assert_eq!(attribute(llm, "llm.token_count.total"), 29);
    assert_eq!(attribute(llm, "llm.model_name"), "gpt-4o-mini");
    for span in &spans {
        assert_eq!(attribute(span, "session.id"), "s-phoenix", "{span:#}");
    }
}
