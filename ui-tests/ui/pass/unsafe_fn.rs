// `unsafe fn`: the body keeps its `unsafe` blocks; callers still need `unsafe`.
use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, span};

/// # Safety
/// `ptr` must be valid for reads of `len` elements.
#[trace_pipeline(name = "voice", element = "sum")]
unsafe fn sum(ptr: *const i16, len: usize) -> i32 {
    let samples = unsafe { std::slice::from_raw_parts(ptr, len) };
    samples.iter().map(|&s| i32::from(s)).sum()
}

fn main() {
    let samples = [1i16, 2, 3];
    let (total, spans) =
        testing::capture(|| trace!("root", { unsafe { sum(samples.as_ptr(), samples.len()) } }));
    assert_eq!(total, 6);
    assert_child(span(&spans, "sum"), span(&spans, "root"));
}
