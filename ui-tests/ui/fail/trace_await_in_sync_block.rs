use trace_runtime::trace;

async fn fetch() -> u32 {
    1
}

async fn step() -> u32 {
    trace!("step", {
        let n = fetch().await;
        n + 1
    })
}

fn main() {
    let _ = step();
}
