// Keys in `fields(...)` and `trace!`: dotted (incl. the keyword segment `type`: `connection.type`
// via `kind`, `message.type` as written, `connection.r#type`), string-literal (unchecked), and user
// keys declared with `define_keys!`, used by path.
use trace_runtime::opentelemetry::Value;
use trace_runtime::{testing, trace, trace_connection};
use ui_tests::{assert_child, attr, span, str_attr};

mod my_keys {
    trace_runtime::define_keys! {
        pub mod app {
            /// Tenant of the request.
            tenant: String,
            /// Retries so far.
            retries: i64 = "app.retry_count",
        }
    }
}

#[trace_connection(
    id = conn,
    kind = "webrtc",
    fields(
        message.type = "audio",
        gen_ai.output.type = String::from("text"),
        gen_ai.usage.cache_read.input_tokens = 5u8,
        "app.tenant" = tenant,
        "app.static" = "literal",
        my_keys::app::tenant = tenant.to_string(),
        my_keys::app::retries = 2,
        session.id = "s-9",
    )
)]
fn open(conn: &str, tenant: &str) -> usize {
    conn.len() + tenant.len()
}

fn main() {
    let (n, spans) = testing::capture(|| {
        trace!("root", connection.r#type = "ws", "app.req" = 9, my_keys::app::retries = 1u32, {
            open("c-1", "acme")
        })
    });
    assert_eq!(n, 7);
    let s = span(&spans, "open");
    let root = span(&spans, "root");
    assert_child(s, root);
    assert_eq!(str_attr(s, "connection.id"), "c-1");
    assert_eq!(str_attr(s, "connection.type"), "webrtc");
    assert_eq!(str_attr(s, "message.type"), "audio");
    assert_eq!(str_attr(s, "gen_ai.output.type"), "text");
    assert_eq!(attr(s, "gen_ai.usage.cache_read.input_tokens"), &Value::I64(5));
    assert_eq!(str_attr(s, "app.static"), "literal");
    assert_eq!(str_attr(s, "session.id"), "s-9");
    assert_eq!(attr(s, "app.retry_count"), &Value::I64(2));
    // Given twice (unchecked and by the user's key): exported once.
    assert_eq!(s.attributes.iter().filter(|kv| kv.key.as_str() == "app.tenant").count(), 1);
    assert_eq!(str_attr(s, "app.tenant"), "acme");
    assert_eq!(str_attr(root, "connection.type"), "ws");
    assert_eq!(attr(root, "app.req"), &Value::I64(9));
    assert_eq!(attr(root, "app.retry_count"), &Value::I64(1));
    assert_eq!(my_keys::app::tenant.name(), "app.tenant");
}
