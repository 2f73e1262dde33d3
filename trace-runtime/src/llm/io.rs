//! Prompts and completions on LLM spans, opt-in: `gen_ai.input.messages` and
//! `gen_ai.output.messages`, JSON per the OpenTelemetry GenAI conventions.
//!
//! Nothing is evaluated or recorded unless IO capture is on (`TRACE_CAPTURE_IO=true` or
//! [`ConfigBuilder::capture_io`](crate::ConfigBuilder::capture_io)). When it is, the messages are
//! serialised when recorded and, like every exported string, scrubbed by the
//! [redaction rules](crate::redact) and cut to [`MAX_VALUE_BYTES`](crate::record::limits::MAX_VALUE_BYTES)
//! on the export worker. The shape is the conventions' one:
//!
//! ```json
//! [{"role":"user","parts":[{"type":"text","content":"hello"}]}]
//! ```
//!
//! From `#[trace_llm]`, `input = EXPR` records the input messages when the span starts and
//! `output = path` applies a `fn(&T) -> M` to the return value (to the `Ok` value of a
//! `Result`); from the body, [`record_input_messages`] and [`record_output_messages`]. Anything
//! [`Messages`] works: a `&str`, a slice of [`Message`], `(role, text)` pairs, a
//! `serde_json::Value` already in the conventions' shape.
//!
//! ```rust,standalone_crate
//! use trace_runtime::{io::Message, trace_llm, Config, config::Exporter};
//! use trace_runtime::opentelemetry_sdk::trace::InMemorySpanExporter;
//!
//! #[trace_llm(provider = "openai", model = "gpt-4o", input = messages, output = String::as_str)]
//! fn complete(messages: &[Message]) -> String {
//!     "Paris".to_string()
//! }
//!
//! let memory = InMemorySpanExporter::default();
//! let guard = trace_runtime::init_with(
//!     Config::builder().exporter(Exporter::None).capture_io(true).with_span_exporter(memory.clone()).build(),
//! ).unwrap();
//! complete(&[Message::system("Answer briefly."), Message::user("Capital of France?")]);
//! guard.flush();
//! let span = &memory.get_finished_spans().unwrap()[0];
//! let get = |k: &str| span.attributes.iter().find(|kv| kv.key.as_str() == k).unwrap().value.to_string();
//! assert_eq!(get("gen_ai.input.messages"), r#"[{"role":"system","parts":[{"type":"text","content":"Answer briefly."}]},{"role":"user","parts":[{"type":"text","content":"Capital of France?"}]}]"#);
//! assert_eq!(get("gen_ai.output.messages"), r#"[{"role":"assistant","parts":[{"type":"text","content":"Paris"}]}]"#);
//! ```

use serde::Serialize;

use crate::keys;
use crate::span::gate::capture_io_enabled;

/// One message: a role and its parts.
///
/// ```
/// use trace_runtime::io::{Message, Part};
///
/// let call = Message::new("assistant", vec![Part::ToolCall {
///     id: "call_1".into(), name: "weather".into(), arguments: serde_json::json!({"city": "Paris"}),
/// }]);
/// assert_eq!(call.role, "assistant");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    /// `system`, `user`, `assistant`, `tool`.
    pub role: String,
    /// The content.
    pub parts: Vec<Part>,
    /// Why generation stopped (output messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// A part of a message, as the GenAI conventions name them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    /// Text.
    Text {
        /// The text.
        content: String,
    },
    /// A tool call requested by the model.
    ToolCall {
        /// Id of the call.
        id: String,
        /// The tool.
        name: String,
        /// Its arguments.
        arguments: serde_json::Value,
    },
    /// The result of a tool call.
    ToolCallResponse {
        /// Id of the call.
        id: String,
        /// What the tool returned.
        response: serde_json::Value,
    },
}

impl Message {
    /// A message of `role` with `parts`.
    pub fn new(role: impl Into<String>, parts: Vec<Part>) -> Self {
        Message { role: role.into(), parts, finish_reason: None }
    }

    /// A text message of `role`.
    pub fn text(role: impl Into<String>, content: impl Into<String>) -> Self {
        Message::new(role, vec![Part::Text { content: content.into() }])
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message::text("system", content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::text("user", content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message::text("assistant", content)
    }

    /// With a finish reason (`stop`, `length`, `tool_call`, ...).
    pub fn finish_reason(mut self, reason: impl Into<String>) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }
}

/// What can be recorded as messages: `default_role` is the role of bare text (`user` for inputs,
/// `assistant` for outputs).
///
/// ```
/// use trace_runtime::io::Messages;
///
/// assert_eq!(
///     [("user", "hi")].to_messages_json("user"),
///     r#"[{"role":"user","parts":[{"type":"text","content":"hi"}]}]"#,
/// );
/// assert_eq!("hello".to_messages_json("assistant"),
///     r#"[{"role":"assistant","parts":[{"type":"text","content":"hello"}]}]"#);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as GenAI messages",
    label = "expected text, `Message`s, `(role, text)` pairs or a `serde_json::Value`",
    note = "`input = ..` and `output = ..` of #[trace_llm] take what `trace_runtime::io::Messages` is implemented for"
)]
pub trait Messages {
    /// The messages as GenAI JSON.
    fn to_messages_json(&self, default_role: &str) -> String;
}

impl<M: Messages + ?Sized> Messages for &M {
    fn to_messages_json(&self, default_role: &str) -> String {
        (**self).to_messages_json(default_role)
    }
}

