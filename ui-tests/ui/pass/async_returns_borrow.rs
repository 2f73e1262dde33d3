// Async methods that return borrows of `self` (elided lifetimes), with literal attributes only and
// with one from an argument: the traced future hands the borrow back unchanged. A fn whose
// argument hides a lifetime (`Ref<'_, u8>`) keeps it in its future too.
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

#[trace_pipeline(name = "voice", element = "peek")]
async fn peek(frame: std::cell::Ref<u8>, at: &usize) -> u8 {
    tokio::task::yield_now().await;
    *frame + *at as u8
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cell = std::cell::RefCell::new(4u8);
    let (sum, spans) = testing::capture_async(peek(cell.borrow(), &1)).await;
    assert_eq!(sum, 5);
    assert_eq!(str_attr(span(&spans, "peek"), "pipeline.element"), "peek");

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
