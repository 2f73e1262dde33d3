//! The voice turn: the milestones of one conversational turn, from the user's speech to the
//! agent's first audio, and whether the user barged in.
//!
//! [`Turn::start`] inside the turn's span (one made by `trace!`, `#[trace_pipeline]`, ...) gives a
//! cheap, cloneable handle: the STT task, the LLM task and the audio thread each mark what they
//! see ([`Turn::mark`]: a clock read and one atomic store, no allocation, no lock; the first mark
//! of a milestone wins, so marking on every frame is harmless). The export worker, converting the
//! turn's span, writes each stage's delay (`voice.turn.*`, seconds), and the GenAI metrics
//! pipeline records each as a histogram.
//!
//! **Interruption.** When the user barges in, call [`Turn::interrupt`], then drop the generation
//! futures (the LLM stream, the TTS): the turn span and every span of the turn that the drop
//! cancelled say `voice.turn.interrupted = true`, the turn span says when
//! (`voice.turn.interrupted_after`, and a `voice.turn.interrupted` event at that instant) and what
//! had been produced by then (`voice.turn.output_tokens` from its LLM calls' usage,
//! `voice.turn.audio_sent` from [`Turn::audio_sent`]). Delays measured on an interrupted turn
//! carry `voice.turn.interrupted = true` in their metrics too: they are never reported as a
//! normal turn's.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use trace_runtime::realtime::{Milestone, Turn};
//! use trace_runtime::{testing, trace};
//!
//! let (_, spans) = testing::capture(|| {
//!     trace!("voice.turn", {
//!         let turn = Turn::start();
//!         let speech_end = Instant::now();
//!         turn.mark_at(Milestone::SpeechEnded, speech_end);
//!         turn.mark_at(Milestone::EndOfUtterance, speech_end + Duration::from_millis(300));
//!         turn.mark_at(Milestone::FinalTranscript, speech_end + Duration::from_millis(250));
//!         turn.mark_at(Milestone::LlmFirstToken, speech_end + Duration::from_millis(700));
//!         turn.mark_at(Milestone::TtsFirstByte, speech_end + Duration::from_millis(850));
//!         turn.mark_at(Milestone::FirstAudioOut, speech_end + Duration::from_millis(870));
//!     })
//! });
//! let get = |k: &str| spans[0].attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
//! assert_eq!(get("voice.turn.end_of_utterance_delay").as_deref(), Some("0.3"));
//! assert_eq!(get("voice.turn.llm_ttft").as_deref(), Some("0.4"));
//! assert_eq!(get("voice.turn.latency").as_deref(), Some("0.87"));
//! assert_eq!(get("voice.turn.interrupted"), None);
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::Event;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::keys::voice::turn as key;
use crate::span;

/// A moment of a conversational turn, marked by [`Turn::mark`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Milestone {
    /// The user started speaking (VAD).
    SpeechStarted,
    /// The user stopped speaking (VAD): where the latency the user hears starts.
    SpeechEnded,
    /// The turn detector decided the user's utterance is over.
    EndOfUtterance,
    /// The final transcript of the utterance arrived.
    FinalTranscript,
    /// The LLM's first token arrived.
    LlmFirstToken,
    /// The TTS's first audio byte arrived.
    TtsFirstByte,
    /// The first audio frame of the reply was sent to the user.
    FirstAudioOut,
}

/// The turn is done when its span ends: after the reply played out, or was interrupted.
const MILESTONES: usize = 7;

/// The stages a turn reports, as (key, from, to): the delay from the later of the `from`
/// milestones to `to`.
const STAGES: [(crate::keys::Key<f64>, &[Milestone], Milestone); 6] = [
    (key::end_of_utterance_delay, &[Milestone::SpeechEnded], Milestone::EndOfUtterance),
    (key::transcription_delay, &[Milestone::SpeechEnded], Milestone::FinalTranscript),
    (key::llm_ttft, &[Milestone::EndOfUtterance, Milestone::FinalTranscript], Milestone::LlmFirstToken),
    (key::tts_ttfb, &[Milestone::LlmFirstToken], Milestone::TtsFirstByte),
    (key::audio_out_delay, &[Milestone::TtsFirstByte], Milestone::FirstAudioOut),
    (key::latency, &[Milestone::SpeechEnded], Milestone::FirstAudioOut),
];

/// How many stages a turn reports, in the order of [`stage_names`].
pub(crate) const STAGE_COUNT: usize = STAGES.len();

/// The attribute (and metric) name of each stage.
pub(crate) fn stage_names() -> [&'static str; STAGE_COUNT] {
    STAGES.map(|(k, _, _)| k.name())
}

/// Offsets are stored as nanoseconds from the turn's start plus this bias, so a milestone
/// before the start (speech that began before the turn was made) fits too; 0 is "not marked".
const BIAS: i64 = 1 << 62;

