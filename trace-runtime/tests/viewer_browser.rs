//! `trace-view serve` in a real browser: headless Chromium over the DevTools protocol loads the
//! page from a store this test writes, and checks what a user sees — the trace list, search, a
//! trace written while the page is open appearing without a reload, the waterfall with 50
//! repeated siblings grouped and expandable, a failed span marked on it and on every ancestor,
//! an LLM span's model and tokens — and that the screenshot is not blank.
//!
//! Needs Chromium: `.ci/browser` installs Debian's when missing and runs this test; `.ci/run` calls
//! it. `TRACE_VIEW_SCREENSHOT=path.png` also saves the screenshot (the README's is made so).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use trace_runtime::config::Exporter;
use trace_runtime::{Config, Usage, span, trace, trace_agent, trace_llm, trace_pipeline, trace_tool};

#[trace_pipeline(name = "voice", element = "resample")]
fn resample(frame: u32) -> u32 {
    frame / 3
}

#[trace_llm(provider = "openai", model = "gpt-4o-mini")]
fn answer() -> &'static str {
    span::record_usage(Usage { input_tokens: 120, output_tokens: 33, ..Default::default() });
    "sure"
}

#[trace_tool(name = "lookup")]
fn lookup() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("the index is down"))
}

#[trace_agent(name = "planner")]
fn planner() -> Result<(), std::io::Error> {
    answer();
    lookup()
}

