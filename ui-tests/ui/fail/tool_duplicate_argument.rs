use trace_runtime::trace_tool;

#[trace_tool(name = "search", kind = "function", kind = "extension")]
fn search() {}

fn main() {
    search();
}
