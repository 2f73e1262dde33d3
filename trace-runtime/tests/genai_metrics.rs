//! GenAI and voice-turn metrics through `with_metric_exporter`, read back from the SDK's
//! in-memory exporter: every pinned name, unit, attribute and bucket list, the token sums, the
//! `error.type` of a failure, one count per call whichever API traced it, and turns interrupted
//! apart from normal ones.
//!
//! One `init` per process: the whole story is one test.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::metrics::InMemoryMetricExporter;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, HistogramDataPoint, MetricData, ResourceMetrics};
use trace_runtime::realtime::{Milestone, Turn};
use trace_runtime::{
    Config, Usage, config::Exporter, span, stream::trace_llm_stream, trace, trace_llm, trace_tool,
};

#[derive(Debug)]
struct RateLimited;

impl std::fmt::Display for RateLimited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("429 too many requests")
    }
}

impl std::error::Error for RateLimited {}

#[trace_llm(provider = "openai", model = "gpt-4o-mini")]
fn ask(input: u64, output: u64) {
    span::record_usage(Usage { input_tokens: input, output_tokens: output, ..Default::default() });
}

#[trace_llm(provider = "anthropic", model = "claude-sonnet-4")]
fn refused() -> Result<(), RateLimited> {
    Err(RateLimited)
}

#[trace_tool(name = "lookup")]
fn lookup() -> u32 {
    7
}

/// Each point of histogram `name`: its attributes (sorted), count, sum, bounds, bucket counts.
#[derive(Debug)]
struct Point {
    attributes: BTreeMap<String, String>,
    count: u64,
    sum: f64,
    bounds: Vec<f64>,
}

fn point(p: &HistogramDataPoint<f64>) -> Point {
    Point {
        attributes: p.attributes().map(|kv| (kv.key.to_string(), kv.value.to_string())).collect(),
        count: p.count(),
        sum: p.sum(),
        bounds: p.bounds().collect(),
    }
}

fn histogram(exported: &[ResourceMetrics], name: &str) -> (String, Vec<Point>) {
    // Cumulative: the last export holds every point.
    let last = exported.last().expect("something was exported");
    let metric = last
        .scope_metrics()
        .flat_map(|s| s.metrics())
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no metric {name}"));
    let points = match metric.data() {
        AggregatedMetrics::F64(MetricData::Histogram(h)) => h.data_points().map(point).collect(),
        AggregatedMetrics::U64(MetricData::Histogram(h)) => h.data_points().map(point_u64).collect(),
        other => panic!("{name} is not a histogram: {other:?}"),
    };
    (metric.unit().to_string(), points)
}

fn point_u64(p: &HistogramDataPoint<u64>) -> Point {
    Point {
        attributes: p.attributes().map(|kv| (kv.key.to_string(), kv.value.to_string())).collect(),
        count: p.count(),
        sum: p.sum() as f64,
        bounds: p.bounds().collect(),
    }
}

fn find<'a>(points: &'a [Point], pairs: &[(&str, &str)]) -> Vec<&'a Point> {
    points
        .iter()
        .filter(|p| pairs.iter().all(|(k, v)| p.attributes.get(*k).map(String::as_str) == Some(*v)))
        .collect()
}

