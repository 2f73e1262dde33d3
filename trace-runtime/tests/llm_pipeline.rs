//! LLM semantics through `init()`: the process-wide ledger under concurrent traces, price files,
//! redaction patterns, OpenInference names, IO capture on and off, and the summary printed to
//! stderr (checked in a child process, since stderr is the process's own).
//!
//! `init` is process-wide, so these tests take turns.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use trace_runtime::config::{Exporter, Semconv};
use trace_runtime::io::Message;
use trace_runtime::{Config, InitError, Usage, init_with, record_usage, trace, trace_llm};
#[cfg(feature = "tokio")]
use trace_runtime::{span, tokens};

static INIT: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    INIT.lock().unwrap_or_else(|p| p.into_inner())
}

fn config(memory: &InMemorySpanExporter) -> trace_runtime::ConfigBuilder {
    Config::builder().exporter(Exporter::None).with_span_exporter(memory.clone())
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

#[trace_llm(provider = provider, model = model)]
async fn call(provider: &str, model: &str, usage: Usage) {
    tokio::task::yield_now().await;
    record_usage(usage);
}

#[cfg(feature = "tokio")] // `trace_runtime::spawn`
#[test]
fn the_global_ledger_counts_every_call_of_concurrent_traces() {
    let _serial = serial();
    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).build()).unwrap();
    tokens::reset();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    let ids = runtime.block_on(async {
        let traces = (0..20u64).map(|t| {
            tokio::spawn(trace!("turn", async move {
                let mut calls = Vec::new();
                for i in 0..25u64 {
                    let (provider, model) = if i % 5 == 0 {
                        ("anthropic", "claude-3-5-haiku")
                    } else {
                        ("openai", "gpt-4.1-nano")
                    };
                    let usage = Usage {
                        input_tokens: t + 1,
                        output_tokens: 2,
                        cache_read_tokens: 1,
                        ..Default::default()
                    };
                    calls.push(trace_runtime::spawn(call(provider, model, usage)));
                }
                for c in calls {
                    c.await.unwrap();
                }
                span::trace_id().unwrap()
            }))
        });
        futures::future::join_all(traces).await.into_iter().map(Result::unwrap).collect::<Vec<_>>()
    });
    let global = tokens::global();
    let nano = global.model("gpt-4.1-nano").unwrap();
    let haiku = global.model("claude-3-5-haiku").unwrap();
    assert_eq!((nano.calls, haiku.calls), (400, 100));
    // Σ over traces t of (t + 1) input tokens per call: 210 per call slot.
    assert_eq!(nano.usage.input_tokens, 20 * 210);
    assert_eq!(haiku.usage.input_tokens, 5 * 210);
    assert_eq!(global.usage().output_tokens, 1000);
    assert_eq!(global.usage().cache_read_tokens, 500);
    let expected = (20.0 * 210.0 - 400.0) * 0.10
        + 400.0 * 0.025
        + 800.0 * 0.40
        + (5.0 * 210.0 - 100.0) * 0.80
        + 100.0 * 0.08
        + 200.0 * 4.0;
    assert!((global.total_cost().unwrap() - expected / 1e6).abs() < 1e-12);
    for (t, id) in ids.iter().enumerate() {
        let ledger = tokens::trace(*id).unwrap();
        assert_eq!(ledger.calls(), 25);
        assert_eq!(ledger.usage().input_tokens, 25 * (t as u64 + 1));
    }
    assert!(guard.flush());
    let spans = memory.get_finished_spans().unwrap();
    assert_eq!(spans.iter().filter(|s| attr(s, "gen_ai.usage.cost").is_some()).count(), 500);
    tokens::reset();
    assert!(tokens::global().is_empty());
}

