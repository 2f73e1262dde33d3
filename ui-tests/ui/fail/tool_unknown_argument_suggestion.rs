use trace_runtime::trace_tool;

#[trace_tool(name = "search", callid = "call_1")]
fn search() {}

fn main() {
    search();
}
