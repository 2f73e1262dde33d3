// The expansions need no `unsafe`: a crate that forbids it can use every macro.
#![forbid(unsafe_code)]

use trace_runtime::{testing, trace, trace_connection, trace_llm, trace_pipeline};
use ui_tests::{assert_child, span};

mod keys {
    trace_runtime::define_keys! {
        pub mod app {
            tenant: String,
        }
    }
}

#[trace_llm(provider = "openai", model = "gpt-4o", fields(keys::app::tenant = "acme"))]
async fn complete() -> Result<u8, String> {
    Ok(1)
}

#[trace_pipeline(name = "voice", element = "vad")]
fn vad(frame: &[i16]) -> bool {
    frame.iter().any(|s| s.abs() > 1000)
}

#[trace_connection(id = "c-1", kind = "sip")]
fn dial() {}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (out, spans) = runtime.block_on(testing::capture_async(trace!("root", async {
        dial();
        vad(&[0, 4000]) && complete().await.is_ok()
    })));
    assert!(out);
    assert_eq!(spans.len(), 4);
    let root = span(&spans, "root");
    for name in ["chat gpt-4o", "vad", "dial"] {
        assert_child(span(&spans, name), root);
    }
}
