use trace_runtime::trace_agent;

#[trace_agent(id = "agent-1")]
fn run() {}

fn main() {
    run();
}
