//! LLM-observability backends as OTLP lanes: Langfuse, Phoenix, LangWatch and Logfire, each a
//! preset of endpoint, protocol and authentication (resolved by `config`) and a mapping to the
//! names that backend reads best, applied to this lane's copy of each span only: the other
//! exporters see the kit's spans unchanged.
//!
//! | backend | sends | mapping |
//! |---|---|---|
//! | Langfuse | OTLP HTTP/protobuf | `langfuse.session.id` / `langfuse.user.id`, `langfuse.trace.name` on roots, `langfuse.observation.type` (`generation`, `embedding`, `agent`, `tool`, `evaluator`), `langfuse.observation.input` / `output` from captured IO, `langfuse.observation.level` / `status_message` on errors; usage and cost as `gen_ai.usage.*`, which Langfuse reads |
//! | Phoenix | OTLP HTTP/protobuf | the OpenInference names (as `TRACE_SEMCONV=both`), the project as resource `openinference.project.name` |
//! | LangWatch | OTLP HTTP/protobuf | `langwatch.span.type` (`llm`, `agent`, `tool`, `span`), `langwatch.thread.id` / `langwatch.user.id`, `langwatch.input` / `langwatch.output` from captured IO |
//! | Logfire | OTLP HTTP/protobuf | none: Logfire reads the GenAI conventions the kit writes |
//!
//! Evaluations stay `gen_ai.evaluation.result` events and spans on every lane: none of these
//! backends takes scores through its OTLP intake (Langfuse and Phoenix take them through their
//! own APIs).

use std::time::Duration;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::SpanData;

use super::OtlpSettings;
use crate::pipeline::exporter::{DynExporter, ExportFuture};

/// An LLM-observability backend `TRACE_EXPORTER` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Langfuse,
    Phoenix,
    LangWatch,
    Logfire,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Langfuse => "langfuse",
            Backend::Phoenix => "phoenix",
            Backend::LangWatch => "langwatch",
            Backend::Logfire => "logfire",
        }
    }
}

/// One backend's lane, resolved.
#[derive(Clone)]
pub(crate) struct BackendSettings {
    pub(crate) backend: Backend,
    pub(crate) otlp: OtlpSettings,
    /// Phoenix's project (`PHOENIX_PROJECT_NAME`, default the service name).
    pub(crate) project: Option<String>,
}

impl std::fmt::Debug for BackendSettings {
    // The headers carry the backend's credentials: the endpoint only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendSettings")
            .field("backend", &self.backend)
            .field("endpoint", &self.otlp.endpoint)
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

/// The lane: the OTLP exporter behind the backend's mapping.
pub(crate) struct BackendLane {
    backend: Backend,
    project: Option<String>,
    otlp: Box<dyn DynExporter>,
}

impl BackendLane {
    pub(crate) fn boxed(settings: BackendSettings, timeout: Duration) -> Box<dyn DynExporter> {
        let BackendSettings { backend, otlp, project } = settings;
        Box::new(BackendLane { backend, project, otlp: super::otlp::Otlp::boxed(otlp, timeout) })
    }
}

impl DynExporter for BackendLane {
    fn name(&self) -> &str {
        self.backend.name()
    }

    fn start(&mut self) -> Result<(), String> {
        self.otlp.start()
    }

    fn timeout(&self) -> Option<Duration> {
        self.otlp.timeout()
    }

    fn export(&mut self, mut batch: Vec<SpanData>) -> ExportFuture<'_> {
        for span in &mut batch {
            map(self.backend, span);
        }
        self.otlp.export(batch)
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.otlp.force_flush()
    }

    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult {
        self.otlp.shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        match &self.project {
            // Phoenix files spans under the project their resource names.
            Some(project) => {
                let attributes = resource
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                    .chain([KeyValue::new("openinference.project.name", project.clone())]);
                self.otlp.set_resource(&Resource::builder_empty().with_attributes(attributes).build());
            }
            None => self.otlp.set_resource(resource),
        }
    }
}

/// The value of `key` on `span`.
fn get(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes.iter().rev().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.clone())
}

