// Async methods that return borrows of `self` (elided lifetimes), with literal attributes only and
// with one from an argument: the traced future hands the borrow back unchanged.
use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, span, str_attr};

struct Decoder {
    name: String,
    frames: Vec<u8>,
}

impl Decoder {
    #[trace_pipeline(name = "voice", element = "decode")]
    async fn name(&self) -> &str {
        tokio::task::yield_now().await;
        &self.name
    }

    #[trace_pipeline(name = "voice", element = codec)]
    async fn frame(&mut self, codec: &str, at: usize) -> Option<&mut u8> {
        tokio::task::yield_now().await;
        let _ = codec;
        self.frames.get_mut(at)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut dec = Decoder { name: "opus".into(), frames: vec![1, 2] };
    let (name, spans) = testing::capture_async(trace!("root", async { dec.name().await.to_string() })).await;
    assert_eq!(name, "opus");
    assert_child(span(&spans, "name"), span(&spans, "root"));

    let ((), spans) = testing::capture_async(trace!("root", async {
        if let Some(f) = dec.frame("opus", 1).await {
            *f = 9;
        }
    }))
    .await;
    assert_eq!(dec.frames, [1, 9]);
    let frame = span(&spans, "frame");
    assert_child(frame, span(&spans, "root"));
    assert_eq!(str_attr(frame, "pipeline.element"), "opus");
}
