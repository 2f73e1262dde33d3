//! The `trace-view` command line as scripts and shells use it: a closed pipe, a full disk,
//! bytes that are not UTF-8, corrupt files looked up by id, short ids, a dry-run cleanup, `--json`
//! everywhere, Chrome trace-event export, `diff`, and output files as private as the store.
#![cfg(all(feature = "file-store", feature = "sqlite", feature = "viewer"))]

mod store_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use store_common::scratch;

fn view(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trace-view")).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A directory and a database with the same two traces: (dir, db, the sample's id, the other id).
fn stores(name: &str) -> (PathBuf, PathBuf, String, String) {
    let dir = scratch(name);
    let (db, id, other) = store_common::two_stores(&dir, "cli-test");
    (dir, db, id, other)
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_is_an_error() {
    let (dir, _, _, _) = stores("cli-pipe");
    let dir = dir.to_str().unwrap();
    for args in [vec!["--dir", dir, "list"], vec!["--dir", dir, "list", "--json"], vec!["--help"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trace-view"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the program writes: `trace-view list | true`.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        assert!(
            !text(&out.stderr).contains("panicked") && !text(&out.stderr).contains("Broken pipe"),
            "{}",
            text(&out.stderr)
        );
    }
    if Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_trace-view"))
            .args(["--dir", dir, "list"])
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("cannot write to standard output"), "{}", text(&out.stderr));
    }
}

#[cfg(unix)]
#[test]
fn arguments_that_are_not_utf8_are_a_usage_error_not_a_panic() {
    use std::os::unix::ffi::OsStrExt as _;
    let bad = std::ffi::OsStr::from_bytes(b"sh\xffow");
    let out = Command::new(env!("CARGO_BIN_EXE_trace-view")).arg(bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
    let out = Command::new(env!("CARGO_BIN_EXE_trace-view"))
        .args([std::ffi::OsStr::new("show"), bad])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(1 | 2)) && !text(&out.stderr).contains("panicked"));
}

#[test]
fn ids_by_any_unique_prefix_and_a_corrupt_file_is_named() {
    let (dir, db, id, _) = stores("cli-ids");
    for source in [["--dir", dir.to_str().unwrap()], ["--db", db.to_str().unwrap()]] {
        for prefix in [&id[..4], &id[..6], &id[..12], id.as_str()] {
            let out = view(&[source[0], source[1], "show", prefix]);
            assert_eq!(out.status.code(), Some(0), "{prefix}: {}", text(&out.stderr));
            assert!(text(&out.stdout).starts_with(&format!("trace {id}")));
        }
        let out = view(&[source[0], source[1], "show", &id[..3]]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("4 to 32 hexadecimal characters"), "{}", text(&out.stderr));
    }
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().contains(&id[..8]))
        .unwrap();
    let body = std::fs::read(&file).unwrap();
    std::fs::write(&file, &body[..body.len() / 3]).unwrap();
    let out = view(&["--dir", dir.to_str().unwrap(), "show", &id[..8]]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("corrupt") && err.contains(&file.display().to_string()), "{err}");
    assert!(!err.contains("no trace with id"), "a truncated file is not a missing trace: {err}");
}

#[test]
fn cleanup_dry_run_counts_and_deletes_nothing() {
    let (dir, db, _, _) = stores("cli-cleanup");
    let before = std::fs::read_dir(&dir).unwrap().count();
    let out = view(&["--dir", dir.to_str().unwrap(), "cleanup", "--older-than-days", "0", "--dry-run"]);
    let said = text(&out.stdout);
    assert!(
        said.contains("2 file(s)") && said.contains("would be removed") && said.contains("would remove"),
        "{said}"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), before, "a dry run deletes nothing");
    let out = view(&["--db", db.to_str().unwrap(), "cleanup", "--older-than-days", "0", "--dry-run"]);
    assert!(
        text(&out.stdout).contains("8 span(s)") && text(&out.stdout).contains("dry run"),
        "{}",
        text(&out.stdout)
    );
    let out = view(&["--db", db.to_str().unwrap(), "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["traces"].as_array().unwrap().len(), 2, "still there");
}

#[test]
fn json_output_for_list_show_models_and_logs() {
    let (dir, db, id, _) = stores("cli-json");
    for source in [["--dir", dir.to_str().unwrap()], ["--db", db.to_str().unwrap()]] {
        let parse = |args: &[&str]| -> Value {
            let out = view(&[&source[..], args].concat());
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
            serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&out.stdout)))
        };
        let list = parse(&["list", "--json"]);
        assert_eq!(list["traces"][0]["trace_id"], id.as_str());
        let show = parse(&["show", &id[..8], "--json"]);
        assert_eq!(show["spans"].as_array().unwrap().len(), 5);
        let models = parse(&["models", "--json"]);
        assert!(models.as_array().unwrap().iter().any(|m| m["model"] == "gpt-4o-mini"), "{models:#}");
        let logs = parse(&["logs", "--json"]);
        assert!(logs.as_array().is_some(), "{logs:#}");
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn export_writes_chrome_trace_events_and_outputs_are_private() {
    let (dir, _, id, other) = stores("cli-export");
    let out_file = dir.join("out.json");
    let out = view(&[
        "--dir",
        dir.to_str().unwrap(),
        "export",
        &id[..8],
        "--format",
        "chrome",
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    let complete: Vec<&Value> =
        events["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(complete.len(), 5, "one complete event per span");
    assert!(
        complete
            .iter()
            .all(|e| e["ts"].as_f64().unwrap() > 0.0 && e["dur"].as_f64().is_some() && e["pid"] == 1)
    );
    assert!(complete.iter().any(|e| e["name"] == "run_tool" && e["args"]["gen_ai.tool.name"] == "weather"));
    let html = dir.join("page.html");
    assert!(
        view(&["--dir", dir.to_str().unwrap(), "html", &id[..8], "-o", html.to_str().unwrap()])
            .status
            .success()
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&out_file), 0o600);
        assert_eq!(mode(&html), 0o600);
        // An existing file is narrowed too.
        std::fs::set_permissions(&html, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        assert!(
            view(&["--dir", dir.to_str().unwrap(), "html", &id[..8], "-o", html.to_str().unwrap()])
                .status
                .success()
        );
        assert_eq!(mode(&html), 0o600);
    }

    let diff = view(&["--dir", dir.to_str().unwrap(), "diff", &other[..8], &id[..8]]);
    let table = text(&diff.stdout);
    assert!(diff.status.success(), "{}", text(&diff.stderr));
    assert!(
        table.contains(&other[..8])
            && table.contains(&id[..8])
            && table.contains("spans")
            && table.contains("tokens"),
        "{table}"
    );
    let diff = view(&["--dir", dir.to_str().unwrap(), "diff", &other[..8], &id[..8], "--json"]);
    let value: Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert_eq!((value["a"]["spans"].as_u64(), value["b"]["spans"].as_u64()), (Some(3), Some(5)));
}
