//! The agent layer seen through `testing::capture`: `#[trace_agent]`, `#[trace_tool]`,
//! `#[trace_fn]` on every fn shape, `error.type`, evaluations, and association attributes
//! carried down the tree across `.await`, tasks, threads and processes.

use std::borrow::Cow;
use std::collections::HashMap;

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use trace_runtime::span::ErrorType;
use trace_runtime::{
    Evaluation, current_context, keys, propagation, span, testing, trace, trace_agent, trace_fn, trace_llm,
    trace_tool,
};

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string())
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
        panic!("no span {name:?} in {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>())
    })
}

#[derive(Debug)]
struct Planner {
    name: String,
}

impl Planner {
    #[trace_agent(name = self.name.as_str(), id = "planner-1", description = "plans the trip")]
    async fn run(&self, goal: &str) -> Result<Vec<String>, std::io::Error> {
        let a = lookup(goal).await;
        let b = forecast("Oslo", 2);
        Ok(vec![a, b.to_string()])
    }
}

#[trace_tool(name = "lookup", call_id = "call_1")]
async fn lookup(query: &str) -> String {
    tokio::task::yield_now().await;
    format!("found {query}")
}

#[trace_tool(name = "forecast", kind = "extension", span_name = "forecast tool")]
fn forecast(city: &str, days: u32) -> f64 {
    city.len() as f64 + f64::from(days)
}

#[trace_fn]
fn plain<T: std::fmt::Debug>(value: T) -> impl std::fmt::Debug {
    value
}

#[tokio::test]
async fn agent_and_tool_spans_carry_the_genai_names() {
    let planner = Planner { name: "planner".into() };
    let (out, spans) = testing::capture_async(planner.run("a trip")).await;
    assert_eq!(out.unwrap(), ["found a trip", "6"]);
    let agent = named(&spans, "invoke_agent planner");
    assert_eq!(agent.span_kind, SpanKind::Internal);
    assert_eq!(attr(agent, "gen_ai.operation.name").as_deref(), Some("invoke_agent"));
    assert_eq!(attr(agent, "gen_ai.agent.name").as_deref(), Some("planner"));
    assert_eq!(attr(agent, "gen_ai.agent.id").as_deref(), Some("planner-1"));
    assert_eq!(attr(agent, "gen_ai.agent.description").as_deref(), Some("plans the trip"));

    let tool = named(&spans, "execute_tool lookup");
    assert_eq!(tool.span_kind, SpanKind::Internal);
    assert_eq!(tool.parent_span_id, agent.span_context.span_id());
    assert_eq!(attr(tool, "gen_ai.operation.name").as_deref(), Some("execute_tool"));
    assert_eq!(attr(tool, "gen_ai.tool.name").as_deref(), Some("lookup"));
    assert_eq!(attr(tool, "gen_ai.tool.call.id").as_deref(), Some("call_1"));
    assert_eq!(attr(tool, "gen_ai.tool.type").as_deref(), Some("function"));
    assert_eq!(attr(tool, "gen_ai.tool.call.arguments"), None, "IO capture is off");
    assert_eq!(attr(tool, "gen_ai.tool.call.result"), None, "IO capture is off");

    let custom = named(&spans, "forecast tool");
    assert_eq!(custom.parent_span_id, agent.span_context.span_id());
    assert_eq!(attr(custom, "gen_ai.tool.type").as_deref(), Some("extension"));
}

#[test]
fn trace_fn_names_the_span_after_the_function() {
    let (value, spans) = testing::capture(|| format!("{:?}", plain(7)));
    assert_eq!(value, "7");
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "plain");
    assert_eq!(spans[0].span_kind, SpanKind::Internal);
    assert_eq!(attr(&spans[0], "gen_ai.operation.name"), None, "a plain span is not a GenAI one");
    assert!(attr(&spans[0], "code.function.name").is_some_and(|f| f.ends_with("::plain")));
}

#[derive(Debug)]
enum ToolError {
    RateLimited,
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rate limited")
    }
}

impl ErrorType for ToolError {
    fn error_type(&self) -> Cow<'static, str> {
        "rate_limited".into()
    }
}

#[trace_tool(name = "flaky")]
fn flaky() -> Result<u8, ToolError> {
    Err(ToolError::RateLimited)
}