#[test]
fn a_price_file_extends_the_table_and_a_bad_one_fails_init() {
    let _serial = serial();
    let dir = std::env::temp_dir().join(format!("llm-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[house-model]\ninput = \"a lot\"\n").unwrap();
    let memory = InMemorySpanExporter::default();
    let err = init_with(config(&memory).prices_file(&bad).build()).unwrap_err();
    assert!(matches!(err, InitError::Config(_)));
    let text = err.to_string();
    assert!(text.contains("bad.toml") && text.contains("invalid TOML"), "{text}");

    let good = dir.join("prices.json");
    std::fs::write(&good, r#"{"house-model": {"input": 1000, "output": 0}}"#).unwrap();
    let guard = init_with(config(&memory).prices_file(&good).build()).unwrap();
    futures::executor::block_on(call(
        "acme",
        "house-model-v2",
        Usage { input_tokens: 3, ..Default::default() },
    ));
    assert!(guard.flush());
    let spans = memory.get_finished_spans().unwrap();
    assert_eq!(attr(&spans[0], "gen_ai.usage.cost"), Some(&Value::F64(0.003)));
    drop(guard);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn redaction_patterns_from_the_builder_reach_every_exporter_and_bad_ones_fail_init() {
    let _serial = serial();
    let memory = InMemorySpanExporter::default();
    let err = init_with(config(&memory).redact_pattern("(open").build()).unwrap_err();
    assert!(err.to_string().contains("redaction pattern `(open`"), "{err}");

    let second = InMemorySpanExporter::default();
    let guard =
        init_with(config(&memory).with_span_exporter(second.clone()).redact_pattern(r"acct-\d{6}").build())
            .unwrap();
    trace!("billing", "billing.account" = "acct-123456 / ops@example.org", {});
    assert!(guard.flush());
    for exporter in [&memory, &second] {
        let spans = exporter.get_finished_spans().unwrap();
        assert_eq!(
            attr(&spans[0], "billing.account").unwrap().as_str(),
            "[REDACTED:custom] / [REDACTED:email]"
        );
    }
}

static EVALUATED: AtomicUsize = AtomicUsize::new(0);

fn history() -> Vec<Message> {
    EVALUATED.fetch_add(1, Ordering::Relaxed);
    vec![Message::system("Be brief."), Message::user("My key is sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx")]
}

fn reply(text: &str) -> Vec<Message> {
    vec![Message::assistant(text).finish_reason("stop")]
}

#[trace_llm(provider = "openai", model = "gpt-4o", input = history(), output = reply)]
fn chat() -> Result<String, String> {
    record_usage(Usage { input_tokens: 20, output_tokens: 4, reasoning_tokens: 1, ..Default::default() });
    Ok("Noted.".into())
}

#[test]
fn io_capture_off_evaluates_nothing_and_on_records_redacted_messages() {
    let _serial = serial();
    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).build()).unwrap();
    chat().unwrap();
    assert!(guard.flush());
    let spans = memory.get_finished_spans().unwrap();
    drop(guard);
    assert_eq!(attr(&spans[0], "gen_ai.input.messages"), None);
    assert_eq!(EVALUATED.load(Ordering::Relaxed), 0, "the input expression is not evaluated");

    let memory = InMemorySpanExporter::default();
    let guard = init_with(config(&memory).capture_io(true).semconv(Semconv::OpenInference).build()).unwrap();
    chat().unwrap();
    assert!(guard.flush());
    let spans = memory.get_finished_spans().unwrap();
    let s = &spans[0];
    assert!(s.attributes.iter().all(|kv| !kv.key.as_str().starts_with("gen_ai.")), "{:?}", s.attributes);
    let get = |k: &str| attr(s, k).map(|v| v.to_string()).unwrap_or_else(|| panic!("no {k}"));
    assert_eq!(get("openinference.span.kind"), "LLM");
    assert_eq!(get("llm.model_name"), "gpt-4o");
    assert_eq!(get("llm.provider"), "openai");
    assert_eq!((get("llm.token_count.prompt"), get("llm.token_count.completion")), ("20".into(), "4".into()));
    assert_eq!(get("llm.token_count.total"), "24");
    assert_eq!(get("llm.token_count.completion_details.reasoning"), "1");
    assert!(get("llm.cost.total").parse::<f64>().unwrap() > 0.0);
    assert_eq!(
        get("input.value"),
        r#"[{"role":"system","parts":[{"type":"text","content":"Be brief."}]},{"role":"user","parts":[{"type":"text","content":"My key is [REDACTED:anthropic_key]"}]}]"#
    );
    assert_eq!(get("llm.input_messages.1.message.content"), "My key is [REDACTED:anthropic_key]");
    assert_eq!(get("llm.output_messages.0.message.role"), "assistant");
    assert_eq!(
        get("output.value"),
        r#"[{"role":"assistant","parts":[{"type":"text","content":"Noted."}],"finish_reason":"stop"}]"#
    );
    drop(guard);
}

#[trace_llm(provider = "openai", model = "gpt-4o", input = prompt.as_str())]
async fn ask(prompt: String) -> String {
    // The body owns its argument: the input is taken before the body's future takes it.
    futures::future::ready(()).await;
    prompt.to_uppercase()
}

#[trace_runtime::trace_tool(name = "lookup")]
async fn lookup(city: String, days: u32) -> String {
    format!("{city}: sunny for {days} days")
}

#[test]
fn an_async_fn_records_its_input_and_tool_arguments_only_with_io_capture() {
    let _serial = serial();
    for capture in [false, true] {
        let memory = InMemorySpanExporter::default();
        let guard = init_with(config(&memory).capture_io(capture).build()).unwrap();
        let answer = futures::executor::block_on(async {
            trace!("turn", async { (ask("hi there".into()).await, lookup("Oslo".into(), 3).await) }).await
        });
        assert_eq!(answer, ("HI THERE".to_string(), "Oslo: sunny for 3 days".to_string()));
        assert!(guard.flush());
        let spans = memory.get_finished_spans().unwrap();
        drop(guard);
        let named =
            |name: &str| spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{spans:#?}"));
        let input = attr(named("chat gpt-4o"), "gen_ai.input.messages").map(|v| v.to_string());
        let arguments =
            attr(named("execute_tool lookup"), "gen_ai.tool.call.arguments").map(|v| v.to_string());
        if capture {
            assert_eq!(
                input.as_deref(),
                Some(r#"[{"role":"user","parts":[{"type":"text","content":"hi there"}]}]"#)
            );
            assert_eq!(arguments.as_deref(), Some(r#"{"city":"Oslo","days":3}"#));
        } else {
            assert_eq!((input, arguments), (None, None), "IO capture is off");
        }
    }
}

/// Runs the test named `name` of this binary in a child process with `CHILD` set; its stderr.
fn child_stderr(name: &str, envs: &[(&str, &str)]) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env("LLM_PIPELINE_CHILD", "1")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn summary_child() {
    if std::env::var_os("LLM_PIPELINE_CHILD").is_none() {
        return;
    }
    // Settings from the environment the parent chose; the stdout exporter prints to stdout.
    let guard = trace_runtime::init().unwrap();
    trace!("answer_question", {
        futures::executor::block_on(call(
            "openai",
            "gpt-4o-mini",
            Usage { input_tokens: 31, output_tokens: 27, ..Default::default() },
        ));
    });
    guard.shutdown().unwrap();
}

#[test]
fn the_summary_is_printed_to_stderr_with_the_stdout_exporter_unless_turned_off() {
    let _serial = serial();
    let stderr = child_stderr("summary_child", &[("TRACE_EXPORTER", "stdout")]);
    let table = stderr
        .lines()
        .skip_while(|l| !l.starts_with("╭─ Trace summary: answer_question"))
        .collect::<Vec<_>>();
    assert_eq!(table.len(), 6, "{stderr}");
    assert!(table[1].starts_with("│ spans 2 · duration "), "{stderr}");
    // 31 × $0.15 + 27 × $0.60 per million: exactly $0.00002085, shown with three significant
    // digits, rounded half up from that decimal (its binary neighbour, below it, gave $0.0000208).
    assert!(table[1].contains("· cost $0.0000209"), "{stderr}");
    assert_eq!(table[3], "│ gpt-4o-mini                1       31       27        0         0 $0.0000209 │");
    assert!(table.iter().all(|l| l.chars().count() == 80));

    let stderr = child_stderr("summary_child", &[("TRACE_EXPORTER", "stdout"), ("TRACE_SUMMARY", "false")]);
    assert!(!stderr.contains("Trace summary"), "{stderr}");
    let stderr = child_stderr("summary_child", &[("TRACE_EXPORTER", "none"), ("TRACE_SUMMARY", "true")]);
    assert!(stderr.contains("╭─ Trace summary: answer_question"), "{stderr}");
}
