use trace_runtime::trace;

async fn run() -> u32 {
    trace!("turn", session.id = "s-1", async {
        let n: u32 = "42";
        n
    })
    .await
}

fn main() {
    drop(run());
}