#[tokio::test]
async fn genai_and_turn_metrics_reach_a_push_exporter_with_the_pinned_names_units_attributes_and_buckets() {
    let memory = InMemoryMetricExporter::default();
    let guard = trace_runtime::init_with(
        Config::builder()
            .exporter(Exporter::None)
            .with_metric_exporter(memory.clone())
            .metric_export_interval(Duration::from_secs(3600))
            .build(),
    )
    .expect("init");

    // Three calls to one model, one to another that fails, a tool, a stream and an API span.
    trace!("request", {
        ask(10, 100);
        ask(20, 200);
        ask(1_000, 3);
        let _ = refused();
        lookup();
    });
    let chunks = futures::stream::iter([
        Some(Usage { input_tokens: 5, output_tokens: 1, ..Default::default() }),
        None,
    ]);
    use futures::StreamExt as _;
    let streamed: Vec<_> =
        trace_llm_stream("openai", "gpt-4o", chunks, |c: &Option<Usage>| *c).collect().await;
    assert_eq!(streamed.len(), 2);
    let tracer = opentelemetry::global::tracer_provider().tracer("bridge");
    let mut api = tracer.start("chat gpt-4.1");
    api.set_attribute(KeyValue::new("gen_ai.operation.name", "chat"));
    api.set_attribute(KeyValue::new("gen_ai.provider.name", "openai"));
    api.set_attribute(KeyValue::new("gen_ai.request.model", "gpt-4.1"));
    api.end();

    // Two voice turns: one normal, one interrupted mid-reply.
    for interrupted in [false, true] {
        trace!("voice.turn", {
            let turn = Turn::start();
            let end = Instant::now();
            turn.mark_at(Milestone::SpeechEnded, end);
            turn.mark_at(Milestone::EndOfUtterance, end + Duration::from_millis(200));
            turn.mark_at(Milestone::FinalTranscript, end + Duration::from_millis(150));
            turn.mark_at(Milestone::LlmFirstToken, end + Duration::from_millis(600));
            turn.mark_at(Milestone::TtsFirstByte, end + Duration::from_millis(700));
            turn.mark_at(Milestone::FirstAudioOut, end + Duration::from_millis(720));
            if interrupted {
                turn.interrupt();
            }
        });
    }

    guard.shutdown().expect("clean shutdown exports the last metrics");
    let exported = memory.get_finished_metrics().expect("metrics");

    let (unit, tokens) = histogram(&exported, "gen_ai.client.token.usage");
    assert_eq!(unit, "{token}");
    let mini = [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.request.model", "gpt-4o-mini"),
    ];
    let input = find(&tokens, &[mini.as_slice(), &[("gen_ai.token.type", "input")]].concat());
    let output = find(&tokens, &[mini.as_slice(), &[("gen_ai.token.type", "output")]].concat());
    assert_eq!((input.len(), output.len()), (1, 1), "one point per token type: {tokens:#?}");
    assert_eq!((input[0].count, input[0].sum), (3, 1_030.0), "one data point per call");
    assert_eq!((output[0].count, output[0].sum), (3, 303.0));
    assert_eq!(
        input[0].bounds,
        [
            1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
            16777216.0, 67108864.0
        ]
    );
    let streamed = find(&tokens, &[("gen_ai.request.model", "gpt-4o"), ("gen_ai.token.type", "input")]);
    assert_eq!((streamed.len(), streamed.first().map(|p| p.sum)), (1, Some(5.0)), "the stream's usage");

    let (unit, durations) = histogram(&exported, "gen_ai.client.operation.duration");
    assert_eq!(unit, "s");
    assert_eq!(find(&durations, &mini).iter().map(|p| p.count).sum::<u64>(), 3);
    assert!(
        find(&durations, &mini).iter().all(|p| !p.attributes.contains_key("error.type")),
        "{durations:#?}"
    );
    let failed = find(&durations, &[("gen_ai.request.model", "claude-sonnet-4")]);
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].attributes.get("error.type").map(String::as_str),
        Some("genai_metrics::RateLimited"),
        "the span's error.type"
    );
    assert_eq!(failed[0].attributes.get("gen_ai.provider.name").map(String::as_str), Some("anthropic"));
    assert_eq!(
        failed[0].bounds,
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
    );
    let tool = find(&durations, &[("gen_ai.operation.name", "execute_tool")]);
    assert_eq!(tool.iter().map(|p| p.count).sum::<u64>(), 1, "tools are timed too");
    let bridged = find(&durations, &[("gen_ai.request.model", "gpt-4.1")]);
    assert_eq!(bridged.iter().map(|p| p.count).sum::<u64>(), 1, "an OpenTelemetry API span is counted once");

    let (unit, first) = histogram(&exported, "gen_ai.client.operation.time_to_first_chunk");
    assert_eq!(unit, "s");
    assert_eq!(find(&first, &[("gen_ai.request.model", "gpt-4o")]).iter().map(|p| p.count).sum::<u64>(), 1);

    let (unit, latency) = histogram(&exported, "voice.turn.latency");
    assert_eq!(unit, "s");
    let normal = find(&latency, &[("voice.turn.interrupted", "false")]);
    let cut = find(&latency, &[("voice.turn.interrupted", "true")]);
    assert_eq!((normal.len(), cut.len()), (1, 1), "an interrupted turn is never reported as a normal one");
    assert_eq!(normal[0].count, 1);
    assert!((normal[0].sum - 0.72).abs() < 1e-9, "{}", normal[0].sum);
    let (_, ttft) = histogram(&exported, "voice.turn.llm_ttft");
    assert!((find(&ttft, &[("voice.turn.interrupted", "false")])[0].sum - 0.4).abs() < 1e-9);
    for stage in [
        "voice.turn.end_of_utterance_delay",
        "voice.turn.transcription_delay",
        "voice.turn.tts_ttfb",
        "voice.turn.audio_out_delay",
    ] {
        let (unit, points) = histogram(&exported, stage);
        assert_eq!((unit.as_str(), points.iter().map(|p| p.count).sum::<u64>()), ("s", 2), "{stage}");
    }
}
