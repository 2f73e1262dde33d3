use trace_runtime::{Usage, trace_llm};

struct Reply {
    tokens: u64,
}

fn usage_of(tokens: u64) -> Usage {
    Usage { output_tokens: tokens, ..Default::default() }
}

#[trace_llm(provider = "openai", model = "gpt-4o", usage = usage_of)]
fn complete() -> Result<Reply, String> {
    Ok(Reply { tokens: 3 })
}

fn main() {
    let _ = complete().map(|r| r.tokens);
}
