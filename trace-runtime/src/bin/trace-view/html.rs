//! A self-contained HTML waterfall of one trace: inline CSS and a few lines of inline JS, no
//! network, readable without JS (details are `<details>` elements).

use std::fmt::Write as _;
use std::time::Duration;

use trace_runtime::store::{SpanStatus, StoredSpan};

use crate::{format, tree};

const STYLE: &str = "
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:16px;margin:0 0 4px}
.meta{color:#666;margin-bottom:12px}
.row{display:grid;grid-template-columns:minmax(220px,32%) 1fr;border-top:1px solid #eee}
.name{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding:3px 4px}
.lane{position:relative;height:22px}
.bar{position:absolute;top:5px;height:12px;min-width:2px;border-radius:2px;background:#4e79a7}
.bar.error{background:#e15759}.bar.client{background:#59a14f}
.label{position:absolute;top:3px;font-size:11px;color:#444;white-space:nowrap}
.label.in{color:#fff}
details{grid-column:1/3;padding:2px 8px 6px;background:#fafafa}
summary{cursor:pointer;color:#555}
table{border-collapse:collapse;font-family:ui-monospace,monospace;font-size:12px}
td{padding:1px 8px 1px 0;vertical-align:top;word-break:break-all}
#toggle{margin-bottom:8px}
";

const SCRIPT: &str = "
document.getElementById('toggle').onclick=function(){
  var all=document.querySelectorAll('details'),open=!all[0]||!all[0].open;
  all.forEach(function(d){d.open=open});
};
";

/// The page.
pub(crate) fn render(trace_id: &str, spans: &[StoredSpan]) -> String {
    let tree::Overview { order, name, start, total, tokens, .. } = tree::overview(spans);
    let mut body = String::new();
    for (depth, span) in &order {
        let offset = match start {
            Some(s) => span.start_time.duration_since(s).unwrap_or(Duration::ZERO).as_secs_f64(),
            None => 0.0,
        };
        let (left, width) = if total > 0.0 {
            (offset / total * 100.0, (span.duration / total * 100.0).max(0.2))
        } else {
            (0.0, 100.0)
        };
        let class = match (span.status, span.kind.as_str()) {
            (SpanStatus::Error, _) => "bar error",
            (_, "client") => "bar client",
            _ => "bar",
        };
        // Beside the bar, or inside it (in white) when the bar reaches the right edge.
        let (label_left, label_class) =
            if left + width < 85.0 { (left + width + 0.5, "label") } else { (left + 0.5, "label in") };
        let _ = write!(
            body,
            "<div class=\"row\"><div class=\"name\" style=\"padding-left:{}px\" title=\"{}\">{}</div>\
             <div class=\"lane\"><div class=\"{class}\" style=\"left:{left:.3}%;width:{width:.3}%\"></div>\
             <span class=\"{label_class}\" style=\"left:{label_left:.3}%\">{}</span></div>",
            4 + depth * 16,
            escape(&span.name),
            escape(&span.name),
            escape(&format::duration(span.duration)),
        );
        body.push_str("<details><summary>details</summary><table>");
        let mut field = |k: &str, v: String| {
            let _ = write!(body, "<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(&v));
        };
        field("span id", span.span_id.clone());
        field("kind", span.kind.clone());
        field("start", format::when(span.start_time));
        field("duration", format::duration(span.duration));
        field(
            "status",
            match &span.status_message {
                Some(m) => format!("{}: {m}", span.status.as_str()),
                None => span.status.as_str().to_string(),
            },
        );
        if let Some(u) = &span.usage {
            field("model", u.model.clone().unwrap_or_default());
            field(
                "tokens",
                format!("in {} · out {} · total {}", u.input_tokens, u.output_tokens, u.total_tokens),
            );
            field("cost", format::cost(u.cost));
        }
        for (k, v) in &span.attributes {
            field(k, v.as_str().map_or_else(|| v.to_string(), str::to_string));
        }
        for e in &span.events {
            let at = e.time.duration_since(span.start_time).unwrap_or(Duration::ZERO).as_secs_f64();
            let attrs: Vec<String> = e.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
            field(&format!("event +{}", format::duration(at)), format!("{} {}", e.name, attrs.join(" ")));
        }
        body.push_str("</table></details></div>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>trace {short} · {title}</title><style>{STYLE}</style></head><body>\n\
         <h1>{title}</h1><div class=\"meta\">trace {trace} · {when} UTC · {dur} · {n} span(s) · {tokens} tokens</div>\n\
         <button id=\"toggle\">expand / collapse all</button>\n{body}<script>{SCRIPT}</script></body></html>\n",
        short = escape(trace_id.get(..8).unwrap_or(trace_id)),
        title = escape(name),
        trace = escape(trace_id),
        when = start.map(format::when).unwrap_or_default(),
        dur = format::duration(total),
        n = spans.len(),
    )
}

/// Text safe in HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_escaped() {
        assert_eq!(super::escape("<script>\"a\" & 'b'"), "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;");
    }
}
