//! GenAI client metrics and the voice turn's, recorded by the export worker from the spans it
//! converts: a call is counted once, whether a macro, a stream or the OpenTelemetry bridge
//! traced it, and the application's threads pay nothing for it.
//!
//! | metric | unit | from |
//! |---|---|---|
//! | `gen_ai.client.token.usage` | `{token}` | each span with token usage, one point per `gen_ai.token.type` (`input`, `output`; cached and reasoning tokens are part of those, as the conventions count them) |
//! | `gen_ai.client.operation.duration` | `s` | each span with a `gen_ai.operation.name`: LLM calls, agents, tools |
//! | `gen_ai.client.operation.time_to_first_chunk` | `s` | streamed calls (`gen_ai.response.time_to_first_chunk`) |
//! | `voice.turn.*` (each stage of [`Turn`](crate::realtime::Turn)) | `s` | each turn span |
//!
//! The GenAI points carry `gen_ai.operation.name`, `gen_ai.provider.name`,
//! `gen_ai.request.model`, `gen_ai.response.model` and `server.address` / `server.port` where
//! the span has them, and `error.type` for a failed call: the span's `error.type`, `cancelled`
//! for a dropped future, `interrupted` for one an interrupted turn dropped, `_OTHER` otherwise.
//! Turn points carry `voice.turn.interrupted`.

use std::sync::{Arc, RwLock};

use opentelemetry::metrics::{Histogram, Meter};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::realtime::turn::{self, TurnFigures};
use crate::record::usage::Usage;

/// `gen_ai.client.token.usage` buckets, as the conventions give them.
pub(crate) const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// `gen_ai.client.operation.duration` (and time to first chunk) buckets, as the conventions
/// give them.
pub(crate) const DURATION_BUCKETS: [f64; 14] =
    [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/// The voice turn's stages: fine where a conversation's latency lives (100 ms - 2 s).
pub(crate) const TURN_BUCKETS: [f64; 15] =
    [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0];

/// The attributes of a GenAI point copied from the span, when it has them.
const CALL_KEYS: [&str; 6] = [
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "server.address",
    "server.port",
];

/// The points of one GenAI call, taken from its span.
pub(crate) struct Call {
    /// The point attributes: scrub them before recording.
    pub(crate) attributes: Vec<KeyValue>,
    seconds: f64,
    first_chunk: Option<f64>,
    tokens: Option<(u64, u64)>,
}

pub(crate) struct Instruments {
    tokens: Histogram<u64>,
    duration: Histogram<f64>,
    first_chunk: Histogram<f64>,
    turn: Vec<Histogram<f64>>,
}

static INSTALLED: RwLock<Option<Arc<Instruments>>> = RwLock::new(None);

/// Makes the instruments on `meter`; the worker records into them from its next drain.
pub(crate) fn install(meter: &Meter) {
    let tokens = meter
        .u64_histogram("gen_ai.client.token.usage")
        .with_unit("{token}")
        .with_description("Number of input and output tokens used.")
        .with_boundaries(TOKEN_BUCKETS.to_vec())
        .build();
    // The seconds histograms differ only in name, description and buckets.
    let seconds = |name: &'static str, description: &'static str, buckets: &[f64]| {
        meter
            .f64_histogram(name)
            .with_unit("s")
            .with_description(description)
            .with_boundaries(buckets.to_vec())
            .build()
    };
    let duration =
        seconds("gen_ai.client.operation.duration", "GenAI operation duration.", &DURATION_BUCKETS);
    let first_chunk = seconds(
        "gen_ai.client.operation.time_to_first_chunk",
        "Time to receive the first chunk of a streamed response.",
        &DURATION_BUCKETS,
    );
    let turn = turn::stage_names()
        .into_iter()
        .map(|name| seconds(name, "A stage of a voice agent's conversational turn.", &TURN_BUCKETS))
        .collect();
    let instruments = Arc::new(Instruments { tokens, duration, first_chunk, turn });
    *INSTALLED.write().unwrap_or_else(|p| p.into_inner()) = Some(instruments);
}

/// Stops recording (the meter provider is shutting down).
pub(crate) fn uninstall() {
    *INSTALLED.write().unwrap_or_else(|p| p.into_inner()) = None;
}

/// The installed instruments, if metrics are on.
pub(crate) fn current() -> Option<Arc<Instruments>> {
    INSTALLED.read().map_or_else(|p| p.into_inner().clone(), |i| i.clone())
}

impl Instruments {
    /// The points of a GenAI call (a span with `gen_ai.operation.name`), read before the
    /// OpenInference mirror can take its names away; recorded by [`Self::record_call`] once
    /// their attributes are scrubbed like the span's.
    pub(crate) fn call(&self, span: &SpanData, usage: Option<&Usage>, cancelled: bool) -> Option<Call> {
        let mut attributes: Vec<KeyValue> = Vec::with_capacity(CALL_KEYS.len() + 2);
        let mut error_type = None;
        let mut first_chunk = None;
        let mut interrupted = false;
        for kv in &span.attributes {
            match kv.key.as_str() {
                key if CALL_KEYS.contains(&key) => attributes.push(kv.clone()),
                "error.type" => error_type = Some(kv.value.clone()),
                "gen_ai.response.time_to_first_chunk" => {
                    first_chunk = match kv.value {
                        Value::F64(v) => Some(v),
                        Value::I64(v) => Some(v as f64),
                        _ => None,
                    }
                }
                "voice.turn.interrupted" => interrupted = kv.value == Value::Bool(true),
                _ => {}
            }
        }
        if !attributes.iter().any(|kv| kv.key.as_str() == CALL_KEYS[0]) {
            return None;
        }
        let failed = matches!(span.status, opentelemetry::trace::Status::Error { .. });
        let error_type = match error_type {
            Some(e) => Some(e),
            None if interrupted => Some(Value::from("interrupted")),
            None if cancelled => Some(Value::from("cancelled")),
            None if failed => Some(Value::from("_OTHER")),
            None => None,
        };
        if let Some(e) = error_type {
            attributes.push(KeyValue::new("error.type", e));
        }
        let seconds = span.end_time.duration_since(span.start_time).map_or(0.0, |d| d.as_secs_f64());
        Some(Call {
            attributes,
            seconds,
            first_chunk,
            tokens: usage.map(|u| (u.input_tokens, u.output_tokens)),
        })
    }

    /// Records a call's points.
    pub(crate) fn record_call(&self, call: Call) {
        let Call { mut attributes, seconds, first_chunk, tokens } = call;
        self.duration.record(seconds, &attributes);
        if let Some(ttfc) = first_chunk {
            self.first_chunk.record(ttfc, &attributes);
        }
        if let Some((input, output)) = tokens {
            // Token counts are not failures: their points go without `error.type`.
            attributes.retain(|kv| kv.key.as_str() != "error.type");
            for (kind, n) in [("input", input), ("output", output)] {
                attributes.push(KeyValue::new("gen_ai.token.type", kind));
                self.tokens.record(n, &attributes);
                attributes.pop();
            }
        }
    }

    /// Records each stage a turn measured.
    pub(crate) fn record_turn(&self, figures: &TurnFigures) {
        let attributes = [KeyValue::new("voice.turn.interrupted", figures.interrupted)];
        for (histogram, delay) in self.turn.iter().zip(figures.stages) {
            if let Some(delay) = delay {
                histogram.record(delay, &attributes);
            }
        }
    }
}
