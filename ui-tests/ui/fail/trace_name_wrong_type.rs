use trace_runtime::trace;

fn main() {
    let step = 3;
    let n = trace!(step, { 42 });
    let _ = n;
}
