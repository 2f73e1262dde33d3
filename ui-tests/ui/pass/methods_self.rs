// Methods taking `&self` and `&mut self`, with macro arguments that read `self`.
use trace_runtime::opentelemetry::Value;
use trace_runtime::{testing, trace, trace_connection, trace_llm};
use ui_tests::{assert_child, attr, span, str_attr};

struct Client {
    model: String,
    calls: u32,
}

impl Client {
    #[trace_llm(provider = "openai", model = self.model.as_str(), fields(gen_ai.request.max_tokens = self.calls))]
    fn complete(&self, prompt: &str) -> String {
        format!("{}: {prompt}", self.model)
    }

    #[trace_llm(provider = "openai", model = self.model.as_str(), fields(gen_ai.request.seed = self.calls))]
    fn complete_mut(&mut self, prompt: &str) -> usize {
        self.calls += 1;
        self.model.push_str("-next");
        prompt.len() + self.calls as usize
    }

    #[trace_llm(provider = "anthropic", model = self.model.clone())]
    async fn complete_async(&mut self) -> u32 {
        tokio::task::yield_now().await;
        self.calls += 1;
        self.calls
    }
}

struct Conn {
    id: String,
    state: &'static str,
}

impl Conn {
    #[trace_connection(id = &self.id, kind = "websocket", state = self.state)]
    fn close(&mut self) -> bool {
        self.state = "closed";
        true
    }
}

fn main() {
    let mut client = Client { model: "gpt-4o".into(), calls: 7 };

    let (out, spans) = testing::capture(|| trace!("root", { client.complete("hi") }));
    assert_eq!(out, "gpt-4o: hi");
    let s = span(&spans, "chat gpt-4o");
    assert_child(s, span(&spans, "root"));
    assert_eq!(str_attr(s, "gen_ai.request.model"), "gpt-4o");
    assert_eq!(attr(s, "gen_ai.request.max_tokens"), &Value::I64(7));

    // Arguments are evaluated when the span starts, before the body changes `self`.
    let (out, spans) = testing::capture(|| trace!("root", { client.complete_mut("hi") }));
    assert_eq!(out, 10);
    assert_eq!(client.calls, 8);
    assert_eq!(client.model, "gpt-4o-next");
    let s = span(&spans, "chat gpt-4o");
    assert_child(s, span(&spans, "root"));
    assert_eq!(attr(s, "gen_ai.request.seed"), &Value::I64(7));

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (out, spans) =
        runtime.block_on(testing::capture_async(trace!("root", async { client.complete_async().await })));
    assert_eq!(out, 9);
    let s = span(&spans, "chat gpt-4o-next");
    assert_child(s, span(&spans, "root"));
    assert_eq!(str_attr(s, "gen_ai.provider.name"), "anthropic");

    let mut conn = Conn { id: "c-1".into(), state: "connected" };
    let (closed, spans) = testing::capture(|| trace!("root", { conn.close() }));
    assert!(closed);
    assert_eq!(conn.state, "closed");
    let s = span(&spans, "close");
    assert_child(s, span(&spans, "root"));
    assert_eq!(str_attr(s, "connection.id"), "c-1");
    assert_eq!(str_attr(s, "connection.type"), "websocket");
    assert_eq!(str_attr(s, "connection.state"), "connected");
}