/// What the span is, by its GenAI operation.
fn operation(span: &SpanData) -> Option<String> {
    if span.name == "gen_ai.evaluation.result" {
        return Some("evaluation".into());
    }
    get(span, "gen_ai.operation.name").map(|v| v.as_str().into_owned())
}

/// The captured input and output: messages of an LLM call, arguments and result of a tool.
fn io(span: &SpanData) -> (Option<Value>, Option<Value>) {
    let input = get(span, "gen_ai.input.messages").or_else(|| get(span, "gen_ai.tool.call.arguments"));
    let output = get(span, "gen_ai.output.messages").or_else(|| get(span, "gen_ai.tool.call.result"));
    (input, output)
}

/// Rewrites `span` for `backend`, adding the names it reads.
pub(crate) fn map(backend: Backend, span: &mut SpanData) {
    match backend {
        Backend::Langfuse => langfuse(span),
        Backend::Phoenix => crate::llm::openinference::mirror_exported(span),
        Backend::LangWatch => langwatch(span),
        Backend::Logfire => {}
    }
}

/// Whether `span` is the first of its trace in this process (a root or under a remote parent).
fn is_root(span: &SpanData) -> bool {
    span.parent_span_id == opentelemetry::trace::SpanId::INVALID || span.parent_span_is_remote
}

/// [Langfuse's attribute mapping](https://langfuse.com/integrations/native/opentelemetry).
fn langfuse(span: &mut SpanData) {
    let mut out = Vec::new();
    let session = get(span, "session.id").or_else(|| get(span, "gen_ai.conversation.id"));
    if let Some(session) = session {
        out.push(KeyValue::new("langfuse.session.id", session));
    }
    if let Some(user) = get(span, "user.id") {
        out.push(KeyValue::new("langfuse.user.id", user));
    }
    if is_root(span) {
        out.push(KeyValue::new("langfuse.trace.name", span.name.to_string()));
    }
    let kind = match operation(span).as_deref() {
        Some("chat" | "text_completion" | "generate_content") => Some("generation"),
        Some("embeddings") => Some("embedding"),
        Some("invoke_agent" | "create_agent") => Some("agent"),
        Some("execute_tool") => Some("tool"),
        Some("evaluation") => Some("evaluator"),
        _ => None,
    };
    if let Some(kind) = kind {
        out.push(KeyValue::new("langfuse.observation.type", kind));
    }
    let (input, output) = io(span);
    if let Some(input) = input {
        out.push(KeyValue::new("langfuse.observation.input", input));
    }
    if let Some(output) = output {
        out.push(KeyValue::new("langfuse.observation.output", output));
    }
    if let opentelemetry::trace::Status::Error { description } = &span.status {
        out.push(KeyValue::new("langfuse.observation.level", "ERROR"));
        out.push(KeyValue::new("langfuse.observation.status_message", description.to_string()));
    }
    span.attributes.extend(out);
}

/// [LangWatch's semantic conventions](https://docs.langwatch.ai/integration/typescript/tutorials/semantic-conventions).
fn langwatch(span: &mut SpanData) {
    let mut out = Vec::new();
    let kind = match operation(span).as_deref() {
        Some("invoke_agent" | "create_agent") => "agent",
        Some("execute_tool") => "tool",
        Some("evaluation") => "evaluation",
        Some(_) => "llm",
        None => "span",
    };
    out.push(KeyValue::new("langwatch.span.type", kind));
    let thread = get(span, "gen_ai.conversation.id").or_else(|| get(span, "session.id"));
    if let Some(thread) = thread {
        out.push(KeyValue::new("langwatch.thread.id", thread));
    }
    if let Some(user) = get(span, "user.id") {
        out.push(KeyValue::new("langwatch.user.id", user));
    }
    let (input, output) = io(span);
    if let Some(input) = input {
        out.push(KeyValue::new("langwatch.input", input));
    }
    if let Some(output) = output {
        out.push(KeyValue::new("langwatch.output", output));
    }
    span.attributes.extend(out);
}
