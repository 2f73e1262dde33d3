use trace_runtime::trace;

fn main() {
    trace!("turn", session.id = "s-1");
}