#[trace_agent(name = "broken")]
async fn broken() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("no model"))
}

#[trace_llm(provider = "openai", model = "gpt-4o")]
fn refused() -> Result<String, String> {
    Err("refused".into())
}

#[trace_fn]
fn plain_failure() -> Result<(), String> {
    Err("plain".into())
}

#[tokio::test]
async fn failed_genai_calls_get_error_type() {
    let (_, spans) = testing::capture(|| {
        let _ = flaky();
        let _ = refused();
        let _ = plain_failure();
    });
    let tool = named(&spans, "execute_tool flaky");
    assert_eq!(tool.status, Status::error("rate limited"));
    assert_eq!(attr(tool, "error.type").as_deref(), Some("rate_limited"), "the error's ErrorType");
    let llm = named(&spans, "chat gpt-4o");
    assert_eq!(attr(llm, "error.type").as_deref(), Some("alloc::string::String"), "the type name");
    let plain = named(&spans, "plain_failure");
    assert_eq!(plain.status, Status::error("plain"));
    assert_eq!(attr(plain, "error.type"), None, "only GenAI spans name the error's type");

    let (_, spans) = testing::capture_async(broken()).await;
    assert_eq!(attr(&spans[0], "error.type").as_deref(), Some("std::io::error::Error"));
    // A successful call has none.
    let (_, spans) = testing::capture(|| forecast("Oslo", 1));
    assert_eq!(attr(&spans[0], "error.type"), None);
}

#[test]
fn evaluations_land_on_the_current_span_or_the_one_they_name() {
    let (_, spans) = testing::capture(|| {
        let answered = trace!("answer", {
            span::record_evaluation(
                Evaluation::new("relevance").score(0.75).label("relevant").explanation("on topic"),
            );
            current_context()
        });
        span::record_evaluation_on(answered, Evaluation::new("correctness").label("fail"));
        // Outside a span, and for no span: nothing, and no panic.
        span::record_evaluation(Evaluation::new("ignored"));
        span::record_evaluation_on(trace_runtime::Context::NONE, Evaluation::new("ignored"));
    });
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let answer = named(&spans, "answer");
    let event = &answer.events.events[0];
    assert_eq!(event.name, "gen_ai.evaluation.result");
    let get =
        |k: &str| event.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
    assert_eq!(get("gen_ai.evaluation.name").as_deref(), Some("relevance"));
    assert_eq!(get("gen_ai.evaluation.score.value").as_deref(), Some("0.75"));
    assert_eq!(get("gen_ai.evaluation.score.label").as_deref(), Some("relevant"));
    assert_eq!(get("gen_ai.evaluation.explanation").as_deref(), Some("on topic"));

    let later = named(&spans, "gen_ai.evaluation.result");
    assert_eq!(later.parent_span_id, answer.span_context.span_id());
    assert_eq!(later.span_context.trace_id(), answer.span_context.trace_id());
    assert_eq!(attr(later, "gen_ai.evaluation.name").as_deref(), Some("correctness"));
    assert_eq!(attr(later, "gen_ai.evaluation.score.label").as_deref(), Some("fail"));
    assert_eq!(attr(later, "gen_ai.evaluation.score.value"), None, "no score given");
    assert_eq!(later.events.events[0].name, "gen_ai.evaluation.result");
}

mod app_keys {
    trace_runtime::define_keys! {
        /// Keys of the test application.
        pub mod app {
            /// Tenant of the request, carried down.
            #[associated]
            tenant: String,
            /// Not carried down.
            region: String,
        }
    }
}

