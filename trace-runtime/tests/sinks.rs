//! Remote sinks against real HTTP servers on loopback: the exact payloads, retries, give-up,
//! Elasticsearch partial failures.

#![cfg(feature = "sinks")]

mod support {
    pub mod http_server;
}

use std::time::Duration;

use serde_json::Value as Json;
use support::http_server::{Reply, Server};
use trace_runtime::log::{self, Level, LogRecord, LogSink};
use trace_runtime::opentelemetry_sdk::trace::{SpanData, SpanExporter};
use trace_runtime::sinks::{
    CloudWatchConfig, DatadogConfig, ElasticsearchConfig, HttpSink, LokiConfig, RestConfig, Retry,
};
use trace_runtime::{span, testing, trace};

const FLUSH: Duration = Duration::from_secs(30);

/// Back-off short enough for tests, so a retry is not a wait.
fn fast(max_attempts: u32) -> Retry {
    Retry {
        max_attempts,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
    }
}

/// One span "stage" with an attribute, two `log` events (info in a run, an exception), and a
/// failed child span "load".
fn spans() -> Vec<SpanData> {
    let (_, spans) = testing::capture(|| {
        let _run = log::run("wf-1").parent("parent-0").enter();
        trace!("stage", "app.step" = 3, {
            log::info!("loaded {} rows", 12);
            trace!("load", {
                let err = std::fs::read("/no/such/file").unwrap_err();
                log::exception(&err);
                span::record_error(&err);
            });
        })
    });
    spans
}

fn export(sink: &HttpSink, spans: Vec<SpanData>) {
    futures::executor::block_on(sink.export(spans)).expect("the batch is queued");
    assert!(sink.flush(FLUSH), "the sink finished sending");
}

fn record(level: Level, message: &str, ms: u64) -> LogRecord {
    let mut r = LogRecord::new(level, message);
    r.time_unix_nano = ms * 1_000_000;
    r.datetime = String::new();
    r.run_id = Some("run-7".into());
    r
}

fn find<'a>(docs: &'a [Json], key: &str, value: &str) -> &'a Json {
    docs.iter()
        .find(|d| d[key] == value)
        .unwrap_or_else(|| panic!("no document with {key} = {value}: {docs:#?}"))
}

#[test]
fn rest_posts_spans_and_their_logs_as_a_json_array() {
    let server = Server::start(vec![]);
    let sink = RestConfig::new(format!("{}/ingest", server.url))
        .header("x-team", "voice")
        .bearer_token("tok-1")
        .service("agent")
        .retry(fast(3))
        .build()
        .unwrap();
    export(&sink, spans());

    let received = server.received();
    assert_eq!(received.len(), 1);
    let req = &received[0];
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/ingest"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("authorization"), Some("Bearer tok-1"));
    assert_eq!(req.header("x-team"), Some("voice"));
    let docs = req.json().as_array().cloned().unwrap();
    assert_eq!(docs.len(), 4, "two spans, two log entries: {docs:#?}");

    let stage = find(&docs, "name", "stage");
    assert_eq!(stage["type"], "span");
    assert_eq!(stage["service"], "agent");
    assert_eq!(stage["trace_id"].as_str().unwrap().len(), 32);
    assert_eq!(stage["span_id"].as_str().unwrap().len(), 16);
    assert_eq!(stage["parent_span_id"], Json::Null);
    assert_eq!(stage["kind"], "internal");
    assert_eq!(stage["status"], "unset");
    assert_eq!(stage["attributes"]["app.step"], 3);
    assert!(stage["duration_ms"].as_f64().unwrap() >= 0.0);
    assert!(stage["start_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(stage["events"], serde_json::json!([]), "log events become log entries, not span events");

    let load = find(&docs, "name", "load");
    assert_eq!(load["parent_span_id"], stage["span_id"]);
    assert_eq!(load["status"], "error");
    assert!(load["status_message"].as_str().unwrap().contains("No such file"));
    assert_eq!(load["events"][0]["name"], "exception");

    let info = find(&docs, "level", "info");
    assert_eq!(info["type"], "log");
    assert_eq!(info["message"], "loaded 12 rows");
    assert_eq!(info["run_id"], "wf-1");
    assert_eq!(info["parent_run_id"], "parent-0");
    assert_eq!(info["trace_id"], stage["trace_id"]);
    assert_eq!(info["span_id"], stage["span_id"]);
    assert!(info["file"].as_str().unwrap().ends_with("sinks.rs"));
    assert!(info["line"].as_u64().unwrap() > 0);
    assert_eq!(info["pid"], std::process::id());

    let exception = find(&docs, "level", "exception");
    assert_eq!(exception["span_id"], load["span_id"]);
    assert_eq!(exception["error_type"], "std::io::error::Error");
    assert!(exception["exception_message"].as_str().unwrap().contains("No such file"));
    assert_eq!(sink.stats().delivered, 4);
}

#[test]
fn retries_500_and_429_then_succeeds() {
    let server = Server::start(vec![Reply::status(500), Reply::status(429).with_header("retry-after", "0")]);
    let sink = RestConfig::new(&server.url).retry(fast(4)).build().unwrap();
    sink.write(&[record(Level::Info, "eventually", 1_000)]).unwrap();
    assert!(sink.flush(FLUSH));

    let received = server.received();
    assert_eq!(received.len(), 3, "two failures, then the success");
    assert!(received.iter().all(|r| r.body == received[0].body), "the same payload each time");
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.retries), (1, 0, 2));
}

