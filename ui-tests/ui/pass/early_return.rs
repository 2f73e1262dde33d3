// Early `return` and `?`, sync and async: they leave the traced body, not the span bookkeeping.
use std::num::ParseIntError;

use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, assert_error, assert_unset, span};

#[trace_pipeline(name = "text", element = "parse")]
fn parse(input: &str) -> Result<i64, ParseIntError> {
    if input.is_empty() {
        return Ok(0);
    }
    let n: i64 = input.trim().parse()?;
    Ok(n * 2)
}

#[trace_pipeline(name = "text", element = "first_even")]
fn first_even(items: &[u32]) -> Option<u32> {
    for &i in items {
        if i % 2 == 0 {
            return Some(i);
        }
    }
    let last = items.last()?;
    Some(last + 1)
}

#[trace_pipeline(name = "text", element = "parse_async")]
async fn parse_async(input: &str) -> Result<i64, Box<dyn std::error::Error>> {
    if input == "skip" {
        return Ok(-1);
    }
    tokio::task::yield_now().await;
    let n: i64 = input.parse()?;
    Ok(n)
}

#[trace_pipeline(name = "text", element = "halve_async")]
async fn halve_async(n: Option<u32>) -> Option<u32> {
    let n = n?;
    if n % 2 == 1 {
        return None;
    }
    Some(n / 2)
}

fn main() {
    let (out, spans) =
        testing::capture(|| trace!("root", { (parse(""), parse(" 21"), parse("x").is_err()) }));
    assert_eq!(out, (Ok(0), Ok(42), true));
    assert_eq!(spans.len(), 4);
    let root = span(&spans, "root");
    let parses: Vec<_> = spans.iter().filter(|s| s.name == "parse").collect();
    for s in &parses {
        assert_child(s, root);
    }
    assert_unset(parses[0]);
    assert_unset(parses[1]);
    assert_error(parses[2], "invalid digit found in string");

    let (out, spans) = testing::capture(|| (first_even(&[1, 4]), first_even(&[]), first_even(&[3])));
    assert_eq!(out, (Some(4), None, Some(4)));
    assert_eq!(spans.len(), 3);

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (out, spans) = runtime.block_on(testing::capture_async(trace!("root", async {
        let skipped = parse_async("skip").await.unwrap();
        let parsed = parse_async("5").await.unwrap();
        let failed = parse_async("five").await.is_err();
        (
            skipped,
            parsed,
            failed,
            halve_async(None).await,
            halve_async(Some(3)).await,
            halve_async(Some(4)).await,
        )
    })));
    assert_eq!(out, (-1, 5, true, None, None, Some(2)));
    assert_eq!(spans.len(), 7);
    let root = span(&spans, "root");
    for s in spans.iter().filter(|s| s.name != "root") {
        assert_child(s, root);
    }
    let failed = spans.iter().filter(|s| s.name == "parse_async").nth(2).unwrap();
    assert_error(failed, "invalid digit found in string");
}