#[trace_tool(name = "search")]
async fn search() {
    tokio::task::yield_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn association_attributes_reach_every_descendant() {
    let (_, spans) = testing::capture_async(trace!(
        "turn",
        session.id = "s-1",
        user.id = "u-1",
        app_keys::app::tenant = "acme",
        app_keys::app::region = "eu",
        async {
            // A task on another worker thread, and a thread.
            trace_runtime::spawn(async {
                trace!("in task", async { search().await }).await;
            })
            .await
            .unwrap();
            trace_runtime::thread::spawn(|| trace!("in thread", {})).join().unwrap();
            // Set later, by `span::set`: spans started from now on carry it.
            trace!("before", {});
            span::set(keys::gen_ai::conversation::id, "c-9");
            trace!("after", {
                // A descendant's own value wins below it.
                trace!("override", user.id = "u-2", {
                    trace!("below override", {});
                });
            });
        }
    ))
    .await;
    assert_eq!(spans.len(), 8, "{:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    for span in &spans {
        assert_eq!(attr(span, "session.id").as_deref(), Some("s-1"), "{}", span.name);
        assert_eq!(attr(span, "app.tenant").as_deref(), Some("acme"), "{}", span.name);
        let carried = span.name == "turn";
        assert_eq!(attr(span, "app.region").is_some(), carried, "{}: not associated", span.name);
        assert!(
            !span.attributes.iter().any(|kv| kv.key.as_str() == "trace_runtime.association"),
            "the slot is never exported"
        );
    }
    for name in ["turn", "in task", "execute_tool search", "in thread", "before", "after"] {
        assert_eq!(attr(named(&spans, name), "user.id").as_deref(), Some("u-1"), "{name}");
    }
    for name in ["override", "below override"] {
        assert_eq!(attr(named(&spans, name), "user.id").as_deref(), Some("u-2"), "{name}");
    }
    assert_eq!(attr(named(&spans, "before"), "gen_ai.conversation.id"), None);
    for name in ["turn", "after", "override", "below override"] {
        assert_eq!(attr(named(&spans, name), "gen_ai.conversation.id").as_deref(), Some("c-9"), "{name}");
    }
}

#[test]
fn association_stays_in_its_subtree_and_its_trace() {
    let (_, spans) = testing::capture(|| {
        trace!("root", {
            trace!("with session", session.id = "s-7", {
                trace!("child", {});
            });
            trace!("sibling", {});
        });
        trace!("next trace", {});
    });
    assert_eq!(attr(named(&spans, "child"), "session.id").as_deref(), Some("s-7"));
    for name in ["root", "sibling", "next trace"] {
        assert_eq!(attr(named(&spans, name), "session.id"), None, "{name}");
    }
}

#[tokio::test]
async fn a_deferred_trace_future_carries_its_keys() {
    // Made before the capture exists: the span's decision (and its set) wait for the first poll.
    let turn = trace!("turn", session.id = "s-d", async {
        trace!("stt", {});
        lookup("x").await
    });
    let (_, spans) = testing::capture_async(turn).await;
    assert_eq!(spans.len(), 3);
    for span in &spans {
        assert_eq!(attr(span, "session.id").as_deref(), Some("s-d"), "{}", span.name);
    }
}

#[test]
fn association_crosses_processes_as_baggage() {
    let (headers, client) = testing::capture(|| {
        trace!("client", session.id = "s 1,é", user.id = "u-1", {
            let mut headers = HashMap::new();
            propagation::inject(&mut headers);
            headers
        })
    });
    let baggage = &headers["baggage"];
    assert!(baggage.contains("session.id=s%201%2C%C3%A9"), "{baggage}");
    assert!(baggage.contains("user.id=u-1"), "{baggage}");
    // The other process: a thread sharing nothing but the headers.
    let server = std::thread::spawn(move || {
        testing::capture(|| {
            let remote = propagation::extract(&headers);
            remote.in_scope(|| trace!("server", { trace!("handler", {}) }));
        })
        .1
    })
    .join()
    .unwrap();
    assert_eq!(server.len(), 2);
    for span in &server {
        assert_eq!(span.span_context.trace_id(), client[0].span_context.trace_id());
        assert_eq!(attr(span, "session.id").as_deref(), Some("s 1,é"), "{}", span.name);
        assert_eq!(attr(span, "user.id").as_deref(), Some("u-1"), "{}", span.name);
    }

    // Baggage members the kit does not know are not attributes; malformed ones are skipped.
    let hostile = HashMap::from([
        ("traceparent".to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string()),
        ("baggage".to_string(), "gen_ai.usage.cost=9,=x,session.id=s-2;prop=1,junk".to_string()),
    ]);
    let (_, spans) = testing::capture(|| propagation::extract(&hostile).in_scope(|| trace!("handle", {})));
    assert_eq!(attr(&spans[0], "session.id").as_deref(), Some("s-2"));
    assert_eq!(attr(&spans[0], "gen_ai.usage.cost"), None);
}

#[test]
fn outgoing_baggage_is_scrubbed_like_exports() {
    let secret = "sk-proj-S3cr3tS3cr3tS3cr3tS3cr3tXYZ9";
    let (headers, spans) = testing::capture(|| {
        trace!("client", user.id = secret, {
            let mut headers = HashMap::new();
            propagation::inject(&mut headers);
            headers
        })
    });
    assert!(!headers["baggage"].contains("S3cr3t"), "{}", headers["baggage"]);
    assert!(headers["baggage"].starts_with("user.id="), "{}", headers["baggage"]);
    assert!(!attr(&spans[0], "user.id").unwrap().contains("S3cr3t"));
}

#[tokio::test]
async fn the_summary_counts_tools_and_failed_calls() {
    let (trace_id, spans) = testing::capture(|| {
        trace!("turn", {
            let _ = refused();
            let _ = flaky();
            forecast("Oslo", 1);
            span::trace_id().unwrap()
        })
    });
    // Built by the export worker as the root was exported, and from the captured spans: the same.
    let from_worker = trace_runtime::TraceSummary::of_trace(trace_id).unwrap();
    let from_spans = trace_runtime::TraceSummary::from_spans(&spans);
    for summary in [&from_worker, &from_spans] {
        assert_eq!((summary.llm_calls, summary.tool_calls, summary.failed_calls), (1, 2, 2), "{summary:?}");
        assert!(summary.ledger.is_empty(), "the failed call recorded no usage");
        assert!(summary.to_string().contains("· 1 LLM call · 2 tool calls · 2 failed"), "{summary}");
    }
}

#[tokio::test]
async fn a_snapshot_is_the_same_on_every_run() {
    let run = || async {
        let planner = Planner { name: "planner".into() };
        testing::capture_async(trace!("turn", session.id = "s-1", async { planner.run("x").await })).await.1
    };
    let first = testing::snapshot(&run().await);
    assert_eq!(first, testing::snapshot(&run().await));
    assert_eq!(
        first,
        "\
turn session.id=s-1
└─ invoke_agent planner gen_ai.agent.name=planner
   ├─ execute_tool lookup gen_ai.tool.name=lookup gen_ai.tool.call.id=call_1
   └─ forecast tool gen_ai.tool.name=forecast
"
    );
}

#[test]
fn budgets_fail_naming_the_spans_over_them() {
    let (_, spans) = testing::capture(|| {
        trace!("turn", {
            let _ = flaky();
            std::thread::sleep(std::time::Duration::from_millis(20));
        })
    });
    let message = |f: &dyn Fn()| {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("over budget");
        caught.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    let slow = message(&|| {
        testing::budget(&spans).latency_at_most("turn", std::time::Duration::from_millis(5));
    });
    assert!(slow.contains("\"turn\" over its latency budget of 5ms") && slow.contains("turn took"), "{slow}");
    let failed = message(&|| {
        testing::budget(&spans).no_failed_calls();
    });
    assert!(failed.contains("execute_tool flaky: error: rate limited"), "{failed}");
    let tools = message(&|| {
        testing::budget(&spans).tool_calls_at_most(0);
    });
    assert!(tools.contains("1 tool calls, over the budget of 0"), "{tools}");
    let missing = message(&|| {
        testing::budget(&spans).latency_at_most("no such span", std::time::Duration::from_secs(1));
    });
    assert!(missing.contains("no span named \"no such span\""), "{missing}");
    // Within budget: no panic.
    testing::budget(&spans).llm_calls_at_most(0).total_cost_at_most(0.0).tool_calls_at_most(1);
}

#[test]
fn association_passes_through_opentelemetry_api_spans() {
    use opentelemetry::trace::Tracer as _;
    let (_, spans) = testing::capture(|| {
        trace!("turn", session.id = "s-otel", {
            opentelemetry::global::tracer("app").in_span("api span", |_cx| {
                trace!("kit inside api", {});
            });
        })
    });
    for name in ["api span", "kit inside api"] {
        assert_eq!(attr(named(&spans, name), "session.id").as_deref(), Some("s-otel"), "{name}");
    }
}
