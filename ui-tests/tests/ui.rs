//! Pass cases run the traced code and check the exported span; fail cases pin the diagnostics.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
