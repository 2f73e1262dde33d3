use trace_runtime::trace_agent;

#[trace_agent(name = "planner")]
struct Planner;

fn main() {}
