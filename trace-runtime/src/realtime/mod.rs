//! Helpers for the realtime half: speech to text, text to speech, audio and video processing,
//! connection lifecycle and pipeline push/pull, all written through the typed [`keys`].
//!
//! Each helper works on the current span (usually one made by `#[trace_pipeline]`,
//! `#[trace_connection]` or `trace!`) and does nothing outside one. Attribute helpers cost what
//! [`span::set`] costs; lifecycle helpers add an event (an allocation: use them for rare
//! things — a connection opening, a state change — and attributes for per-frame ones).
//!
//! ```
//! use std::time::Duration;
//! use trace_runtime::{realtime, testing, trace_connection, trace_pipeline};
//!
//! #[trace_pipeline(name = "voice", element = "stt")]
//! fn transcribe(audio: &[i16]) -> String {
//!     realtime::stt("deepgram", "nova-3", Some("en-US"));
//!     let text = "hello".to_string();
//!     realtime::stt_result(Duration::from_millis(audio.len() as u64 / 16), text.len(), Some(Duration::from_millis(180)));
//!     text
//! }
//!
//! #[trace_connection(id = "c-1", kind = "websocket")]
//! fn serve() {
//!     realtime::connection_created("c-1", "websocket");
//!     realtime::connection_state("connecting", "connected");
//!     realtime::message_received(640, "audio");
//! }
//!
//! let (_, spans) = testing::capture(|| { transcribe(&[0; 16_000]); serve(); });
//! let get = |k: &str| spans[0].attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
//! assert_eq!(get("stt.model").as_deref(), Some("nova-3"));
//! assert_eq!(get("stt.audio_duration_ms").as_deref(), Some("1000"));
//! let events: Vec<_> = spans[1].events.iter().map(|e| e.name.as_ref()).collect();
//! assert_eq!(events, ["connection.created", "connection.state_change", "message.received"]);
//! ```

pub(crate) mod turn;

use std::time::Duration;

use opentelemetry::KeyValue;

use crate::keys::{self, Key};
use crate::record::value::{Attr, AttrValue};
use crate::span;

pub use turn::{Milestone, Turn};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn kv<T>(key: Key<T>, value: impl Into<opentelemetry::Value>) -> KeyValue {
    KeyValue::new(key.name(), value)
}

/// A speech-to-text call: `stt.provider`, `stt.model` and, if known, `stt.language` (BCP 47).
pub fn stt(provider: &str, model: &str, language: Option<&str>) {
    span::set(keys::stt::provider, provider);
    span::set(keys::stt::model, model);
    if let Some(language) = language {
        span::set(keys::stt::language, language);
    }
}

/// What a speech-to-text call did: `stt.audio_duration_ms`, `stt.characters` and, if measured,
/// `stt.time_to_first_byte_ms`.
pub fn stt_result(audio: Duration, characters: usize, time_to_first_byte: Option<Duration>) {
    span::set(keys::stt::audio_duration_ms, ms(audio));
    span::set(keys::stt::characters, count(characters));
    if let Some(ttfb) = time_to_first_byte {
        span::set(keys::stt::time_to_first_byte_ms, ms(ttfb));
    }
}

/// A text-to-speech call: `tts.provider`, `tts.model`, `tts.voice` and, if known,
/// `tts.language`.
///
/// ```
/// use std::time::Duration;
/// use trace_runtime::{realtime, testing, trace};
///
/// let (_, spans) = testing::capture(|| trace!("speak", {
///     realtime::tts("elevenlabs", "eleven_flash_v2_5", "rachel", None);
///     realtime::tts_result(42, Duration::from_millis(2300), Some(Duration::from_millis(95)));
/// }));
/// let get = |k: &str| spans[0].attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
/// assert_eq!(get("tts.voice").as_deref(), Some("rachel"));
/// assert_eq!(get("tts.characters").as_deref(), Some("42"));
/// assert_eq!(get("tts.time_to_first_byte_ms").as_deref(), Some("95"));
/// ```
pub fn tts(provider: &str, model: &str, voice: &str, language: Option<&str>) {
    span::set(keys::tts::provider, provider);
    span::set(keys::tts::model, model);
    span::set(keys::tts::voice, voice);
    if let Some(language) = language {
        span::set(keys::tts::language, language);
    }
}

