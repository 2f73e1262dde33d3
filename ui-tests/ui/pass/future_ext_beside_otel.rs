// The kit's future extension in scope with OpenTelemetry's `FutureExt`: each call has one meaning
// (E0034, "multiple applicable items in scope", when the kit's trait reused `with_context`).
use trace_runtime::opentelemetry::context::FutureExt as _;
use trace_runtime::{TraceFutureExt, current_context, testing, trace};

fn main() {
    let (_, spans) = testing::capture(|| {
        trace!("parent", {
            let cx = current_context();
            let otel = trace_runtime::opentelemetry::Context::current();
            let kit = async { trace!("child", {}) }.in_trace(cx);
            let also = async {}.in_current_trace();
            let theirs = async {}.with_context(otel);
            drop((kit, also, theirs));
        })
    });
    assert_eq!(spans.len(), 1);
}
