use trace_runtime::trace_fn;

#[trace_fn(name = "plan")]
fn plan() {}

fn main() {
    plan();
}
