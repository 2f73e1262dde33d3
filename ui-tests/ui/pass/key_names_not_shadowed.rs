// The key checks bring names into scope (`audio`, `session`, ...) only around themselves: values
// that use the same names, and crates with modules of those names, are unaffected.
use trace_runtime::opentelemetry::Value;
use trace_runtime::{testing, trace, trace_pipeline};
use ui_tests::{assert_child, attr, span, str_attr};

mod keys {
    pub const RATE: i64 = 8000;
}

mod session {
    pub fn current() -> String {
        "s-7".to_string()
    }
}

#[allow(non_camel_case_types)]
struct audio {
    channels: u8,
}

mod my_keys {
    trace_runtime::define_keys! {
        pub mod app {
            tenant: String,
        }
    }
}

mod app {
    pub const TENANT: &str = "acme";
}

#[trace_pipeline(
    name = "voice",
    element = "mix",
    fields(
        audio.sample_rate = sample_rate,
        audio.channels = audio.channels,
        session.id = session::current(),
        video.width = keys::RATE,
        my_keys::app::tenant = app::TENANT,
        "id" = __trace_key,
    )
)]
fn mix(sample_rate: u32, audio: audio, __trace_key: i64) -> u32 {
    sample_rate * u32::from(audio.channels)
}

fn main() {
    let (n, spans) = testing::capture(|| {
        trace!("root", audio.sample_rate = keys::RATE, session.id = session::current().as_str(), {
            mix(16000, audio { channels: 2 }, 5)
        })
    });
    assert_eq!(n, 32000);
    let s = span(&spans, "mix");
    let root = span(&spans, "root");
    assert_child(s, root);
    assert_eq!(attr(s, "audio.sample_rate"), &Value::I64(16000));
    assert_eq!(attr(s, "audio.channels"), &Value::I64(2));
    assert_eq!(str_attr(s, "session.id"), "s-7");
    assert_eq!(attr(s, "video.width"), &Value::I64(8000));
    assert_eq!(str_attr(s, "app.tenant"), "acme");
    assert_eq!(attr(s, "id"), &Value::I64(5));
    assert_eq!(attr(root, "audio.sample_rate"), &Value::I64(8000));
    assert_eq!(str_attr(root, "session.id"), "s-7");
}
