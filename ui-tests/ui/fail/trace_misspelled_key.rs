use trace_runtime::trace;

fn main() {
    let n = trace!("turn", conection.id = "c-1", { 42 });
    let _ = n;
}
