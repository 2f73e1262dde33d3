//! Test support for the privacy tests: a real HTTP server on loopback that records every
//! connection and request it gets, and a runner that starts this test binary again as a child
//! process with a given environment (env-var switches are read once per process, by `init`).

#![allow(dead_code)] // each test binary uses a part

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One HTTP request the server received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// An HTTP/1.1 server on 127.0.0.1, port 0, answering every request with `status` (200 unless
/// set). It counts connections too, so a client speaking anything else (gRPC) is seen as well.
#[derive(Clone)]
pub struct Loopback {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Request>>>,
    status: Arc<AtomicU16>,
}

impl Loopback {
    pub fn start() -> Loopback {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let server = Loopback {
            port: listener.local_addr().unwrap().port(),
            connections: Arc::default(),
            requests: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
        };
        let shared = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let shared = shared.clone();
                std::thread::spawn(move || shared.serve(stream));
            }
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream);
        let Some(request) = read_request(&mut reader) else { return };
        // Recorded before answering: when the client has its answer, the request is visible.
        self.requests.lock().unwrap().push(request);
        respond(reader.get_mut(), self.status.load(Ordering::SeqCst), "");
    }
}

/// Reads one HTTP/1.1 request: the request line, the headers, and a body of `Content-Length`
/// bytes (at most 1 MiB); `None` if the client sent nothing. The one request parser of the test
/// servers (this one, the traced service of `interop_pipeline`, the TLS server of `telemetry_tls`).
pub fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0usize);
    let mut body = vec![0; length.min(1 << 20)];
    let _ = reader.read_exact(&mut body);
    Some(Request { method, path, headers, body })
}

/// Answers with `status` and `body`, and closes the connection.
pub fn respond(stream: &mut impl Write, status: u16, body: &str) {
    let answer = format!(
        "HTTP/1.1 {status} Status\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes());
}

/// One HTTPS connection of a test server: the handshake (a client that does not trust the
/// certificate, or presents none where one is required, ends here), one request recorded, a 200.
pub fn serve_tls(config: Arc<rustls::ServerConfig>, stream: TcpStream, requests: &Mutex<Vec<Request>>) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let Ok(connection) = rustls::ServerConnection::new(config) else { return };
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let mut reader = BufReader::new(&mut tls);
    let Some(request) = read_request(&mut reader) else { return };
    requests.lock().unwrap().push(request);
    respond(reader.get_mut(), 200, "");
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "trace-privacy-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// What a user of the child program could notice.
#[derive(Debug)]
pub struct Observed {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
    /// Connections and requests the loopback server (telemetry and OTLP endpoint) received.
    pub connections: usize,
    pub requests: Vec<Request>,
    /// Files the child left in its working directory and home (the opt-out file excepted), with
    /// their contents.
    pub files: Vec<(PathBuf, String)>,
}

impl Observed {
    /// The value of a `name: value` line the child printed.
    pub fn line(&self, name: &str) -> Option<&str> {
        // libtest may print `test child ... ` on the same line first.
        let prefix = format!("{name}: ");
        self.stdout.lines().find_map(|l| l.find(prefix.as_str()).map(|i| &l[i + prefix.len()..]))
    }

    /// Whether `needle` left the child anywhere: its output, a request, or a file.
    pub fn contains(&self, needle: &str) -> bool {
        self.stdout.contains(needle)
            || self.stderr.contains(needle)
            || self.requests.iter().any(|r| String::from_utf8_lossy(&r.body).contains(needle))
            || self.files.iter().any(|(_, text)| text.contains(needle))
    }

    /// Thread names of the child while its traced work ran (Linux only: `None` elsewhere).
    pub fn threads(&self) -> Option<Vec<&str>> {
        self.line("threads").filter(|t| *t != "unknown").map(|t| t.split(',').collect())
    }
}

/// Runs the test named `child` of this binary in a child process with only `env` (and the
/// variables below) set, a fresh home and working directory, and every endpoint pointed at a
/// loopback server.
pub fn run_child<V: AsRef<std::ffi::OsStr>>(child: &str, env: &[(&str, V)], opt_out_file: bool) -> Observed {
    let server = Loopback::start();
    let root = temp_dir("child");
    let (home, work) = (root.join("home"), root.join("work"));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let opt_out = home.join(".trace-runtime-no-tracing");
    if opt_out_file {
        std::fs::write(&opt_out, "").unwrap();
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([child, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear()
        .current_dir(&work)
        .env("TRACE_PRIVACY_CHILD", "1")
        .env("HOME", &home)
        .env("USERPROFILE", &home)
        .env("TRACE_LOCAL_DIR", work.join("traces"))
        .env("TRACE_SQLITE_PATH", work.join("traces").join("traces.db"))
        .env("TRACE_TELEMETRY_ENDPOINT", server.url("/v1/telemetry"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", server.url(""))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("start the child");
    let mut files = files_under(&work);
    files.extend(files_under(&home).into_iter().filter(|f| *f != opt_out));
    let files = files
        .into_iter()
        .map(|f| {
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).into_owned();
            (f, text)
        })
        .collect();
    let observed = Observed {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        connections: server.connections(),
        requests: server.requests(),
        files,
    };
    let _ = std::fs::remove_dir_all(&root);
    observed
}

/// Thread names of this process, from `/proc/self/task/*/comm` (names cut at 15 bytes).
pub fn thread_names() -> String {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return "unknown".into() };
    let names: Vec<String> = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect();
    names.join(",")
}
