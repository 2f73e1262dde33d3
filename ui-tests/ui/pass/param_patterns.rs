// Patterns in parameters, usable in the macro arguments and in the body.
use trace_runtime::opentelemetry::Value;
use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, attr, span};

struct Point {
    x: i64,
    y: i64,
}

#[trace_pipeline(name = "geo", element = "add", fields(video.width = a, video.height = b))]
fn add((a, b): (i32, i32)) -> i32 {
    a + b
}

#[trace_pipeline(name = "geo", element = "norm", fields(video.width = x))]
fn norm(Point { x, y }: Point, _: u8, mut scale: i64) -> i64 {
    scale *= 2;
    (x.abs() + y.abs()) * scale
}

#[trace_pipeline(name = "geo", element = "sum")]
async fn sum([first, .., last]: [u8; 3], &offset: &u8) -> u8 {
    first + last + offset
}

fn main() {
    let (out, spans) = testing::capture(|| trace!("root", { add((2, 3)) }));
    assert_eq!(out, 5);
    let s = span(&spans, "add");
    assert_child(s, span(&spans, "root"));
    assert_eq!(attr(s, "video.width"), &Value::I64(2));
    assert_eq!(attr(s, "video.height"), &Value::I64(3));

    let (out, spans) = testing::capture(|| trace!("root", { norm(Point { x: -1, y: 2 }, 0, 1) }));
    assert_eq!(out, 6);
    let s = span(&spans, "norm");
    assert_child(s, span(&spans, "root"));
    assert_eq!(attr(s, "video.width"), &Value::I64(-1));

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (out, spans) =
        runtime.block_on(testing::capture_async(trace!("root", async { sum([1, 2, 3], &4).await })));
    assert_eq!(out, 8);
    assert_child(span(&spans, "sum"), span(&spans, "root"));
}
