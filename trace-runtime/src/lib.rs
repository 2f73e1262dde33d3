//! OpenTelemetry tracing for LLM agents and realtime AI pipelines: one attribute per function,
//! keys checked by the compiler, and an overhead small enough for a per-audio-frame function.
//!
//! ```rust,standalone_crate
//! use trace_runtime::{record_usage, trace, trace_llm, trace_pipeline, Usage};
//!
//! #[trace_llm(provider = "openai", model = "gpt-4o-mini")]
//! async fn complete(prompt: &str) -> Result<String, std::io::Error> {
//!     record_usage(Usage { input_tokens: 31, output_tokens: 27, ..Default::default() });
//!     Ok(prompt.to_uppercase())
//! }
//!
//! #[trace_pipeline(name = "voice", element = "resample", fields(audio.sample_rate = 16000))]
//! fn resample(samples: &[i16]) -> Vec<i16> {
//!     samples.iter().step_by(3).copied().collect()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let _guard = trace_runtime::init().expect("tracing settings"); // TRACE_EXPORTER=stdout by default
//! let answer = trace!("turn", session.id = "s-1", async {
//!     resample(&[0; 480]);
//!     complete("hello").await
//! })
//! .await;
//! assert_eq!(answer.unwrap(), "HELLO");
//! # }
//! ```
//!
//! - Spans follow the OpenTelemetry GenAI conventions for LLM calls and the kit's
//!   [`keys`] for pipelines, connections, audio, video and speech.
//! - Parentage holds across `.await`, tasks and threads ([`spawn`], [`thread::spawn`],
//!   [`TraceFutureExt::in_current_trace`]); errors, panics and cancelled futures are recorded.
//! - [`init`] reads the environment ([`config`]); [`testing::capture`] collects spans in tests.
//! - Export runs on a worker thread behind a bounded queue: the application never waits for it.
//! - One trace across services and libraries: W3C [`propagation`] (`inject` / `extract`), the
//!   OpenTelemetry API ([`otel`], installed as the global provider) and `tracing` ([`tracing_layer`]).
//! - Tokens and cost per trace and per process ([`tokens`], [`cost`]), a summary table when a
//!   trace ends ([`summary`]), streamed responses ([`stream`]), opt-in prompt capture ([`io`])
//!   scrubbed by [`redact`] before export, and speech, media and connection helpers
//!   ([`realtime`]).
//! - GenAI client metrics (`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`, time
//!   to first chunk) to any OpenTelemetry metric exporter or OTLP
//!   ([`ConfigBuilder::with_metric_exporter`], `OTEL_METRICS_EXPORTER`), and a voice turn's
//!   latency by stage with barge-ins ([`realtime::Turn`]).

// docs.rs: each feature-gated item says which cargo feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate self as trace_runtime;

mod background;
pub mod config;
mod export;
mod init;
mod interop;
pub mod keys;
mod llm;
pub mod log;
mod macros;
mod metrics;
mod pipeline;
pub mod privacy;
pub mod realtime;
mod record;
pub mod span;
pub mod telemetry;
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use opentelemetry;
pub use opentelemetry_sdk;

pub use config::{Config, ConfigBuilder, ConfigError};
pub use export::ConsoleExporter;
#[cfg(feature = "sinks")]
pub use export::sinks;
#[cfg(any(feature = "file-store", feature = "sqlite"))]
pub use export::store;
pub use init::{InitError, ShutdownError, TraceGuard, init, init_with};
pub use llm::stream::trace_llm_stream;
pub use llm::summary::TraceSummary;
pub use llm::{cost, io, stream, summary, tokens};
pub use metrics::{BreakerState, ExporterMetrics, Metrics, metrics};
pub use record::limits;
pub use record::usage::Usage;
#[cfg(feature = "tokio")]
pub use span::context::spawn;
pub use span::context::{Context, ContextGuard, TraceFutureExt, WithContext, current_context, thread};
pub use span::gate::capture_io_enabled;
pub use span::{ErrorType, Evaluation, record_usage};
pub use span::{log_with_trace, span_id, trace_id};

// Across services and libraries: the OpenTelemetry API, `tracing`, W3C Trace Context.
pub use interop::propagation::{extract, inject};
#[cfg(feature = "tracing")]
pub use interop::tracing::{TracingLayer, tracing_layer};
pub use interop::{otel, propagation};
pub use privacy::redact;

// The macros, documented where their expansions are shown and checked.
pub use macros::{
    define_keys, trace, trace_agent, trace_connection, trace_fn, trace_llm, trace_pipeline, trace_tool,
};
