//! The `trace-view` program, run as a user would: over a JSON store directory and a SQLite file.
#![cfg(all(feature = "file-store", feature = "sqlite"))] // the program's required features

mod store_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use store_common::{sample_trace_cost, scratch};
use trace_runtime::store::{LogRow, SqliteStore};

fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trace-view"));
    command.env_remove("TRACE_LOCAL_DIR").env_remove("TRACE_SQLITE_PATH");
    command
}

fn view(args: &[&str]) -> Output {
    command().args(args).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A JSON store and a database holding the same two traces; the sample's trace id.
fn stores(name: &str) -> (PathBuf, PathBuf, String) {
    let dir = scratch(name);
    let (db, id, _) = store_common::two_stores(&dir, "viewer-test");
    (dir, db, id)
}

/// The trace a page from `trace-view html` carries.
fn inlined(html: &str) -> serde_json::Value {
    let start = html.find("id=\"trace-data\">").expect("inlined data") + "id=\"trace-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

#[test]
fn help_lists_every_command() {
    let text = ok(&view(&["--help"]));
    for command in [
        "list",
        "show",
        "models",
        "cleanup",
        "html",
        "export",
        "diff",
        "serve",
        "logs",
        "--dir <DIR>",
        "--db <FILE>",
        "--version",
    ] {
        assert!(text.contains(command), "{command} missing from:\n{text}");
    }
    let show = ok(&view(&["show", "--help"]));
    assert!(show.contains("<ID>") && show.contains("unique prefix") && show.contains("--json"), "{show}");
    assert_eq!(ok(&view(&["--version"])).trim(), format!("trace-view {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn list_show_and_models_over_a_directory_and_a_database() {
    let (dir, db, id) = stores("views");
    let dir_arg = dir.to_str().unwrap();
    let db_arg = db.to_str().unwrap();
    // The trace's cost: one call priced by the application, one by the built-in table.
    let trace_cost = format!("${:.6}", sample_trace_cost());
    for source in [["--dir", dir_arg], ["--db", db_arg]] {
        let list = ok(&view(&[source[0], source[1], "list"]));
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 3, "{list}");
        assert!(lines[0].starts_with("ID ") && lines[0].contains("DURATION") && lines[0].ends_with("NAME"));
        assert!(lines[1].starts_with(&id[..8]) && lines[1].ends_with("answer_question"), "{list}");
        assert!(
            lines[1].contains(" 5 ") && lines[1].contains(" 128 ") && lines[1].contains(&trace_cost),
            "{list}"
        );
        assert!(
            lines[2].ends_with("nightly_batch") && lines[2].contains(" - "),
            "unpriced shows `-`: {list}"
        );

        let show = ok(&view(&[source[0], source[1], "show", &id[..8]]));
        let lines: Vec<&str> = show.lines().collect();
        assert!(lines[0].starts_with(&format!("trace {id} · answer_question · ")), "{show}");
        assert!(
            lines[0].contains(&format!("5 span(s) · 1 error(s) · 128 tokens · cost {trace_cost}")),
            "{show}"
        );
        assert!(
            lines[1].starts_with("answer_question  ") && lines[1].ends_with("  session.id=s-1"),
            "{show}"
        );
        assert!(!show.contains("unset"), "an unset status goes without saying: {show}");
        assert!(
            lines[2].starts_with("├─ run_tool  ") && lines[2].ends_with("gen_ai.tool.name=weather"),
            "{show}"
        );
        assert_eq!(show.matches("session.id=s-1").count(), 1, "said once, where it was set: {show}");
        assert!(lines[3].starts_with("│  │  · ") || lines[3].starts_with("│     · "), "{show}");
        assert!(lines[3].ends_with("log [warning] tool is slow"), "{show}");
        assert!(lines[4].starts_with("├─ chat gpt-4o-mini  client  "), "{show}");
        assert!(lines[4].contains("openai/gpt-4o-mini  tokens in 31 out 27 cached 4  $0.000021"), "{show}");
        assert!(
            lines[5].contains("error: rate limited  anthropic/claude-haiku  tokens in 10 out 2  -"),
            "{show}"
        );
        let table_cost = format!("${:.6}", store_common::table_cost_of_one_call());
        assert!(
            lines.last().unwrap().starts_with("└─ chat gpt-4o-mini")
                && lines.last().unwrap().contains(&format!("  {table_cost}")),
            "the second call is priced by the built-in table: {show}"
        );

        let models = ok(&view(&[source[0], source[1], "models", "--since", "2020-01-01"]));
        let lines: Vec<&str> = models.lines().collect();
        assert!(lines[0].starts_with("PROVIDER") && lines[0].ends_with("COST"), "{models}");
        let gpt: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            gpt,
            ["openai", "gpt-4o-mini", "2", "62", "54", "8", "0", trace_cost.as_str()],
            "{models}"
        );
        let claude: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(claude, ["anthropic", "claude-haiku", "1", "10", "2", "0", "0", "-"], "{models}");
        let total: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(total, ["-", "total", "3", "72", "56", "8", "0", trace_cost.as_str()], "{models}");
        assert!(lines[4].starts_with("1 call(s) without a price"), "only claude-haiku: {models}");
        let none = ok(&view(&[source[0], source[1], "models", "--until", "2020-01-01"]));
        assert!(none.starts_with("no LLM spans"), "{none}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn html_writes_a_self_contained_waterfall() {
    let (dir, db, id) = stores("html");
    let out = dir.join("trace.html");
    let printed = ok(&view(&["--dir", dir.to_str().unwrap(), "html", &id, "-o", out.to_str().unwrap()]));
    assert_eq!(printed.trim(), format!("wrote {} (5 spans)", out.display()));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("<style>") && html.contains("<script>"));
    for forbidden in ["http://", "https://", "src=", "<link"] {
        assert!(!html.contains(forbidden), "no network: found `{forbidden}`");
    }
    // The page `serve` shows, with the trace inlined (the browser test renders it).
    let spans = inlined(&html);
    assert_eq!(spans["trace_id"], id.as_str());
    assert_eq!(spans["spans"].as_array().unwrap().len(), 5);
    assert!(html.contains("chat claude-haiku") && html.contains("rate limited"));

    let from_db = dir.join("db.html");
    ok(&view(&["--db", db.to_str().unwrap(), "html", &id[..8], "-o", from_db.to_str().unwrap()]));
    assert_eq!(inlined(&std::fs::read_to_string(&from_db).unwrap())["spans"].as_array().unwrap().len(), 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cleanup_by_age_in_both_stores() {
    let (dir, db, _) = stores("cleanup");
    let dir_arg = dir.to_str().unwrap();
    assert_eq!(
        ok(&view(&["--dir", dir_arg, "cleanup", "--older-than-days", "30"])).trim(),
        format!("removed 0 file(s) older than 30 day(s) from {dir_arg}")
    );
    assert_eq!(
        ok(&view(&["--dir", dir_arg, "cleanup", "--older-than-days", "0"])).trim(),
        format!("removed 2 file(s) older than 0 day(s) from {dir_arg}")
    );
    assert!(ok(&view(&["--dir", dir_arg, "list"])).starts_with("no traces in"));
    let db_arg = db.to_str().unwrap();
    assert_eq!(
        ok(&view(&["--db", db_arg, "cleanup", "--older-than-days", "0"])).trim(),
        format!("deleted 8 span(s) and 1 log record(s) older than 0 day(s) from {db_arg}")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn logs_of_a_directory_and_a_database_by_trace_run_and_level() {
    let (dir, db, id) = stores("logs");
    let dir_arg = dir.to_str().unwrap();
    let db_arg = db.to_str().unwrap();
    for source in [["--dir", dir_arg], ["--db", db_arg]] {
        let logs = |args: &[&str]| ok(&view(&[&[source[0], source[1], "logs"], args].concat()));
        let all = logs(&[]);
        let lines: Vec<&str> = all.lines().collect();
        assert_eq!(lines.len(), 2, "the sample trace's one record: {all}");
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(header, ["TIME", "(UTC)", "LEVEL", "TRACE", "RUN", "SOURCE", "MESSAGE"], "{all}");
        let cells: Vec<&str> = lines[1].split("  ").filter(|c| !c.is_empty()).map(str::trim).collect();
        assert_eq!(
            cells[1..],
            ["warning", &id[..8], "run-7", "src/agent.rs:42", "tool is slow (Timeout: took 3 s)"],
            "{all}"
        );
        assert_eq!(cells[0].len(), "2026-11-22 04:07:05.702".len(), "time to the millisecond: {all}");

        assert_eq!(logs(&["--trace", &id[..8]]), all, "{source:?}");
        assert_eq!(logs(&["--trace", &id]), all);
        assert_eq!(logs(&["--run", "run-7", "--level", "warning"]), all);
        assert_eq!(logs(&["--level", "WARN"]), all, "level names as `log::Level` parses them");
        for nothing in [&["--level", "error"][..], &["--run", "run-8"]] {
            let none = logs(nothing);
            assert!(none.starts_with("no log records in ") && none.contains("for that selection"), "{none}");
        }
    }

    // Records written outside any span, only in the database: the newest N, oldest first.
    let store = SqliteStore::open(&db).unwrap();
    let rows: Vec<LogRow> = (1..=3)
        .map(|i| {
            let mut row = LogRow::new(if i == 3 { "exception" } else { "info" }, format!("step {i}\nof 3"));
            row.time = std::time::SystemTime::now() + std::time::Duration::from_secs(i);
            row.run_id = Some("batch".into());
            row
        })
        .collect();
    store.insert_logs(&rows).unwrap();
    drop(store);
    let last_two = ok(&view(&["--db", db_arg, "logs", "--limit", "2"]));
    let lines: Vec<&str> = last_two.lines().collect();
    assert_eq!(lines.len(), 3, "{last_two}");
    assert!(lines[1].contains(" info ") && lines[1].ends_with("step 2\\u{a}of 3"), "escaped: {last_two}");
    assert!(
        lines[2].contains(" exception ")
            && lines[2].contains(" - ")
            && lines[2].ends_with("step 3\\u{a}of 3")
    );
    let errors = ok(&view(&["--db", db_arg, "logs", "--level", "error", "--run", "batch"]));
    assert_eq!(errors.lines().count(), 2, "{errors}");
    assert!(errors.lines().nth(1).unwrap().ends_with("step 3\\u{a}of 3"), "{errors}");

    fails(&view(&["--db", db_arg, "logs", "--level", "loud"]), 2, &["'loud'", "--level", "warning"]);
    fails(&view(&["--db", db_arg, "logs", "--limit", "many"]), 2, &["'many'", "--limit"]);
    fails(&view(&["--db", db_arg, "logs", "--trace", "0123abcd"]), 1, &["no trace with id `0123abcd`"]);
    fails(&view(&["--dir", dir_arg, "logs", "--trace", "0123abcd"]), 1, &["no trace with id `0123abcd`"]);
    fails(&view(&["--dir", dir_arg, "logs", "extra"]), 2, &["unexpected argument 'extra'"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn fails(out: &Output, code: i32, needles: &[&str]) {
    assert_eq!(out.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", stdout(out), stderr(out));
    let err = stderr(out);
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` missing from:\n{err}");
    }
}

#[test]
fn clear_errors_for_a_missing_store_an_unknown_id_and_wrong_usage() {
    let (dir, db, _) = stores("errors");
    let missing = dir.join("nowhere");
    let missing_arg = missing.to_str().unwrap();
    fails(&view(&["--dir", missing_arg, "list"]), 1, &[missing_arg, "does not exist"]);
    fails(
        &view(&["--db", &format!("{missing_arg}.db"), "list"]),
        1,
        &[&format!("{missing_arg}.db"), "does not exist"],
    );
    assert!(!Path::new(&format!("{missing_arg}.db")).exists(), "the viewer never creates a database");
    let dir_arg = dir.to_str().unwrap();
    fails(&view(&["--dir", dir_arg, "show", "0123abcd"]), 1, &["no trace with id `0123abcd`", dir_arg]);
    fails(&view(&["--db", db.to_str().unwrap(), "show", "0123abcd"]), 1, &["no trace with id `0123abcd`"]);
    fails(&view(&["--dir", dir_arg, "show", "nope"]), 1, &["`nope` is not a trace id"]);
    fails(&view(&["--dir", dir_arg, "show"]), 2, &["<ID>", "--help"]);
    fails(&view(&["--dir", dir_arg, "frobnicate"]), 2, &["unrecognized subcommand 'frobnicate'"]);
    fails(&view(&["--dir", dir_arg, "cleanup"]), 2, &["--older-than-days"]);
    fails(
        &view(&["--dir", dir_arg, "cleanup", "--older-than-days", "soon"]),
        2,
        &["'soon'", "--older-than-days"],
    );
    fails(&view(&["--dir", dir_arg, "models", "--since", "yesterday"]), 2, &["'yesterday'", "2024-12-01"]);
    fails(&view(&["--dir", dir_arg, "list", "--limit"]), 2, &["--limit"]);
    fails(&view(&["--dir", dir_arg, "--db", "x.db", "list"]), 2, &["cannot be used with"]);
    fails(&view(&[]), 2, &["Usage: trace-view"]);

    std::fs::write(dir.join("trace_20240101_000000_deadbeef.json"), b"{broken").unwrap();
    let out = view(&["--dir", dir_arg, "list"]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("warning: skipped `") && stderr(&out).contains("deadbeef"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out).lines().count(), 3, "the good traces are still listed");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_flags_the_default_directory_is_read_else_the_default_database() {
    let (dir, db, id) = stores("defaults");
    let out = command().arg("list").current_dir(&dir).output().unwrap();
    fails(&out, 1, &["trace directory `traces` does not exist"]);

    let cwd = dir.join("cwd");
    std::fs::create_dir_all(cwd.join("traces")).unwrap();
    std::fs::copy(&db, cwd.join("traces").join("traces.db")).unwrap();
    let list = ok(&command().arg("list").current_dir(&cwd).output().unwrap());
    assert!(list.lines().nth(1).unwrap().starts_with(&id[..8]), "only a database: it is read\n{list}");

    let env_dir = ok(&command().args(["show", &id[..8]]).env("TRACE_LOCAL_DIR", &dir).output().unwrap());
    assert!(env_dir.starts_with(&format!("trace {id}")));
    std::fs::remove_dir_all(&dir).unwrap();
}
