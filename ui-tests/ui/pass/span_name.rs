// `span_name = "..."` overrides the default name on every flavor.
use trace_runtime::{testing, trace, trace_connection, trace_llm, trace_pipeline};
use ui_tests::{assert_child, span, str_attr};

struct Client {
    model: String,
}

impl Client {
    #[trace_llm(provider = "openai", model = self.model.as_str(), span_name = "llm call")]
    fn complete(&self) -> usize {
        self.model.len()
    }
}

#[trace_pipeline(name = "voice", element = "stt", span_name = "voice.stt")]
fn transcribe() -> &'static str {
    "hello"
}

#[trace_connection(id = "c-1", kind = "webrtc", span_name = "webrtc offer")]
fn offer() {}

fn main() {
    let client = Client { model: "gpt-4o".into() };
    let (_, spans) = testing::capture(|| {
        trace!("root", {
            client.complete();
            transcribe();
            offer();
        })
    });
    assert_eq!(spans.len(), 4);
    let root = span(&spans, "root");
    let llm = span(&spans, "llm call");
    assert_child(llm, root);
    assert_eq!(str_attr(llm, "gen_ai.request.model"), "gpt-4o");
    assert_child(span(&spans, "voice.stt"), root);
    assert_child(span(&spans, "webrtc offer"), root);
}