/// What a text-to-speech call did: `tts.characters`, `tts.audio_duration_ms` and, if measured,
/// `tts.time_to_first_byte_ms`.
pub fn tts_result(characters: usize, audio: Duration, time_to_first_byte: Option<Duration>) {
    span::set(keys::tts::characters, count(characters));
    span::set(keys::tts::audio_duration_ms, ms(audio));
    if let Some(ttfb) = time_to_first_byte {
        span::set(keys::tts::time_to_first_byte_ms, ms(ttfb));
    }
}

/// The format of audio: sample rate in Hz, channels, codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioFormat<'a> {
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u16,
    /// Codec, e.g. `pcm_s16le`, `opus`.
    pub codec: &'a str,
}

/// Audio processing: `audio.operation`, the input format (`audio.sample_rate`,
/// `audio.channels`, `audio.codec`), `audio.input_bytes` and `audio.output_bytes`.
///
/// ```
/// use trace_runtime::{realtime::{self, AudioFormat}, testing, trace};
///
/// let pcm = AudioFormat { sample_rate: 48_000, channels: 2, codec: "pcm_s16le" };
/// let (_, spans) = testing::capture(|| trace!("resample", {
///     realtime::audio("resample", pcm, 3840, 640);
///     realtime::audio_output_rate(16_000);
/// }));
/// assert_eq!(spans[0].attributes.len(), 9); // 7 audio keys + the code location (file, line)
/// ```
pub fn audio(operation: &str, input: AudioFormat<'_>, input_bytes: usize, output_bytes: usize) {
    span::set(keys::audio::operation, operation);
    span::set(keys::audio::sample_rate, input.sample_rate);
    span::set(keys::audio::channels, input.channels);
    span::set(keys::audio::codec, input.codec);
    span::set(keys::audio::input_bytes, count(input_bytes));
    span::set(keys::audio::output_bytes, count(output_bytes));
}

/// The output sample rate of a resampler: `audio.output_sample_rate`.
pub fn audio_output_rate(sample_rate: u32) {
    span::set(keys::audio::output_sample_rate, sample_rate);
}

/// The format of video: frame size, frame rate, codec.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoFormat<'a> {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second.
    pub frame_rate: f64,
    /// Codec, e.g. `vp8`, `h264`.
    pub codec: &'a str,
}

/// Video processing: `video.operation`, the input format (`video.width`, `video.height`,
/// `video.frame_rate`, `video.codec`), `video.input_bytes` and `video.output_bytes`.
///
/// ```
/// use trace_runtime::{realtime::{self, VideoFormat}, testing, trace};
///
/// let vp8 = VideoFormat { width: 1280, height: 720, frame_rate: 30.0, codec: "vp8" };
/// let (_, spans) = testing::capture(|| trace!("decode", { realtime::video("decode", vp8, 9_000, 1_382_400) }));
/// assert!(spans[0].attributes.iter().any(|kv| kv.key.as_str() == "video.output_bytes"));
/// ```
pub fn video(operation: &str, input: VideoFormat<'_>, input_bytes: usize, output_bytes: usize) {
    span::set(keys::video::operation, operation);
    span::set(keys::video::width, input.width);
    span::set(keys::video::height, input.height);
    span::set(keys::video::frame_rate, input.frame_rate);
    span::set(keys::video::codec, input.codec);
    span::set(keys::video::input_bytes, count(input_bytes));
    span::set(keys::video::output_bytes, count(output_bytes));
}

