use trace_runtime::trace_fn;

#[trace_fn(fields(user.id = 42))]
fn plan() {}

fn main() {
    plan();
}