/// The viewer process, stopped when dropped.
struct Viewer {
    child: Child,
    url: String,
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_viewer(dir: &std::path::Path) -> Viewer {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trace-view"))
        .args(["--dir", dir.to_str().unwrap(), "serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("trace-view starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the viewer says where")
        .to_string();
    Viewer { child, url: url.trim_end_matches('/').to_string() }
}

/// Polls `expression` in the page until it is true.
fn wait_until(tab: &Tab, expression: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = tab.evaluate(expression, false).ok().and_then(|r| r.value);
        if value == Some(serde_json::Value::Bool(true)) {
            return;
        }
        assert!(Instant::now() < deadline, "the page never showed `{expression}`");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn text(tab: &Tab, expression: &str) -> String {
    tab.evaluate(expression, false)
        .unwrap()
        .value
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn chromium() -> PathBuf {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("Chromium: run .ci/browser, which installs Debian's")
}

#[test]
#[ignore = "needs Chromium: run .ci/browser"]
fn the_viewer_shows_the_store_in_a_real_browser() {
    let dir = std::env::temp_dir().join(format!("trace-view-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let guard = trace_runtime::init_with(
        Config::builder()
            .exporter(Exporter::File)
            .local_dir(&dir)
            .telemetry_enabled(false)
            .summary(false)
            .build(),
    )
    .unwrap();
    let voice = trace!("voice call", session.id = "s-browser", {
        for frame in 0..50 {
            resample(frame);
        }
        let _ = planner();
        span::trace_id().unwrap().to_string()
    });
    trace!("healthcheck", {});
    assert!(guard.flush());

    let viewer = start_viewer(&dir);
    let browser = Browser::new(
        LaunchOptions::default_builder()
            .path(Some(chromium()))
            .sandbox(false)
            .window_size(Some((1440, 900)))
            .idle_browser_timeout(Duration::from_secs(120))
            .build()
            .unwrap(),
    )
    .expect("Chromium starts");
    let tab = browser.new_tab().unwrap();

    // The list: both traces, newest first, the failing one with its error count.
    tab.navigate_to(&format!("{}/", viewer.url)).unwrap().wait_until_navigated().unwrap();
    wait_until(&tab, "document.querySelectorAll('#traces tr.trace-row').length === 2");
    assert_eq!(text(&tab, "document.querySelector('#traces tr.trace-row a').textContent"), "healthcheck");
    let voice_row = format!("document.querySelector('tr.trace-row[data-id=\"{voice}\"]')");
    assert!(text(&tab, &format!("{voice_row}.textContent")).contains("s-browser"), "the session shows");
    assert_eq!(
        text(&tab, &format!("{voice_row}.querySelector('.badge.err').textContent")),
        "2",
        "the tool and its agent failed"
    );

    // Search narrows the list.
    tab.evaluate("const s = document.querySelector('#search'); s.value = 'gpt-4o'; s.dispatchEvent(new Event('input'))", false).unwrap();
    wait_until(&tab, "document.querySelectorAll('#traces tr.trace-row').length === 1");
    tab.evaluate(
        "const t = document.querySelector('#search'); t.value = ''; t.dispatchEvent(new Event('input'))",
        false,
    )
    .unwrap();

    // A trace written while the page is open appears without a reload.
    trace!("late arrival", {});
    assert!(guard.flush());
    wait_until(
        &tab,
        "[...document.querySelectorAll('#traces tr.trace-row a')].some(a => a.textContent === 'late arrival')",
    );

    // One trace: the repeated frames as one row, the failure marked up the tree.
    tab.navigate_to(&format!("{}/trace/{}", viewer.url, &voice[..8]))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    wait_until(&tab, "document.querySelector('.group-row[data-name=\"resample\"]') !== null");
    let group = text(&tab, "document.querySelector('.group-row[data-name=\"resample\"]').textContent");
    assert!(group.contains("resample ×50") && group.contains("p50"), "{group}");
    assert_eq!(
        text(&tab, "String(document.querySelectorAll('.span-row[data-name=\"resample\"]').length)"),
        "0"
    );
    wait_until(&tab, "document.querySelector('.span-row.error[data-name=\"execute_tool lookup\"]') !== null");
    wait_until(
        &tab,
        "document.querySelector('.span-row.has-error[data-name=\"invoke_agent planner\"]') !== null",
    );
    wait_until(&tab, "document.querySelector('.span-row.has-error[data-name=\"voice call\"]') !== null");
    assert_eq!(
        text(&tab, "String(document.querySelectorAll('.axis .ticks span').length)"),
        "5",
        "a time axis"
    );
    assert_eq!(text(&tab, "document.querySelector('.axis .ticks span').textContent"), "0 µs");
    assert!(text(&tab, "document.querySelector('.legend').textContent").contains("LLM call"));
    assert!(
        text(&tab, "document.querySelector('#models').textContent").contains("gpt-4o-mini"),
        "per-model totals"
    );

    tab.evaluate("document.querySelector('.group-row[data-name=\"resample\"]').click()", false).unwrap();
    wait_until(&tab, "document.querySelectorAll('.span-row[data-name=\"resample\"]').length === 50");
    tab.evaluate("document.querySelector('.group-row[data-name=\"resample\"]').click()", false).unwrap();
    wait_until(&tab, "document.querySelectorAll('.span-row[data-name=\"resample\"]').length === 0");

    tab.evaluate("document.querySelector('.span-row[data-name=\"chat gpt-4o-mini\"]').click()", false)
        .unwrap();
    wait_until(
        &tab,
        "document.querySelector('#details h2') && document.querySelector('#details h2').textContent === 'chat gpt-4o-mini'",
    );
    let details = text(&tab, "document.querySelector('#details').textContent");
    assert!(
        details.contains("gpt-4o-mini") && details.contains("120") && details.contains("33"),
        "{details}"
    );

    // A page a user can read: the screenshot is neither blank nor one colour.
    let shot = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(&shot)).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let pixels = &pixels[..frame.buffer_size()];
    let colours: std::collections::HashSet<&[u8]> = pixels.chunks(frame.color_type.samples()).collect();
    assert!(colours.len() > 50, "the screenshot has {} colours: a blank page?", colours.len());
    if let Ok(path) = std::env::var("TRACE_VIEW_SCREENSHOT") {
        std::fs::write(&path, &shot).unwrap();
    }

    // The same page from `trace-view html`, opened from disk: no server, the same waterfall.
    let file = dir.join("voice.html");
    let written = Command::new(env!("CARGO_BIN_EXE_trace-view"))
        .args(["--dir", dir.to_str().unwrap(), "html", &voice[..8], "-o", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    // In the same tab: a background tab of headless Chromium is not rendered.
    let page: &Tab = &tab;
    page.navigate_to(&format!("file://{}", file.display())).unwrap().wait_until_navigated().unwrap();
    wait_until(page, "document.querySelector('.group-row[data-name=\"resample\"]') !== null");
    wait_until(page, "document.querySelector('.span-row.has-error[data-name=\"voice call\"]') !== null");
    assert!(text(page, "document.querySelector('.legend').textContent").contains("LLM call"));
    assert_eq!(
        text(page, "String(document.querySelectorAll('a[href=\"/\"]').length)"),
        "0",
        "no link to a list that is not there"
    );

    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
}
