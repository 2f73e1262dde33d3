// `-> impl Iterator<Item = ..>` on a sync fn and `async fn -> impl Display`.
use std::fmt::Display;

use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, span};

#[trace_pipeline(name = "voice", element = "frames")]
fn frames(samples: &[i16], size: usize) -> impl Iterator<Item = &[i16]> + '_ {
    samples.chunks(size)
}

#[trace_pipeline(name = "voice", element = "evens")]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    if limit == 0 {
        return (0..0).step_by(2);
    }
    (0..limit).step_by(2)
}

#[trace_pipeline(name = "text", element = "label")]
async fn label(n: u32) -> impl Display {
    tokio::task::yield_now().await;
    format!("#{n}")
}

fn main() {
    let samples = [1, 2, 3, 4, 5];
    let (count, spans) = testing::capture(|| trace!("root", { frames(&samples, 2).count() }));
    assert_eq!(count, 3);
    assert_child(span(&spans, "frames"), span(&spans, "root"));

    let (v, spans) = testing::capture(|| trace!("root", { evens(7).collect::<Vec<_>>() }));
    assert_eq!(v, [0, 2, 4, 6]);
    assert_child(span(&spans, "evens"), span(&spans, "root"));
    assert_eq!(evens(0).count(), 0);

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (text, spans) =
        runtime.block_on(testing::capture_async(trace!("root", async { label(3).await.to_string() })));
    assert_eq!(text, "#3");
    assert_child(span(&spans, "label"), span(&spans, "root"));
}
