// `#[trace_agent]`, `#[trace_tool]` and `#[trace_fn]` on every fn shape, with IO capture on: the
// tool's parameters and result recorded as JSON (or `Debug` text), `error.type` on failure.
use std::collections::BTreeMap;

use trace_runtime::config::Exporter;
use trace_runtime::{Config, trace, trace_agent, trace_fn, trace_tool};
use ui_tests::{Memory, assert_child, span, str_attr};

/// Only `Debug`: recorded as its debug text.
#[derive(Debug)]
struct Place {
    lat: f32,
}

/// Neither `Serialize` nor `Debug`: left out.
struct Opaque;

struct Agent {
    name: String,
    turns: u32,
}

impl Agent {
    #[trace_agent(name = self.name.as_str(), id = format!("a-{}", self.turns))]
    async fn run(&mut self, goal: &str) -> Result<String, String> {
        self.turns += 1;
        let hits = search(goal.to_string(), 3).await;
        let weather = weather(&Place { lat: 59.9 }, Opaque, |x| x + 1)?;
        Ok(format!("{} hits, {weather:?}", hits.len()))
    }

    #[trace_agent(name = "reviewer", description = "checks answers", span_name = "review")]
    fn review(&self, answer: &str) -> bool {
        !answer.is_empty()
    }
}

#[trace_tool(name = "search", call_id = "call_1")]
async fn search(query: String, limit: usize) -> Vec<String> {
    tokio::task::yield_now().await;
    (0..limit).map(|i| format!("{query} {i}")).collect()
}

#[trace_tool(name = "weather", kind = "extension")]
fn weather(place: &Place, _opaque: Opaque, adjust: impl Fn(i32) -> i32) -> Result<BTreeMap<&'static str, i32>, String> {
    Ok(BTreeMap::from([("celsius", adjust(place.lat as i32 / 10))]))
}

#[trace_tool(name = "fail")]
fn fail((a, b): (u8, u8), mut retries: u8) -> Result<(), std::io::Error> {
    retries += a + b;
    Err(std::io::Error::other(format!("gave up after {retries}")))
}

#[trace_tool(name = "generic")]
fn generic<T: Clone>(value: T) -> impl Clone {
    value
}

#[trace_fn]
fn plain() -> u8 {
    1
}

#[trace_fn(fields(session.id = "s-1"))]
unsafe fn plain_unsafe() -> u8 {
    2
}

trait Step {
    fn step(&self) -> u8;
}

impl Step for Agent {
    #[trace_fn(span_name = "agent step")]
    fn step(&self) -> u8 {
        if self.turns > 100 {
            return 0;
        }
        self.turns as u8
    }
}

fn main() {
    let memory = Memory::default();
    let config = Config::builder().exporter(Exporter::None).capture_io(true).with_span_exporter(memory.clone());
    let guard = trace_runtime::init_with(config.build()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut agent = Agent { name: "planner".into(), turns: 0 };
    let answer = runtime.block_on(trace!("turn", async { agent.run("fjords").await }));
    assert_eq!(answer.unwrap(), "3 hits, {\"celsius\": 6}");
    assert!(agent.review("yes"));
    assert!(fail((1, 2), 0).is_err());
    let _ = generic(5u8);
    assert_eq!(plain() + unsafe { plain_unsafe() } + agent.step(), 4);
    guard.flush();
    let spans = memory.spans();

    let run = span(&spans, "invoke_agent planner");
    assert_child(run, span(&spans, "turn"));
    assert_eq!(str_attr(run, "gen_ai.agent.id"), "a-0");
    let search = span(&spans, "execute_tool search");
    assert_child(search, run);
    assert_eq!(str_attr(search, "gen_ai.tool.call.arguments"), r#"{"limit":3,"query":"fjords"}"#);
    assert_eq!(str_attr(search, "gen_ai.tool.call.result"), r#"["fjords 0","fjords 1","fjords 2"]"#);
    let weather = span(&spans, "execute_tool weather");
    assert_eq!(str_attr(weather, "gen_ai.tool.type"), "extension");
    assert_eq!(str_attr(weather, "gen_ai.tool.call.arguments"), r#"{"place":"Place { lat: 59.9 }"}"#);
    assert_eq!(str_attr(weather, "gen_ai.tool.call.result"), r#"{"celsius":6}"#);
    let fail = span(&spans, "execute_tool fail");
    assert_eq!(str_attr(fail, "gen_ai.tool.call.arguments"), r#"{"retries":0}"#, "patterns are left out");
    assert_eq!(str_attr(fail, "error.type"), "std::io::error::Error");
    assert!(!fail.attributes.iter().any(|kv| kv.key.as_str() == "gen_ai.tool.call.result"));
    let generic = span(&spans, "execute_tool generic");
    assert_eq!(str_attr(generic, "gen_ai.tool.call.arguments"), "{}", "an unbounded generic is left out");
    assert_eq!(str_attr(span(&spans, "review"), "gen_ai.agent.description"), "checks answers");
    span(&spans, "plain");
    assert_eq!(str_attr(span(&spans, "plain_unsafe"), "session.id"), "s-1");
    span(&spans, "agent step");
}
