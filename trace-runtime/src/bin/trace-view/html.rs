//! `trace-view html`: one trace as a self-contained page — the page `serve` shows (waterfall with
//! a time axis, grouped repeated siblings, errors marked up the tree, legend, per-model totals,
//! span details) with the trace inlined as JSON, so it opens from disk with no server and no
//! network.

use trace_runtime::store::StoredSpan;

/// The page with `trace_id`'s spans inlined.
pub(crate) fn render(trace_id: &str, spans: &[StoredSpan]) -> String {
    let data = serde_json::json!({ "trace_id": trace_id, "spans": spans }).to_string();
    // Inside `<script>`, `</script>` in a span name would end the element: `<` is written as the
    // JSON escape `\u003c`, which `JSON.parse` reads back as `<`.
    let data = data.replace('<', "\\u003c");
    let page = super::serve::PAGE;
    let block = format!("<script type=\"application/json\" id=\"trace-data\">{data}</script>\n<script>");
    page.replacen("<script>", &block, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_cannot_end_the_data_element() {
        let span: StoredSpan = serde_json::from_value(serde_json::json!({
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7",
            "name": "</script><script>alert(1)</script>", "kind": "internal", "duration": 1.0,
            "start_time": "2024-12-01T00:00:00Z", "end_time": "2024-12-01T00:00:01Z",
        }))
        .unwrap();
        let page = render("4bf92f3577b34da6a3ce929d0e0e4736", &[span]);
        assert!(!page.contains("</script><script>alert"), "{page}");
        assert!(page.contains("\\u003c/script>\\u003cscript>alert(1)"));
        assert_eq!(page.matches("id=\"trace-data\"").count(), 1);
    }
}