struct TurnState {
    id: u64,
    trace_id: u128,
    span_id: u64,
    started: Instant,
    started_wall: SystemTime,
    marks: [AtomicU64; MILESTONES],
    interrupted: AtomicU64,
    audio_sent_ns: AtomicU64,
    /// Output tokens of the turn's spans, added by the export worker.
    output_tokens: AtomicU64,
}

impl TurnState {
    fn encode(&self, at: Instant) -> u64 {
        let offset = match at.checked_duration_since(self.started) {
            Some(after) => i64::try_from(after.as_nanos()).unwrap_or(BIAS - 1).min(BIAS - 1),
            None => {
                -i64::try_from(self.started.duration_since(at).as_nanos()).unwrap_or(BIAS - 1).min(BIAS - 1)
            }
        };
        (offset + BIAS) as u64
    }

    /// Seconds from the turn's start, if marked.
    fn at(slot: &AtomicU64) -> Option<f64> {
        match slot.load(Ordering::Relaxed) {
            0 => None,
            v => Some((v as i64 - BIAS) as f64 * 1e-9),
        }
    }

    fn mark(&self, slot: &AtomicU64, at: Instant) {
        // A load first: marking again on every frame reads a line it does not write.
        if slot.load(Ordering::Relaxed) == 0 {
            let _ = slot.compare_exchange(0, self.encode(at), Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

/// One conversational turn; see the [module](self) docs. Cloning shares the turn.
#[derive(Clone, Default)]
pub struct Turn(Option<Arc<TurnState>>);

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn").field("id", &self.0.as_ref().map(|s| s.id)).finish()
    }
}

impl Turn {
    /// A turn measured on the current span, which becomes the turn span: its descendants carry
    /// `voice.turn.id`, and its delays are written on it when it is exported. Outside any span
    /// (or with tracing off) the turn is inert: marking costs a branch.
    pub fn start() -> Turn {
        let (Some(trace_id), Some(span_id)) = (span::trace_id(), span::span_id()) else {
            return Turn(None);
        };
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(TurnState {
            id,
            trace_id: u128::from_be_bytes(trace_id.to_bytes()),
            span_id: u64::from_be_bytes(span_id.to_bytes()),
            started: Instant::now(),
            started_wall: SystemTime::now(),
            marks: Default::default(),
            interrupted: AtomicU64::new(0),
            audio_sent_ns: AtomicU64::new(0),
            output_tokens: AtomicU64::new(0),
        });
        span::set(key::id, i64::try_from(id).unwrap_or(i64::MAX));
        let mut turns = registry();
        if turns.len() >= KEPT_TURNS {
            turns.pop_first();
        }
        turns.insert(id, Arc::clone(&state));
        LIVE.store(turns.len(), Ordering::Relaxed);
        Turn(Some(state))
    }

    /// Marks `milestone` now; a milestone already marked keeps its first time.
    #[inline]
    pub fn mark(&self, milestone: Milestone) {
        if let Some(state) = &self.0 {
            state.mark(&state.marks[milestone as usize], Instant::now());
        }
    }

    /// Marks `milestone` at `at` (a VAD that reports speech ended 200 ms ago, say); a milestone
    /// already marked keeps its first time.
    pub fn mark_at(&self, milestone: Milestone, at: Instant) {
        if let Some(state) = &self.0 {
            state.mark(&state.marks[milestone as usize], at);
        }
    }

    /// Adds `audio` to the audio sent to the user (one frame's worth, say): an atomic add.
    #[inline]
    pub fn audio_sent(&self, audio: Duration) {
        if let Some(state) = &self.0 {
            let ns = u64::try_from(audio.as_nanos()).unwrap_or(u64::MAX);
            state.audio_sent_ns.fetch_add(ns, Ordering::Relaxed);
        }
    }

    /// The user barged in: call it before dropping the turn's generation futures, so the spans
    /// the drop cancels are marked interrupted. The first call's time is kept.
    pub fn interrupt(&self) {
        if let Some(state) = &self.0 {
            state.mark(&state.interrupted, Instant::now());
        }
    }

    /// Whether [`interrupt`](Self::interrupt) was called.
    pub fn is_interrupted(&self) -> bool {
        self.0.as_ref().is_some_and(|s| s.interrupted.load(Ordering::Relaxed) != 0)
    }

    /// The latency the user hears so far: speech ended → first audio out, once both are marked.
    pub fn latency(&self) -> Option<Duration> {
        let state = self.0.as_ref()?;
        let from = TurnState::at(&state.marks[Milestone::SpeechEnded as usize])?;
        let to = TurnState::at(&state.marks[Milestone::FirstAudioOut as usize])?;
        (to >= from).then(|| Duration::from_secs_f64(to - from))
    }
}

/// Turns waiting for their span to be exported; past this the oldest is forgotten (its span was
/// dropped before the worker saw it).
const KEPT_TURNS: usize = 4096;

static TURNS: Mutex<BTreeMap<u64, Arc<TurnState>>> = Mutex::new(BTreeMap::new());
/// Entries in [`TURNS`]: the worker looks for a turn id only while there is one.
static LIVE: AtomicUsize = AtomicUsize::new(0);

fn registry() -> MutexGuard<'static, BTreeMap<u64, Arc<TurnState>>> {
    // Plain data every step leaves consistent: a panic elsewhere does not make it unusable.
    TURNS.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a turn measured, for its metrics and its conversation's summary.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TurnFigures {
    /// Each stage's delay in seconds, in the order of [`stage_names`].
    pub(crate) stages: [Option<f64>; STAGE_COUNT],
    pub(crate) interrupted: bool,
}

/// The export worker's side, for each converted span: a span of a turn adds its output tokens
/// to the turn and, cancelled by an interruption, is marked interrupted; the turn's own span
/// gets the turn's delays, and they are returned.
pub(crate) fn on_span(span: &mut SpanData, output_tokens: u64, cancelled: bool) -> Option<TurnFigures> {
    if LIVE.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let id = span.attributes.iter().find(|kv| kv.key.as_str() == key::id.name()).and_then(|kv| match &kv
        .value
    {
        Value::I64(v) => u64::try_from(*v).ok(),
        other => other.as_str().parse().ok(),
    })?;
    let own = u64::from_be_bytes(span.span_context.span_id().to_bytes());
    let state = {
        let mut turns = registry();
        let state = turns.get(&id)?;
        // Another process's turn of the same id (through `baggage`) is not this one.
        if state.trace_id != u128::from_be_bytes(span.span_context.trace_id().to_bytes()) {
            return None;
        }
        let state = if state.span_id == own { turns.remove(&id) } else { Some(Arc::clone(state)) };
        LIVE.store(turns.len(), Ordering::Relaxed);
        state?
    };
    state.output_tokens.fetch_add(output_tokens, Ordering::Relaxed);
    let interrupted = state.interrupted.load(Ordering::Relaxed) != 0;
    if state.span_id != own {
        if cancelled && interrupted {
            span.attributes.push(KeyValue::new(key::interrupted.name(), true));
        }
        return None;
    }
    Some(finish(&state, span))
}

/// Writes the turn's figures on its span.
fn finish(state: &TurnState, span: &mut SpanData) -> TurnFigures {
    let at = |m: Milestone| TurnState::at(&state.marks[m as usize]);
    let mut figures = TurnFigures::default();
    for (i, (key, from, to)) in STAGES.iter().enumerate() {
        let start = from.iter().map(|m| at(*m)).try_fold(f64::MIN, |acc, t| t.map(|t| acc.max(t)));
        if let (Some(start), Some(end)) = (start, at(*to))
            && end >= start
        {
            // Microseconds are what a turn's stage can mean; more digits are clock noise.
            let delay = ((end - start) * 1e6).round() / 1e6;
            figures.stages[i] = Some(delay);
            span.attributes.push(KeyValue::new(key.name(), delay));
        }
    }
    let tokens = state.output_tokens.load(Ordering::Relaxed);
    let audio = state.audio_sent_ns.load(Ordering::Relaxed) as f64 * 1e-9;
    if let Some(when) = TurnState::at(&state.interrupted) {
        figures.interrupted = true;
        span.attributes.push(KeyValue::new(key::interrupted.name(), true));
        if let Some(from) = at(Milestone::FirstAudioOut).or(at(Milestone::SpeechEnded))
            && when >= from
        {
            span.attributes
                .push(KeyValue::new(key::interrupted_after.name(), ((when - from) * 1e6).round() / 1e6));
        }
        let offset = Duration::from_secs_f64(when.abs());
        let wall = if when >= 0.0 {
            state.started_wall.checked_add(offset)
        } else {
            state.started_wall.checked_sub(offset)
        };
        let attributes = vec![
            KeyValue::new(key::output_tokens.name(), i64::try_from(tokens).unwrap_or(i64::MAX)),
            KeyValue::new(key::audio_sent.name(), audio),
        ];
        span.events.events.push(Event::new(
            "voice.turn.interrupted",
            wall.unwrap_or(span.end_time),
            attributes,
            0,
        ));
    }
    if tokens > 0 {
        span.attributes
            .push(KeyValue::new(key::output_tokens.name(), i64::try_from(tokens).unwrap_or(i64::MAX)));
    }
    if audio > 0.0 {
        span.attributes.push(KeyValue::new(key::audio_sent.name(), audio));
    }
    figures
}
