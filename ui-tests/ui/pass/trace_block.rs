// `trace!`: a sync block with a value, an `async move` block, and a non-literal name.
use trace_runtime::opentelemetry::Value;
use trace_runtime::{testing, trace};
use ui_tests::{assert_child, assert_error, attr, span, str_attr};

fn main() {
    let (n, spans) = testing::capture(|| {
        trace!("outer", session.id = "s-1", {
            let a = trace!("inner", audio.channels = 2, { 40 });
            a + 2
        })
    });
    assert_eq!(n, 42);
    let outer = span(&spans, "outer");
    let inner = span(&spans, "inner");
    assert_child(inner, outer);
    assert_eq!(str_attr(outer, "session.id"), "s-1");
    assert_eq!(attr(inner, "audio.channels"), &Value::I64(2));

    // The block's value is returned untouched, its type inferred from the context; an error is
    // marked with `span::record_error`.
    let (r, spans) = testing::capture(|| {
        let digits: Vec<_> = trace!("collect", { "a1b2".chars().filter(char::is_ascii_digit).collect() });
        trace!("fails", {
            let r = "x".parse::<u8>();
            if let Err(e) = &r {
                trace_runtime::span::record_error(e);
            }
            (digits, r)
        })
    });
    assert_eq!(r.0, ['1', '2']);
    assert!(r.1.is_err());
    assert_error(span(&spans, "fails"), "invalid digit found in string");

    // An `async move` block evaluates to a future; a name can be any `String` / `&'static str`.
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let sid = String::from("s-2");
    let step = 3;
    let (out, spans) = runtime.block_on(testing::capture_async(trace!("outer", async {
        let name = format!("step {step}");
        let fut = trace!(name, session.id = sid.as_str(), async move {
            tokio::task::yield_now().await;
            sid.len()
        });
        let label: &'static str = "label";
        let fixed = trace!(label, { 1 });
        fut.await + fixed
    })));
    assert_eq!(out, 4);
    let outer = span(&spans, "outer");
    let step = span(&spans, "step 3");
    assert_child(step, outer);
    assert_child(span(&spans, "label"), outer);
    assert_eq!(str_attr(step, "session.id"), "s-2");
}