/// A connection was created: event `connection.created` with `connection.id` and
/// `connection.type`, which are also set on the span.
pub fn connection_created(id: &str, kind: &str) {
    if !span::is_recording() {
        return;
    }
    span::set(keys::connection::id, id);
    span::set(keys::connection::r#type, kind);
    span::add_event(
        "connection.created",
        [kv(keys::connection::id, id.to_string()), kv(keys::connection::r#type, kind.to_string())],
    );
}

/// A connection changed state: event `connection.state_change` with
/// `connection.previous_state` and `connection.state`; the span's `connection.state` becomes
/// `new`.
pub fn connection_state(old: &str, new: &str) {
    if !span::is_recording() {
        return;
    }
    span::set(keys::connection::state, new);
    span::add_event(
        "connection.state_change",
        [kv(keys::connection::previous_state, old.to_string()), kv(keys::connection::state, new.to_string())],
    );
}

fn message(event: &'static str, direction: &'static str, size: usize, kind: &str) {
    if !span::is_recording() {
        return;
    }
    span::add_event(
        event,
        [
            kv(keys::connection::direction, direction),
            kv(keys::message::size, count(size)),
            kv(keys::message::r#type, kind.to_string()),
        ],
    );
}

/// A message was sent: event `message.sent` with `connection.direction = send`,
/// `message.size` (bytes) and `message.type`.
pub fn message_sent(size: usize, kind: &str) {
    message("message.sent", "send", size, kind);
}

/// A message was received: event `message.received` with `connection.direction = receive`,
/// `message.size` and `message.type`.
pub fn message_received(size: usize, kind: &str) {
    message("message.received", "receive", size, kind);
}

/// The current span's element pushed `size` bytes downstream: `pipeline.operation = push` and
/// `message.size` on the span (attributes, no allocation: cheap enough per frame).
///
/// ```
/// use trace_runtime::{realtime, testing, trace_pipeline};
///
/// #[trace_pipeline(name = "voice", element = "vad")]
/// fn forward(frame: &[u8]) { realtime::pipeline_push(frame.len()); }
///
/// let (_, spans) = testing::capture(|| forward(&[0; 640]));
/// let op = spans[0].attributes.iter().find(|kv| kv.key.as_str() == "pipeline.operation").unwrap();
/// assert_eq!(op.value.as_str(), "push");
/// ```
pub fn pipeline_push(size: usize) {
    pipeline_op("push", size);
}

/// The current span's element pulled `size` bytes from upstream: `pipeline.operation = pull`
/// and `message.size`.
pub fn pipeline_pull(size: usize) {
    pipeline_op("pull", size);
}

fn pipeline_op(operation: &'static str, size: usize) {
    use crate::span::thread_state::{self, Write};
    if thread_state::recording_here() {
        thread_state::write(Write::Attr(Attr::new(
            keys::pipeline::operation.name(),
            AttrValue::Static(operation),
        )));
        thread_state::write(Write::Attr(Attr::new(keys::message::size.name(), AttrValue::I64(count(size)))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn lifecycle_events_carry_their_typed_attributes() {
        let (_, spans) = testing::capture(|| {
            crate::trace!("conn", {
                connection_created("c-9", "webrtc");
                connection_state("new", "connected");
                message_sent(1200, "audio");
                pipeline_pull(320);
            })
        });
        let s = &spans[0];
        let event = |name: &str| s.events.iter().find(|e| e.name == name).unwrap();
        let values = |name: &str| {
            event(name).attributes.iter().map(|kv| format!("{}={}", kv.key, kv.value)).collect::<Vec<_>>()
        };
        assert_eq!(values("connection.created"), ["connection.id=c-9", "connection.type=webrtc"]);
        assert_eq!(
            values("connection.state_change"),
            ["connection.previous_state=new", "connection.state=connected"]
        );
        assert_eq!(
            values("message.sent"),
            ["connection.direction=send", "message.size=1200", "message.type=audio"]
        );
        let attr =
            |k: &str| s.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
        assert_eq!(attr("connection.state").as_deref(), Some("connected"));
        assert_eq!(attr("pipeline.operation").as_deref(), Some("pull"));
        assert_eq!(attr("message.size").as_deref(), Some("320"));
    }
}
