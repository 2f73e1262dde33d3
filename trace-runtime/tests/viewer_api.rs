//! `trace-view serve`'s JSON API, over a real server on loopback, for a JSON store directory and
//! a SQLite file: the list with sessions and models, one trace by full or short id, the page,
//! and clear errors for a bad id, an unknown trace, a corrupt file and a wrong method.
#![cfg(all(feature = "file-store", feature = "sqlite", feature = "viewer"))]

mod store_common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use store_common::scratch;

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(source: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trace-view"))
        .args(source)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("127.0.0.1:"), "{line}");
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().trim_end_matches('/').to_string();
    Server { child, url }
}

/// Status, content type and body of a request.
fn request(method: &str, url: &str) -> (u16, String, String) {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let response = client.request(method.parse().unwrap(), url).send().unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, content_type, response.text().unwrap())
}

fn json(url: &str) -> (u16, Value) {
    let (status, content_type, body) = request("GET", url);
    assert_eq!(content_type, "application/json", "{url}");
    (status, serde_json::from_str(&body).unwrap())
}

fn stores(dir: &Path) -> String {
    store_common::two_stores(dir, "api-test").1
}

#[test]
fn the_api_lists_and_returns_traces_from_a_directory_and_a_database() {
    let dir = scratch("viewer-api");
    let id = stores(&dir);
    let db = dir.join("traces.db");
    for source in [["--dir", dir.to_str().unwrap()], ["--db", db.to_str().unwrap()]] {
        let server = serve(&source);
        let (status, list) = json(&format!("{}/api/traces", server.url));
        assert_eq!(status, 200);
        let traces = list["traces"].as_array().unwrap();
        assert_eq!(traces.len(), 2, "{source:?}: {list:#}");
        assert_eq!(traces[0]["trace_id"], id.as_str(), "newest first");
        assert_eq!(traces[0]["name"], "answer_question");
        assert_eq!(traces[0]["session_id"], "s-1", "{source:?}");
        assert_eq!(traces[0]["spans"], 5);
        assert!(traces[0]["models"].as_array().is_some_and(|m| !m.is_empty()), "{source:?}: {list:#}");
        assert!(traces[0]["start"].as_str().is_some_and(|s| s.ends_with('Z')));
        assert_eq!(traces[1]["session_id"], Value::Null);
        let (_, limited) = json(&format!("{}/api/traces?limit=1", server.url));
        assert_eq!(limited["traces"].as_array().unwrap().len(), 1);
        let found = |q: &str| -> Vec<String> {
            let (_, body) = json(&format!("{}/api/traces?attr={q}", server.url));
            body["traces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(found("gen_ai.tool.name%3Dweather"), ["answer_question"], "key=value, encoded");
        assert_eq!(found("gen_ai.tool.name=WEATHER"), ["answer_question"], "case does not matter");
        assert_eq!(found("weath"), ["answer_question"], "text in a value");
        assert!(found("gen_ai.tool.name=rain").is_empty());

        for asked in [id.clone(), id[..8].to_string()] {
            let (status, trace) = json(&format!("{}/api/traces/{asked}", server.url));
            assert_eq!(status, 200);
            assert_eq!(trace["trace_id"], id.as_str());
            let spans = trace["spans"].as_array().unwrap();
            assert_eq!(spans.len(), 5);
            assert!(spans.iter().any(|s| s["attributes"]["gen_ai.tool.name"] == "weather"));
        }
        let (status, body) = json(&format!("{}/api/traces/nothex!!", server.url));
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].as_str().unwrap().contains("nothex!!"));
        let (status, body) = json(&format!("{}/api/traces/0123abcd", server.url));
        assert_eq!(status, 404, "{body}");

        for page in ["/", &format!("/trace/{}", &id[..8])] {
            let (status, content_type, body) = request("GET", &format!("{}{page}", server.url));
            assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
            assert!(
                body.contains("<title>trace-view</title>") && !body.contains("http://cdn"),
                "no network assets"
            );
        }
        let (status, _, _) = request("POST", &format!("{}/api/traces", server.url));
        assert_eq!(status, 405);
        let (status, _, _) = request("GET", &format!("{}/nowhere", server.url));
        assert_eq!(status, 404);
    }
}

#[test]
fn a_corrupt_trace_file_is_named_in_the_list_warnings_and_in_the_error_for_its_id() {
    let dir = scratch("viewer-api-corrupt");
    let id = stores(&dir);
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().contains(&id[..8]))
        .expect("the sample's file");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, &text[..text.len() / 2]).unwrap();
    let server = serve(&["--dir", dir.to_str().unwrap()]);
    let (status, list) = json(&format!("{}/api/traces", server.url));
    assert_eq!(status, 200);
    assert_eq!(list["traces"].as_array().unwrap().len(), 1, "the readable trace is still listed");
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(list["warnings"].to_string().contains(&name), "{list:#}");
}

#[test]
fn a_bad_address_is_a_usage_error_and_a_taken_port_says_so() {
    let out = Command::new(env!("CARGO_BIN_EXE_trace-view"))
        .args(["serve", "--addr", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HOST:PORT"));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = scratch("viewer-api-taken");
    let out = Command::new(env!("CARGO_BIN_EXE_trace-view"))
        .args(["--dir", dir.to_str().unwrap(), "serve", "--addr", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("cannot listen on {addr}")));
}
