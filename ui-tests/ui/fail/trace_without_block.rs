use trace_runtime::trace;

fn main() {
    let n = trace!("turn", session.id = "s-1", 40 + 2);
    let _ = n;
}
