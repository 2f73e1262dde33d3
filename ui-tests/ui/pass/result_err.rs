// A `Result` return: `Err` sets status Error with the error's Display text, `Ok` leaves it unset.
use std::fmt;

use trace_runtime::{testing, trace, trace_connection, trace_llm};
use ui_tests::{assert_child, assert_error, assert_unset, span};

#[derive(Debug)]
struct RateLimited {
    retry_after: u32,
}

impl fmt::Display for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rate limited, retry after {}s", self.retry_after)
    }
}

#[trace_llm(provider = "openai", model = "gpt-4o")]
fn complete(fail: bool) -> Result<String, RateLimited> {
    if fail { Err(RateLimited { retry_after: 3 }) } else { Ok("ok".into()) }
}

#[derive(Debug)]
struct DebugOnly;

#[trace_connection(id = "c-1", kind = "sip")]
async fn dial() -> Result<(), DebugOnly> {
    tokio::task::yield_now().await;
    Err(DebugOnly)
}

fn main() {
    let (out, spans) = testing::capture(|| trace!("root", { complete(true) }));
    assert_eq!(out.unwrap_err().retry_after, 3);
    let s = span(&spans, "chat gpt-4o");
    assert_child(s, span(&spans, "root"));
    assert_error(s, "rate limited, retry after 3s");

    let (out, spans) = testing::capture(|| complete(false));
    assert_eq!(out.unwrap(), "ok");
    assert_unset(span(&spans, "chat gpt-4o"));

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (out, spans) = runtime.block_on(testing::capture_async(trace!("root", async { dial().await })));
    assert!(out.is_err());
    let s = span(&spans, "dial");
    assert_child(s, span(&spans, "root"));
    assert_error(s, "DebugOnly");
}