#[test]
fn gives_up_after_max_attempts() {
    let server = Server::start((0..10).map(|_| Reply::status(503)).collect());
    let sink = RestConfig::new(&server.url).retry(fast(3)).build().unwrap();
    sink.write(&[record(Level::Error, "never", 1_000), record(Level::Info, "lands", 1_001)]).unwrap();
    assert!(sink.flush(FLUSH));

    assert_eq!(server.received().len(), 3);
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.retries), (0, 2, 2));
    let error = stats.last_error.unwrap();
    assert!(error.contains(&server.url) && error.contains("3 times") && error.contains("503"), "{error}");
}

#[test]
fn client_errors_other_than_429_are_not_retried() {
    let server = Server::start(vec![Reply::json(400, r#"{"error":"bad field"}"#)]);
    let sink = RestConfig::new(&server.url).retry(fast(5)).build().unwrap();
    sink.write(&[record(Level::Info, "rejected", 1_000)]).unwrap();
    assert!(sink.flush(FLUSH));

    assert_eq!(server.received().len(), 1);
    let stats = sink.stats();
    assert_eq!((stats.failed, stats.retries), (1, 0));
    assert!(stats.last_error.unwrap().contains("400"));
}

#[test]
fn datadog_entries_carry_source_tags_host_service_status_and_message() {
    let server = Server::start(vec![Reply::json(202, "{}")]);
    let sink = DatadogConfig::new("dd-key-1")
        .url(format!("{}/api/v2/logs", server.url))
        .tags("env:test,team:voice")
        .hostname("host-a")
        .service("agent")
        .retry(fast(2))
        .build()
        .unwrap();
    export(&sink, spans());

    let req = &server.received()[0];
    assert_eq!(req.path, "/api/v2/logs");
    assert_eq!(req.header("dd-api-key"), Some("dd-key-1"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let entries = req.json().as_array().cloned().unwrap();
    assert_eq!(entries.len(), 4);
    for entry in &entries {
        assert_eq!(entry["ddsource"], "trace-runtime");
        assert_eq!(entry["ddtags"], "env:test,team:voice");
        assert_eq!(entry["hostname"], "host-a");
        assert_eq!(entry["service"], "agent");
        assert!(entry["date"].as_u64().unwrap() > 1_600_000_000_000, "ms since the epoch");
    }
    let info = find(&entries, "message", "loaded 12 rows");
    assert_eq!(info["status"], "info");
    assert_eq!(info["run_id"], "wf-1");
    assert_eq!(find(&entries, "message", "load")["status"], "error", "a failed span");
    assert_eq!(find(&entries, "message", "stage")["status"], "info");
    assert_eq!(find(&entries, "message", "stage")["span_status"], "unset");
    assert!(entries.iter().any(|e| e["status"] == "critical"), "an exception record");
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn datadog_maps_warning_to_warn() {
    let server = Server::start(vec![]);
    let sink = DatadogConfig::new("k").url(&server.url).retry(fast(1)).build().unwrap();
    let now = now_ms();
    sink.write(&[record(Level::Warning, "careful", now - 5), record(Level::Debug, "detail", now - 6)])
        .unwrap();
    assert!(sink.flush(FLUSH));
    let entries = server.received()[0].json();
    assert_eq!(entries[0]["status"], "warn");
    assert_eq!(entries[1]["status"], "debug");
    assert_eq!(entries[0]["date"], now - 5);
}

#[test]
fn datadog_does_not_send_records_past_its_18_hour_window_and_counts_them() {
    let server = Server::start(vec![]);
    let sink = DatadogConfig::new("k").url(&server.url).retry(fast(1)).build().unwrap();
    let now = now_ms();
    let hour = 3_600_000;
    sink.write(&[
        record(Level::Info, "fresh", now - hour),
        record(Level::Info, "stale", now - 19 * hour),
        record(Level::Info, "ancient", 5),
    ])
    .unwrap();
    assert!(sink.flush(FLUSH));
    let entries = server.received()[0].json();
    assert_eq!(entries.as_array().unwrap().len(), 1);
    assert_eq!(entries[0]["message"], "fresh");
    let stats = sink.stats();
    assert_eq!(stats.failed, 2, "counted, not lost unseen");
    assert!(stats.last_error.unwrap().contains("more than 18 hours old"));
}

#[test]
fn loki_pushes_labelled_streams_of_nanosecond_values() {
    let server = Server::start(vec![Reply::json(204, "")]);
    let sink = LokiConfig::new(&server.url)
        .label("env", "test")
        .tenant("team-a")
        .basic_auth("user", "pass")
        .service("agent")
        .retry(fast(2))
        .build()
        .unwrap();
    sink.write(&[
        record(Level::Info, "second", 2_000),
        record(Level::Error, "failed", 1_500),
        record(Level::Info, "first", 1_000),
    ])
    .unwrap();
    assert!(sink.flush(FLUSH));

    let req = &server.received()[0];
    assert_eq!(req.path, "/loki/api/v1/push");
    assert_eq!(req.header("x-scope-orgid"), Some("team-a"));
    assert_eq!(req.header("authorization"), Some("Basic dXNlcjpwYXNz"));
    let streams = req.json()["streams"].as_array().cloned().unwrap();
    assert_eq!(streams.len(), 2, "one stream per level: {streams:#?}");
    let info = streams.iter().find(|s| s["stream"]["level"] == "info").unwrap();
    assert_eq!(
        info["stream"],
        serde_json::json!({"env": "test", "level": "info", "service_name": "agent", "type": "log"})
    );
    let values = info["values"].as_array().unwrap();
    assert_eq!(values[0][0], "1000000000", "nanoseconds as a string, oldest first");
    assert_eq!(values[1][0], "2000000000");
    let line: Json = serde_json::from_str(values[0][1].as_str().unwrap()).unwrap();
    assert_eq!((line["message"].as_str(), line["run_id"].as_str()), (Some("first"), Some("run-7")));
    let error = streams.iter().find(|s| s["stream"]["level"] == "error").unwrap();
    assert_eq!(error["values"].as_array().unwrap().len(), 1);
    assert_eq!(sink.stats().delivered, 3);
}

#[test]
fn cloudwatch_sends_put_log_events_sorted_by_timestamp() {
    let server = Server::start(vec![Reply::json(200, r#"{"nextSequenceToken":"1"}"#)]);
    let sink = CloudWatchConfig::new(&server.url, "/voice/agent", "host-1").retry(fast(2)).build().unwrap();
    sink.write(&[record(Level::Info, "late", 3_000), record(Level::Warning, "early", 1_000)]).unwrap();
    assert!(sink.flush(FLUSH));

    let req = &server.received()[0];
    assert_eq!(req.path, "/");
    assert_eq!(req.header("x-amz-target"), Some("Logs_20140328.PutLogEvents"));
    assert_eq!(req.header("content-type"), Some("application/x-amz-json-1.1"));
    let body = req.json();
    assert_eq!(body["logGroupName"], "/voice/agent");
    assert_eq!(body["logStreamName"], "host-1");
    let events = body["logEvents"].as_array().unwrap();
    assert_eq!(events[0]["timestamp"], 1_000);
    assert_eq!(events[1]["timestamp"], 3_000);
    let message: Json = serde_json::from_str(events[0]["message"].as_str().unwrap()).unwrap();
    assert_eq!((message["level"].as_str(), message["message"].as_str()), (Some("warning"), Some("early")));
    assert_eq!(body.as_object().unwrap().len(), 3, "only the three PutLogEvents fields");
}

#[test]
fn cloudwatch_throttling_is_retried_though_it_is_a_400() {
    let throttled = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
    let server =
        Server::start(vec![Reply::json(400, throttled), Reply::json(200, r#"{"nextSequenceToken":"1"}"#)]);
    let sink = CloudWatchConfig::new(&server.url, "/voice/agent", "host-1").retry(fast(3)).build().unwrap();
    sink.write(&[record(Level::Info, "throttled once", 1_000)]).unwrap();
    assert!(sink.flush(FLUSH));
    assert_eq!(server.received().len(), 2);
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, stats.retries), (1, 0, 1));
}

#[test]
fn cloudwatch_signs_with_sigv4_when_given_credentials() {
    let server = Server::start(vec![]);
    let sink = CloudWatchConfig::new(&server.url, "/voice/agent", "host-1")
        .region("eu-west-1")
        .aws_credentials("AKIDEXAMPLE", "secret")
        .session_token("session-1")
        .retry(fast(1))
        .build()
        .unwrap();
    sink.write(&[record(Level::Info, "signed", 1_000)]).unwrap();
    assert!(sink.flush(FLUSH));

    let req = &server.received()[0];
    let date = req.header("x-amz-date").unwrap();
    assert_eq!((date.len(), &date[8..9], &date[15..]), (16, "T", "Z"), "{date}");
    assert_eq!(req.header("x-amz-security-token"), Some("session-1"));
    let auth = req.header("authorization").unwrap();
    let prefix =
        format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/eu-west-1/logs/aws4_request, ", &date[..8]);
    assert!(auth.starts_with(&prefix), "{auth}");
    assert!(
        auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "),
        "{auth}"
    );
    let signature = auth.rsplit("Signature=").next().unwrap();
    assert_eq!(signature.len(), 64);
    assert!(signature.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(sink.stats().delivered, 1);
}

#[test]
fn elasticsearch_bulk_retries_only_failed_items_and_counts_permanent_failures() {
    let partial = r#"{"errors":true,"items":[
        {"create":{"_index":"x","status":201}},
        {"create":{"_index":"x","status":429,"error":{"type":"es_rejected_execution_exception"}}},
        {"create":{"_index":"x","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}}]}"#;
    let server = Server::start(vec![
        Reply::json(200, partial),
        Reply::json(200, r#"{"errors":false,"items":[{"create":{"status":201}}]}"#),
    ]);
    let sink = ElasticsearchConfig::new(&server.url)
        .index("voice-{date}")
        .basic_auth("elastic", "changeme")
        .retry(fast(3))
        .build()
        .unwrap();
    // 2024-12-01T14:30:22Z, in ms.
    let t = 1_733_063_422_000;
    sink.write(&[
        record(Level::Info, "ok", t),
        record(Level::Info, "busy", t + 1),
        record(Level::Error, "bad", t + 2),
    ])
    .unwrap();
    assert!(sink.flush(FLUSH));

    let received = server.received();
    assert_eq!(received.len(), 2);
    let first = &received[0];
    assert_eq!(first.path, "/_bulk");
    assert_eq!(first.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(first.header("authorization"), Some("Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="));
    assert!(first.body.ends_with('\n'), "NDJSON ends with a newline");
    let lines: Vec<Json> = first.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 6, "an action line and a document line per record");
    assert_eq!(lines[0]["create"]["_index"], "voice-2024.12.01");
    let id = |line: &Json| line["create"]["_id"].as_str().unwrap().to_string();
    assert!(
        id(&lines[0]).len() == 32 && id(&lines[0]).chars().all(|c| c.is_ascii_hexdigit()),
        "{}",
        lines[0]
    );
    assert_ne!(id(&lines[0]), id(&lines[2]), "an id per document");
    assert_eq!(lines[1]["message"], "ok");
    assert_eq!(lines[1]["@timestamp"], "2024-12-01T14:30:22.000000Z");
    assert_eq!(lines[1]["type"], "log");
    assert_eq!(lines[3]["message"], "busy");

    let retried: Vec<Json> = received[1].body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(retried.len(), 2, "only the item that got 429 is sent again");
    assert_eq!(retried[1]["message"], "busy");
    assert_eq!(id(&retried[0]), id(&lines[2]), "a retried document keeps its id");

    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed), (2, 1));
    assert!(stats.last_error.unwrap().contains("mapper_parsing_exception"));
}

#[test]
fn elasticsearch_sends_a_batch_at_most_max_attempts_times_and_a_409_is_already_stored() {
    // Request failures and item failures alternate: one request per attempt, not the request's
    // retries inside the items' retries (which sent 6 here).
    let busy = r#"{"errors":true,"items":[{"create":{"status":429,"error":{"type":"es_rejected_execution_exception"}}}]}"#;
    let server = Server::start(
        (0..10).map(|i| if i % 2 == 0 { Reply::status(503) } else { Reply::json(200, busy) }).collect(),
    );
    let sink = ElasticsearchConfig::new(&server.url).retry(fast(3)).build().unwrap();
    sink.write(&[record(Level::Info, "down", 1_000)]).unwrap();
    assert!(sink.flush(FLUSH));
    assert_eq!(server.received().len(), 3);
    assert_eq!(sink.stats().failed, 1);

    // An earlier attempt was applied but its answer lost: the retry is refused per item, stored.
    let conflict = r#"{"errors":true,"items":[{"create":{"status":409,"error":{"type":"version_conflict_engine_exception"}}}]}"#;
    let server = Server::start(vec![Reply::json(200, conflict)]);
    let sink = ElasticsearchConfig::new(&server.url).retry(fast(3)).build().unwrap();
    sink.write(&[record(Level::Info, "twice", 1_000)]).unwrap();
    assert!(sink.flush(FLUSH));
    let stats = sink.stats();
    assert_eq!((stats.delivered, stats.failed, server.received().len()), (1, 0, 1));
}

#[test]
fn elasticsearch_api_key_auth_and_default_index() {
    let server =
        Server::start(vec![Reply::json(200, r#"{"errors":false,"items":[{"create":{"status":201}}]}"#)]);
    let sink = ElasticsearchConfig::new(format!("{}/", server.url))
        .api_key("aWQ6a2V5")
        .retry(fast(1))
        .build()
        .unwrap();
    sink.write(&[record(Level::Info, "x", 0)]).unwrap();
    assert!(sink.flush(FLUSH));
    let req = &server.received()[0];
    assert_eq!(req.path, "/_bulk");
    assert_eq!(req.header("authorization"), Some("ApiKey aWQ6a2V5"));
    let action: Json = serde_json::from_str(req.body.lines().next().unwrap()).unwrap();
    assert_eq!(action["create"]["_index"], "trace-runtime-1970.01.01");
}

#[test]
fn bad_settings_name_the_setting() {
    let err = ElasticsearchConfig::new("http://127.0.0.1:1").index("a b").build().unwrap_err();
    assert!(err.to_string().contains("TRACE_ELASTICSEARCH_INDEX") && err.to_string().contains("a b"));
    let err =
        CloudWatchConfig::new("http://127.0.0.1:1", "g", "s").aws_credentials("a", "b").build().unwrap_err();
    assert!(err.to_string().contains("AWS_REGION"), "{err}");
    let err = LokiConfig::new("not a url").build().unwrap_err();
    assert!(err.to_string().contains("not a url"));
}

#[test]
fn batches_are_split_at_the_services_limits() {
    let server = Server::start(vec![]);
    let datadog = DatadogConfig::new("k").url(&server.url).retry(fast(1)).build().unwrap();
    let now = now_ms();
    let records: Vec<_> = (0..1001).map(|i| record(Level::Info, "many", now - i)).collect();
    datadog.write(&records).unwrap();
    assert!(datadog.flush(FLUSH));
    let sizes: Vec<_> = server.received().iter().map(|r| r.json().as_array().unwrap().len()).collect();
    assert_eq!(sizes, [1000, 1], "at most 1000 entries per intake request");

    let server = Server::start(vec![]);
    let cloudwatch = CloudWatchConfig::new(&server.url, "g", "s").retry(fast(1)).build().unwrap();
    let records: Vec<_> = (0..10_001).map(|i| record(Level::Info, "many", 10_001 - i)).collect();
    cloudwatch.write(&records).unwrap();
    assert!(cloudwatch.flush(FLUSH));
    let batches: Vec<Json> = server.received().iter().map(|r| r.json()).collect();
    let events: Vec<&Json> = batches.iter().flat_map(|b| b["logEvents"].as_array().unwrap()).collect();
    assert_eq!(events.len(), 10_001);
    assert!(batches.len() > 1);
    for batch in &batches {
        let events = batch["logEvents"].as_array().unwrap();
        let bytes: usize = events.iter().map(|e| e["message"].as_str().unwrap().len() + 26).sum();
        assert!(events.len() <= 10_000 && bytes <= 1_048_576, "{} events, {bytes} bytes", events.len());
    }
    let times: Vec<u64> = events.iter().map(|e| e["timestamp"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "sorted across the whole batch");
}

#[test]
fn a_hung_service_never_blocks_the_caller_and_a_full_queue_drops_and_counts() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let retry = Retry { timeout: Duration::from_secs(120), ..fast(1) };
    let sink = RestConfig::new(url).retry(retry).build().unwrap();
    // The sender thread is stuck on the first request; the queue holds 256 batches.
    for i in 0..300 {
        sink.write(&[record(Level::Info, "waiting", i)]).ok();
    }
    futures::executor::block_on(sink.export(spans())).ok();
    let stats = sink.stats();
    assert!(stats.dropped >= 300 - 257, "dropped: {}", stats.dropped);
    assert_eq!(stats.delivered, 0);
    // With the queue full, a flush waits its timeout and no longer, and holds nothing that keeps
    // the application from handing the sink more (it used to wait for a free slot, 120 s here,
    // holding the lock every write takes).
    let flusher = {
        let sink = sink.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            (sink.flush(Duration::from_millis(300)), started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let started = std::time::Instant::now();
    assert!(sink.write(&[record(Level::Info, "still accepted or dropped", 0)]).is_err(), "the queue is full");
    assert!(started.elapsed() < Duration::from_millis(200), "a write waited {:?}", started.elapsed());
    let (flushed, took) = flusher.join().unwrap();
    assert!(!flushed, "nothing was sent");
    assert!(took < Duration::from_secs(3), "the flush took {took:?}");
}
