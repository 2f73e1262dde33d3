use trace_runtime::trace;

fn main() {
    let rate = "16k";
    let n = trace!("turn", audio.sample_rate = rate, { 42 });
    let _ = n;
}