impl Messages for str {
    fn to_messages_json(&self, default_role: &str) -> String {
        to_json(&[Message::text(default_role, self)])
    }
}

impl Messages for String {
    fn to_messages_json(&self, default_role: &str) -> String {
        self.as_str().to_messages_json(default_role)
    }
}

impl Messages for Message {
    fn to_messages_json(&self, _: &str) -> String {
        to_json(std::slice::from_ref(self))
    }
}

impl Messages for [Message] {
    fn to_messages_json(&self, _: &str) -> String {
        to_json(self)
    }
}

impl Messages for Vec<Message> {
    fn to_messages_json(&self, _: &str) -> String {
        to_json(self)
    }
}

impl<const N: usize> Messages for [Message; N] {
    fn to_messages_json(&self, _: &str) -> String {
        to_json(self)
    }
}

impl<R: AsRef<str>, T: AsRef<str>> Messages for [(R, T)] {
    fn to_messages_json(&self, _: &str) -> String {
        let list: Vec<Message> = self.iter().map(|(r, t)| Message::text(r.as_ref(), t.as_ref())).collect();
        to_json(&list)
    }
}

impl<R: AsRef<str>, T: AsRef<str>> Messages for Vec<(R, T)> {
    fn to_messages_json(&self, role: &str) -> String {
        self.as_slice().to_messages_json(role)
    }
}

impl<R: AsRef<str>, T: AsRef<str>, const N: usize> Messages for [(R, T); N] {
    fn to_messages_json(&self, role: &str) -> String {
        self.as_slice().to_messages_json(role)
    }
}

impl Messages for serde_json::Value {
    fn to_messages_json(&self, _: &str) -> String {
        self.to_string()
    }
}

fn to_json(messages: &[Message]) -> String {
    // Serialising plain strings and `serde_json::Value`s cannot fail.
    serde_json::to_string(messages).unwrap_or_else(|_| "[]".to_string())
}

/// Records `messages` as the current span's `gen_ai.input.messages`, if IO capture is on (the
/// argument is not even serialised otherwise).
///
/// ```
/// use trace_runtime::{io, testing, trace_llm};
///
/// #[trace_llm(provider = "openai", model = "gpt-4o")]
/// fn complete(prompt: &str) -> String {
///     io::record_input_messages(prompt);
///     prompt.to_uppercase()
/// }
///
/// // IO capture is off by default: nothing of the prompt is recorded.
/// let (_, spans) = testing::capture(|| complete("secret plans"));
/// assert!(spans[0].attributes.iter().all(|kv| kv.key.as_str() != "gen_ai.input.messages"));
/// ```
pub fn record_input_messages(messages: impl Messages) {
    if capture_io_enabled() && crate::span::is_recording() {
        crate::span::set(keys::gen_ai::input::messages, messages.to_messages_json("user"));
    }
}

/// `gen_ai.input.messages` already made as GenAI JSON (an async `#[trace_llm]` fn's `input`).
pub(crate) fn record_input_json(json: String) {
    if capture_io_enabled() && crate::span::is_recording() {
        crate::span::set(keys::gen_ai::input::messages, json);
    }
}

/// Records `messages` as the current span's `gen_ai.output.messages`, if IO capture is on.
///
/// ```
/// trace_runtime::io::record_output_messages("no span here: nothing happens");
/// ```
pub fn record_output_messages(messages: impl Messages) {
    if capture_io_enabled() && crate::span::is_recording() {
        crate::span::set(keys::gen_ai::output::messages, messages.to_messages_json("assistant"));
    }
}

/// Records `arguments` as the current span's `gen_ai.tool.call.arguments` (JSON), if IO capture
/// is on. `#[trace_tool]` records its fn's parameters this way by itself.
///
/// ```
/// trace_runtime::io::record_tool_arguments(serde_json::json!({"city": "Oslo"}));
/// ```
pub fn record_tool_arguments(arguments: impl Serialize) {
    record_json(keys::gen_ai::tool::call::arguments, &arguments);
}

/// Records `result` as the current span's `gen_ai.tool.call.result` (JSON), if IO capture is on;
/// a unit result (`null`) is not recorded. `#[trace_tool]` records its fn's `Ok` value or return
/// value this way by itself.
///
/// ```
/// trace_runtime::io::record_tool_result("12 °C, cloudy");
/// ```
pub fn record_tool_result(result: impl Serialize) {
    record_json(keys::gen_ai::tool::call::result, &result);
}

fn record_json(key: keys::Key<String>, value: &impl Serialize) {
    if !(capture_io_enabled() && crate::span::is_recording()) {
        return;
    }
    let json = match serde_json::to_value(value) {
        Ok(serde_json::Value::Null) => return,
        Ok(serde_json::Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(e) => format!("<not serialisable: {e}>"),
    };
    crate::span::set(key, json);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_follow_the_genai_shape() {
        let messages = vec![
            Message::user("weather?"),
            Message::new(
                "assistant",
                vec![Part::ToolCall {
                    id: "c1".into(),
                    name: "weather".into(),
                    arguments: json!({"city": "Oslo"}),
                }],
            )
            .finish_reason("tool_call"),
            Message::new("tool", vec![Part::ToolCallResponse { id: "c1".into(), response: json!("rain") }]),
        ];
        assert_eq!(
            messages.to_messages_json("user"),
            concat!(
                r#"[{"role":"user","parts":[{"type":"text","content":"weather?"}]},"#,
                r#"{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"weather","arguments":{"city":"Oslo"}}],"finish_reason":"tool_call"},"#,
                r#"{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":"rain"}]}]"#
            )
        );
    }
}
