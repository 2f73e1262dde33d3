//! The local JSON store: the files on disk field by field, atomic and concurrent writes, the
//! storage API, corrupt files and an unwritable directory.
#![cfg(feature = "file-store")]

mod store_common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry_sdk::trace::SpanExporter;
use serde_json::{Value, json};
use store_common::{export, files, resource, sample_trace, sample_trace_cost, scratch, trace_of};
use trace_runtime::store::{FileExporter, LocalStore, StoreError, format_rfc3339};

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_trace_file_has_the_reference_format_field_by_field() {
    let dir = scratch("format");
    let mut exporter = FileExporter::builder().dir(&dir).span_files(false).build().unwrap();
    exporter.set_resource(&resource("my-agent"));
    let spans = sample_trace();
    let trace_id = spans[0].span_context.trace_id().to_string();
    export(&exporter, spans);

    let names = files(&dir, "trace_");
    assert_eq!(names.len(), 1, "{names:?}");
    let file = read(&dir.join(&names[0]));
    assert_eq!(keys(&file), ["data", "storage_type", "timestamp", "trace_id"]);
    assert_eq!(file["trace_id"], json!(trace_id));
    assert_eq!(file["storage_type"], "local");
    let timestamp = file["timestamp"].as_str().unwrap();
    assert_eq!(timestamp.len(), "2024-12-01T14:30:22.123456".len(), "{timestamp}");
    assert!(!timestamp.ends_with('Z'));

    let data = &file["data"];
    assert_eq!(
        keys(data),
        [
            "created_at",
            "customer_id",
            "duration",
            "evaluation_id",
            "evaluation_runs",
            "is_evaluation",
            "metadata",
            "name",
            "offline_mode",
            "parent_name",
            "parent_trace_id",
            "project_name",
            "tags",
            "trace_id",
            "trace_spans",
            "update_id",
        ]
    );
    assert_eq!(data["trace_id"], json!(trace_id));
    assert_eq!(data["name"], "answer_question");
    assert_eq!(data["project_name"], "my-agent");
    assert_eq!(data["metadata"]["service.name"], "my-agent");
    let created_at = data["created_at"].as_str().unwrap();
    assert!(created_at.ends_with('Z') && created_at.len() == "2024-12-01T14:30:22.123456Z".len());
    assert!(data["duration"].as_f64().unwrap() >= 0.0);
    assert_eq!(data["evaluation_runs"], json!([]));
    assert_eq!(data["offline_mode"], true);
    for null in ["parent_trace_id", "parent_name", "customer_id", "evaluation_id"] {
        assert_eq!(data[null], Value::Null, "{null}");
    }
    assert_eq!(data["tags"], json!([]));
    assert_eq!(data["update_id"], 1);
    assert_eq!(data["is_evaluation"], false);

    // trace_YYYYMMDD_HHMMSS_{first 8 of the trace id}.json, the time being created_at's.
    let stamp: String = created_at[..19].chars().filter(char::is_ascii_digit).collect();
    assert_eq!(names[0], format!("trace_{}_{}_{}.json", &stamp[..8], &stamp[8..], &trace_id[..8]));

    let spans = data["trace_spans"].as_array().unwrap();
    assert_eq!(spans.len(), 5);
    let starts: Vec<&str> = spans.iter().map(|s| s["start_time"].as_str().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "by start time");
    let root = &spans[0];
    assert_eq!(root["name"], "answer_question");
    assert_eq!(root["parent_span_id"], Value::Null);
    assert_eq!(root["attributes"]["session.id"], "s-1");
    let llm = spans.iter().find(|s| s["usage"]["cost"].is_number()).unwrap();
    assert_eq!(
        keys(llm),
        [
            "attributes",
            "dropped_attributes_count",
            "dropped_events_count",
            "duration",
            "end_time",
            "events",
            "kind",
            "name",
            "parent_is_remote",
            "parent_span_id",
            "span_id",
            "start_time",
            "status",
            "status_message",
            "trace_id",
            "usage",
        ]
    );
    assert_eq!(llm["trace_id"], json!(trace_id));
    assert_eq!(llm["span_id"].as_str().unwrap().len(), 16);
    assert_eq!(llm["parent_span_id"], root["span_id"]);
    assert_eq!(llm["parent_is_remote"], false);
    assert_eq!(llm["name"], "chat gpt-4o-mini");
    assert_eq!(llm["kind"], "client");
    assert!(llm["end_time"].as_str().unwrap() >= llm["start_time"].as_str().unwrap());
    assert!(llm["duration"].as_f64().unwrap() >= 0.0);
    assert_eq!(llm["status"], "unset");
    assert_eq!(llm["status_message"], Value::Null);
    assert_eq!(llm["attributes"]["gen_ai.request.model"], "gpt-4o-mini");
    assert_eq!(
        llm["usage"],
        json!({"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 31, "output_tokens": 27,
               "cache_read_tokens": 4, "cache_write_tokens": 0, "reasoning_tokens": 0, "total_tokens": 58,
               "cost": 0.000021})
    );
    let failed = spans.iter().find(|s| s["name"] == "chat claude-haiku").unwrap();
    assert_eq!(failed["status"], "error");
    assert_eq!(failed["status_message"], "rate limited");
    assert_eq!(failed["usage"]["cost"], Value::Null, "unpriced is null, never 0");
    let tool = spans.iter().find(|s| s["name"] == "run_tool").unwrap();
    assert_eq!(tool["usage"], Value::Null);
    let event = &tool["events"][0];
    assert_eq!(keys(event), ["attributes", "name", "time"]);
    assert_eq!(event["name"], "log");
    assert_eq!(event["attributes"]["log.message"], "tool is slow");
    assert_eq!(event["attributes"]["code.line.number"], 42);

    let saved = exporter.saved_trace(opentelemetry::trace::TraceId::from_hex(&trace_id).unwrap()).unwrap();
    assert_eq!(saved.path, dir.canonicalize().unwrap().join(&names[0]));
    assert_eq!(saved.url, format!("file://{}", saved.path.display()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_span_gets_its_own_file_even_when_ids_share_their_first_8_characters() {
    let dir = scratch("span-files");
    let exporter = FileExporter::new(&dir).unwrap();
    let spans = trace_of("job", 6);
    let ids: Vec<String> = spans.iter().map(|s| s.span_context.span_id().to_string()).collect();
    export(&exporter, spans);
    let names = files(&dir, "span_");
    assert_eq!(names.len(), 6, "{names:?}");
    for id in &ids {
        let name = names
            .iter()
            .find(|n| n.ends_with(&format!("_{}.json", &id[..8])) || n.ends_with(&format!("_{id}.json")));
        let file = read(&dir.join(name.unwrap()));
        if file["span_id"] != json!(id) {
            continue; // the short name belongs to the sibling that got there first
        }
        assert_eq!(keys(&file), ["data", "span_id", "storage_type", "timestamp", "trace_id"]);
        assert_eq!(file["storage_type"], "local");
        assert_eq!(file["data"]["span_id"], json!(id));
    }
    let mut seen: Vec<String> =
        names.iter().map(|n| read(&dir.join(n))["span_id"].as_str().unwrap().to_string()).collect();
    seen.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected, "no span file replaced another");
    let first = read(&dir.join(&names[0]));
    let stamp: String =
        first["data"]["start_time"].as_str().unwrap()[..19].chars().filter(char::is_ascii_digit).collect();
    assert!(names[0].starts_with(&format!("span_{}_{}_", &stamp[..8], &stamp[8..])), "{}", names[0]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn files_and_the_directory_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("perms").join("nested");
    let exporter = FileExporter::new(&dir).unwrap();
    export(&exporter, trace_of("job", 2));
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    for name in files(&dir, "") {
        let mode = std::fs::metadata(dir.join(&name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn spans_arriving_after_their_trace_was_written_are_merged_into_its_file() {
    let dir = scratch("merge");
    let exporter = FileExporter::builder().dir(&dir).span_files(false).build().unwrap();
    let mut spans = trace_of("job", 3);
    let root_index = spans.iter().position(|s| s.name == "job").unwrap();
    let root = spans.remove(root_index);
    let late = spans.pop().unwrap();
    spans.push(root);
    export(&exporter, spans);
    let names = files(&dir, "trace_");
    assert_eq!(read(&dir.join(&names[0]))["data"]["trace_spans"].as_array().unwrap().len(), 2);
    export(&exporter, vec![late]);
    assert_eq!(files(&dir, "trace_"), names, "same file");
    let file = read(&dir.join(&names[0]));
    assert_eq!(file["data"]["trace_spans"].as_array().unwrap().len(), 3);
    assert_eq!(file["data"]["update_id"], 2);
    assert_eq!(file["data"]["name"], "job");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn traces_without_their_root_wait_boundedly_and_are_written_at_flush_and_shutdown() {
    let dir = scratch("bounded");
    let exporter = FileExporter::builder().dir(&dir).span_files(false).max_buffered_spans(4).build().unwrap();
    let children =
        |n: usize| trace_of("root", n + 1).into_iter().filter(|s| s.name == "step").collect::<Vec<_>>();
    export(&exporter, children(3));
    assert!(files(&dir, "trace_").is_empty(), "waiting for the root");
    export(&exporter, children(3));
    assert_eq!(files(&dir, "trace_").len(), 1, "past 4 buffered spans, the oldest trace is written");
    export(&exporter, children(2));
    exporter.force_flush().unwrap();
    assert_eq!(files(&dir, "trace_").len(), 3);
    export(&exporter, children(2));
    exporter.shutdown().unwrap();
    assert_eq!(files(&dir, "trace_").len(), 4);
    let listing = LocalStore::new(&dir).list().unwrap();
    assert!(listing.traces.iter().all(|t| t.name == "step"), "named after the earliest span");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_write_keeps_the_trace_for_the_next_flush() {
    let dir = scratch("retry");
    let exporter = FileExporter::builder().dir(&dir).span_files(false).build().unwrap();
    // The directory is gone for a moment (a file stands in its place: writes fail even as root).
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    let failed = futures::executor::block_on(exporter.export(trace_of("job", 3)));
    let err = failed.unwrap_err().to_string();
    assert!(err.contains(&exporter.dir().display().to_string()), "names the directory: {err}");
    std::fs::remove_file(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    exporter.force_flush().unwrap();
    let listing = LocalStore::new(&dir).list().unwrap();
    assert_eq!(listing.traces.len(), 1, "the trace was kept and written on flush");
    assert_eq!((listing.traces[0].name.as_str(), listing.traces[0].span_count), ("job", 3));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_trace_written_before_its_root_is_completed_in_the_same_file() {
    let dir = scratch("early");
    let exporter = FileExporter::builder().dir(&dir).span_files(false).build().unwrap();
    let mut spans = trace_of("connection", 4);
    let root = spans.remove(spans.iter().position(|s| s.name == "connection").unwrap());
    let third = spans.pop().unwrap();
    export(&exporter, spans);
    exporter.force_flush().unwrap();
    let names = files(&dir, "trace_");
    let path = dir.join(&names[0]);
    assert_eq!(read(&path)["data"]["trace_spans"].as_array().unwrap().len(), 2);
    export(&exporter, vec![third]);
    assert_eq!(read(&path)["data"]["trace_spans"].as_array().unwrap().len(), 2, "waits for the root again");
    export(&exporter, vec![root]);
    assert_eq!(files(&dir, "trace_"), names);
    let file = read(&path);
    assert_eq!(file["data"]["trace_spans"].as_array().unwrap().len(), 4);
    assert_eq!(
        (file["data"]["name"].as_str(), file["data"]["update_id"].as_u64()),
        (Some("connection"), Some(2))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_reader_never_sees_a_partial_file() {
    let dir = scratch("atomic");
    let exporter = FileExporter::builder().dir(&dir).span_files(false).build().unwrap();
    let mut spans = trace_of("job", 150);
    let root = spans.remove(spans.iter().position(|s| s.name == "job").unwrap());
    export(&exporter, vec![root]);
    let path = dir.join(&files(&dir, "trace_")[0]);
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (done, path) = (done.clone(), path.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) || reads == 0 {
                let bytes = std::fs::read(&path).expect("the file is always there");
                let file: Value = serde_json::from_slice(&bytes).expect("always a whole JSON document");
                assert!(file["data"]["trace_spans"].is_array());
                reads += 1;
            }
            reads
        })
    };
    // Each late span rewrites the (growing) file.
    for span in spans {
        export(&exporter, vec![span]);
    }
    done.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(read(&path)["data"]["trace_spans"].as_array().unwrap().len(), 150);
    assert!(files(&dir, ".").is_empty(), "no temporary file left");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_writers_into_one_directory_lose_nothing() {
    let dir = scratch("concurrent");
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                // One exporter per thread, as separate processes sharing a directory would be.
                let exporter = FileExporter::new(&dir).unwrap();
                for _ in 0..25 {
                    export(&exporter, trace_of("job", 3));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let listing = LocalStore::new(&dir).list().unwrap();
    assert_eq!(listing.traces.len(), 100);
    assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
    assert_eq!(files(&dir, "span_").len(), 300);
    assert!(files(&dir, ".").is_empty(), "no temporary file left");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn list_and_get_by_full_or_short_id() {
    let dir = scratch("get");
    let exporter = FileExporter::builder().dir(&dir).span_files(false).build().unwrap();
    export(&exporter, trace_of("first", 1));
    std::thread::sleep(std::time::Duration::from_millis(5));
    export(&exporter, sample_trace());
    let store = LocalStore::new(&dir);
    let listing = store.list().unwrap();
    assert_eq!(
        listing.traces.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["answer_question", "first"]
    );
    let newest = &listing.traces[0];
    assert_eq!(newest.span_count, 5);
    assert_eq!(newest.error_count, 1);
    assert_eq!(newest.total_tokens, 58 + 12 + 58);
    // The explicitly set cost of the first call, plus the price table's for the second (the failed
    // `claude-haiku` call is unpriced and adds nothing, never $0).
    let cost = newest.cost.expect("priced calls");
    assert!((cost - sample_trace_cost()).abs() < 1e-12, "{cost}");
    assert_eq!(newest.size, std::fs::metadata(&newest.path).unwrap().len());
    assert_eq!(newest.timestamp.len(), 26);

    let full = store.get(&newest.trace_id).unwrap();
    let short = store.get(&newest.trace_id[..8].to_uppercase()).unwrap();
    assert_eq!(full, short);
    assert_eq!(full.file.data.trace_spans.len(), 5);

    let err = store.get("0123abcd").unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
    assert!(
        err.to_string().contains("0123abcd") && err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
    assert!(matches!(store.get("xyz"), Err(StoreError::InvalidId { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_huge_foreign_trace_file_is_skipped_unread() {
    let dir = scratch("huge");
    let exporter = FileExporter::builder().dir(&dir).span_files(false).build().unwrap();
    export(&exporter, trace_of("good", 1));
    // Sparse: the size is there, the disk space and the memory are not spent.
    let huge = std::fs::File::create(dir.join("trace_20240101_000000_0badf11e.json")).unwrap();
    huge.set_len(trace_runtime::store::MAX_TRACE_FILE_BYTES + 1).unwrap();
    let listing = LocalStore::new(&dir).list().unwrap();
    assert_eq!(listing.traces.len(), 1);
    assert_eq!(listing.warnings.len(), 1, "{:?}", listing.warnings);
    assert!(listing.warnings[0].contains("0badf11e") && listing.warnings[0].contains("larger than"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupt_and_foreign_files_are_skipped_with_a_warning() {
    let dir = scratch("corrupt");
    let exporter = FileExporter::builder().dir(&dir).span_files(false).build().unwrap();
    export(&exporter, trace_of("good", 1));
    std::fs::write(dir.join("trace_20240101_000000_deadbeef.json"), b"{\"trace_id\": \"dead").unwrap();
    std::fs::write(dir.join("trace_20240101_000000_cafebabe.json"), b"{\"hello\": 1}").unwrap();
    std::fs::write(dir.join("notes.txt"), b"not a trace").unwrap();
    std::fs::create_dir(dir.join("trace_20240101_000000_0000dir0.json")).unwrap();
    let store = LocalStore::new(&dir);
    let listing = store.list().unwrap();
    assert_eq!(listing.traces.len(), 1);
    assert_eq!(listing.traces[0].name, "good");
    assert_eq!(listing.warnings.len(), 3, "{:?}", listing.warnings);
    assert!(listing.warnings.iter().any(|w| w.contains("deadbeef")));
    assert!(listing.warnings.iter().all(|w| w.starts_with("skipped `")));
    // Looked up by id, a file that cannot be read is corrupt, not missing: the error names it.
    match store.get("deadbeef") {
        Err(StoreError::Corrupt { path, problem }) => {
            assert!(path.ends_with("trace_20240101_000000_deadbeef.json"), "{}", path.display());
            assert!(problem.contains("not a trace file"), "{problem}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let (models, warnings) = store.model_totals(None, None).unwrap();
    assert!(models.is_empty());
    assert_eq!(warnings.len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cleanup_removes_what_is_older_than_the_cutoff() {
    let dir = scratch("cleanup");
    let exporter = FileExporter::new(&dir).unwrap();
    export(&exporter, trace_of("recent", 2));
    let recent = files(&dir, "");
    let old_trace = "trace_20200101_000000_0ld0ace0.json";
    std::fs::copy(dir.join(recent.iter().find(|n| n.starts_with("trace_")).unwrap()), dir.join(old_trace))
        .unwrap();
    std::fs::write(dir.join("span_20200101_000000_0ld05a00.json"), b"{}").unwrap();
    std::fs::write(dir.join("traces.db"), b"").unwrap();
    let store = LocalStore::new(&dir);
    let done = store.cleanup(30).unwrap();
    let removed: Vec<String> =
        done.removed.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(removed, ["span_20200101_000000_0ld05a00.json", old_trace]);
    let mut left = recent.clone();
    left.push("traces.db".into());
    left.sort();
    assert_eq!(files(&dir, ""), left);
    assert_eq!(store.cleanup(0).unwrap().removed.len(), 3, "0 days: everything up to now");
    assert_eq!(files(&dir, ""), ["traces.db"]);

    // Temporary files left by a killed writer go once old; a fresh one may be a write in progress.
    let stale = std::fs::File::create(dir.join(".trace_x.json.1.1.tmp")).unwrap();
    stale.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86_400)).unwrap();
    std::fs::write(dir.join(".trace_y.json.1.2.tmp"), b"{").unwrap();
    let removed = store.cleanup(1).unwrap().removed;
    assert_eq!(removed, [dir.join(".trace_x.json.1.1.tmp")]);
    store.cleanup(0).unwrap();
    assert_eq!(files(&dir, ""), [".trace_y.json.1.2.tmp", "traces.db"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_or_unwritable_directory_is_a_clear_error() {
    let base = scratch("unwritable");
    std::fs::create_dir_all(&base).unwrap();
    let file = base.join("a-file");
    std::fs::write(&file, b"").unwrap();
    let under_file = file.join("traces");
    let err = FileExporter::new(&under_file).unwrap_err();
    assert!(matches!(err, StoreError::Directory { .. }));
    let text = err.to_string();
    assert!(text.contains(&under_file.display().to_string()) && text.contains("TRACE_LOCAL_DIR"), "{text}");

    let missing = base.join("missing");
    let err = LocalStore::new(&missing).list().unwrap_err();
    assert!(matches!(err, StoreError::MissingDirectory { .. }));
    assert!(err.to_string().contains(&missing.display().to_string()));
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn times_are_utc_with_microseconds() {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_733_063_422_123_456);
    assert_eq!(format_rfc3339(t), "2024-12-01T14:30:22.123456Z");
}
