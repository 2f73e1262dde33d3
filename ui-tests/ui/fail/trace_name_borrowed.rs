use trace_runtime::trace;

fn main() {
    let name = String::from("turn");
    let n = trace!(name.as_str(), { 42 });
    let _ = n;
}
