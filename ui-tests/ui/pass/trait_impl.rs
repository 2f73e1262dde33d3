// Methods of a trait impl, sync and async, including default methods in the trait, sync and async.
use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, span, str_attr};

trait Stage {
    fn process(&mut self, input: &[i16]) -> Vec<i16>;

    #[trace_pipeline(name = "voice", element = "describe")]
    fn describe(&self) -> String {
        "stage".to_string()
    }
}

struct Gain(i16);

impl Stage for Gain {
    #[trace_pipeline(name = "voice", element = "gain", fields(audio.channels = 1))]
    fn process(&mut self, input: &[i16]) -> Vec<i16> {
        input.iter().map(|s| s * self.0).collect()
    }
}

trait Source {
    async fn next_frame(&mut self) -> Option<u32>;

    #[trace_pipeline(name = "voice", element = "skip")]
    async fn skip(&mut self, frames: u32) -> u32 {
        tokio::task::yield_now().await;
        frames
    }
}

struct Counter(u32);

impl Source for Counter {
    #[trace_pipeline(name = "voice", element = "source")]
    async fn next_frame(&mut self) -> Option<u32> {
        tokio::task::yield_now().await;
        self.0 += 1;
        Some(self.0)
    }
}

fn run(stage: &mut dyn Stage) -> Vec<i16> {
    stage.process(&[1, 2])
}

fn main() {
    let mut gain = Gain(3);
    let (out, spans) = testing::capture(|| trace!("root", { run(&mut gain) }));
    assert_eq!(out, [3, 6]);
    let s = span(&spans, "process");
    assert_child(s, span(&spans, "root"));
    assert_eq!(str_attr(s, "pipeline.element"), "gain");

    let (text, spans) = testing::capture(|| trace!("root", { gain.describe() }));
    assert_eq!(text, "stage");
    assert_child(span(&spans, "describe"), span(&spans, "root"));

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut counter = Counter(0);
    let (n, spans) =
        runtime.block_on(testing::capture_async(trace!("root", async { counter.next_frame().await })));
    assert_eq!(n, Some(1));
    assert_child(span(&spans, "next_frame"), span(&spans, "root"));

    let (n, spans) = runtime.block_on(testing::capture_async(trace!("root", async { counter.skip(3).await })));
    assert_eq!(n, 3);
    assert_child(span(&spans, "skip"), span(&spans, "root"));
}
