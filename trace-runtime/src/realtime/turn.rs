//! The voice turn: [`Turn`], its milestones, and the export worker's side that writes a turn's
//! delays on its span.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry::trace::Event;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use crate::keys::voice::turn as key;
use crate::record::clock;
use crate::span;

/// A moment of a conversational turn, marked by [`Turn::mark`]; see [`Turn`] for the stages
/// measured between them.
///
/// ```
/// use trace_runtime::realtime::Milestone;
///
/// assert_ne!(Milestone::SpeechEnded, Milestone::EndOfUtterance);
/// ```
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

struct TurnState {
    id: u64,
    trace_id: u128,
    span_id: u64,
    /// The clock tick of each milestone (the span clock: one `rdtsc` where it can); 0 is "not
    /// marked".
    marks: [AtomicU64; MILESTONES],
    interrupted: AtomicU64,
    audio_sent_ns: AtomicU64,
    /// Output tokens of the turn's spans, added by the export worker.
    output_tokens: AtomicU64,
}

#[inline]
fn mark(slot: &AtomicU64, tick: impl FnOnce() -> clock::Tick) {
    // A load first: marking again (every frame marks "first audio out") reads the clock not at
    // all and a line it does not write.
    if slot.load(Ordering::Relaxed) == 0 {
        let _ = slot.compare_exchange(0, tick().max(1), Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// One conversational turn of a voice agent: its milestones, from the user's speech to the
/// agent's first audio, and whether the user barged in.
///
/// [`Turn::start`] inside the turn's span (one made by `trace!`, `#[trace_pipeline]`, ...) gives a
/// cheap handle, shared by cloning: the STT task, the LLM task and the audio thread each mark what
/// they see ([`Turn::mark`]: a clock read and one atomic store, no allocation, no lock; the first mark
/// of a milestone wins, so marking on every frame is harmless). The export worker, converting the
/// turn's span, writes each stage's delay (`voice.turn.*`, seconds), and the GenAI metrics
/// pipeline records each as a histogram.
///
/// **Interruption.** When the user barges in, call [`Turn::interrupt`], then drop the generation
/// futures (the LLM stream, the TTS): the turn span and every span of the turn that the drop
/// cancelled say `voice.turn.interrupted = true`, the turn span says when
/// (`voice.turn.interrupted_after`, and a `voice.turn.interrupted` event at that instant) and what
/// had been produced by then (`voice.turn.output_tokens` from its LLM calls' usage,
/// `voice.turn.audio_sent` from [`Turn::audio_sent`]). Delays measured on an interrupted turn
/// carry `voice.turn.interrupted = true` in their metrics too: they are never reported as a
/// normal turn's.
///
/// ```
/// use std::time::{Duration, Instant};
/// use trace_runtime::realtime::{Milestone, Turn};
/// use trace_runtime::{testing, trace};
///
/// let (_, spans) = testing::capture(|| {
///     trace!("voice.turn", {
///         let turn = Turn::start();
///         let speech_end = Instant::now();
///         turn.mark_at(Milestone::SpeechEnded, speech_end);
///         turn.mark_at(Milestone::EndOfUtterance, speech_end + Duration::from_millis(300));
///         turn.mark_at(Milestone::FinalTranscript, speech_end + Duration::from_millis(250));
///         turn.mark_at(Milestone::LlmFirstToken, speech_end + Duration::from_millis(700));
///         turn.mark_at(Milestone::TtsFirstByte, speech_end + Duration::from_millis(850));
///         turn.mark_at(Milestone::FirstAudioOut, speech_end + Duration::from_millis(870));
///     })
/// });
/// let get = |k: &str| spans[0].attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string());
/// assert_eq!(get("voice.turn.end_of_utterance_delay").as_deref(), Some("0.3"));
/// assert_eq!(get("voice.turn.llm_ttft").as_deref(), Some("0.4"));
/// assert_eq!(get("voice.turn.latency").as_deref(), Some("0.87"));
/// assert_eq!(get("voice.turn.interrupted"), None);
/// ```
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
    ///
    /// ```
    /// use trace_runtime::{realtime::Turn, testing, trace};
    ///
    /// let (_, spans) = testing::capture(|| trace!("voice.turn", { Turn::start(); trace!("stt", {}); }));
    /// let turn = |s: &trace_runtime::opentelemetry_sdk::trace::SpanData| s.attributes.iter().any(|kv| kv.key.as_str() == "voice.turn.id");
    /// assert!(spans.iter().all(turn), "the turn span and the spans below it carry the turn id");
    /// assert!(!Turn::start().is_interrupted(), "outside a span: inert");
    /// ```
    pub fn start() -> Turn {
        let (Some(trace_id), Some(span_id)) = (span::trace_id(), span::span_id()) else {
            return Turn(None);
        };
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        clock::init();
        let state = Arc::new(TurnState {
            id,
            trace_id: u128::from_be_bytes(trace_id.to_bytes()),
            span_id: u64::from_be_bytes(span_id.to_bytes()),
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
    ///
    /// ```
    /// use trace_runtime::realtime::{Milestone, Turn};
    /// use trace_runtime::{testing, trace};
    ///
    /// let (latency, _) = testing::capture(|| trace!("voice.turn", {
    ///     let turn = Turn::start();
    ///     turn.mark(Milestone::SpeechEnded);
    ///     for _frame in 0..3 {
    ///         turn.mark(Milestone::FirstAudioOut); // the first frame's time is kept
    ///     }
    ///     turn.latency()
    /// }));
    /// assert!(latency.is_some());
    /// ```
    #[inline]
    pub fn mark(&self, milestone: Milestone) {
        if let Some(state) = &self.0 {
            mark(&state.marks[milestone as usize], clock::now);
        }
    }

    /// Marks `milestone` at `at` (a VAD that reports speech ended 200 ms ago, say); a milestone
    /// already marked keeps its first time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use trace_runtime::realtime::{Milestone, Turn};
    /// use trace_runtime::{testing, trace};
    ///
    /// let (latency, _) = testing::capture(|| trace!("voice.turn", {
    ///     let turn = Turn::start();
    ///     let now = Instant::now();
    ///     turn.mark_at(Milestone::SpeechEnded, now - Duration::from_millis(600)); // the VAD's time
    ///     turn.mark_at(Milestone::FirstAudioOut, now);
    ///     turn.latency()
    /// }));
    /// let ms = latency.unwrap().as_secs_f64() * 1e3;
    /// assert!((ms - 600.0).abs() < 1.0, "{ms}");
    /// ```
    pub fn mark_at(&self, milestone: Milestone, at: Instant) {
        if let Some(state) = &self.0 {
            let anchor = clock::anchor();
            mark(&state.marks[milestone as usize], || anchor.tick_of(at, anchor.rate()));
        }
    }

    /// Adds `audio` to the audio sent to the user (one frame's worth, say): an atomic add.
    ///
    /// ```
    /// use std::time::Duration;
    /// use trace_runtime::{realtime::Turn, testing, trace};
    ///
    /// let (_, spans) = testing::capture(|| trace!("voice.turn", {
    ///     let turn = Turn::start();
    ///     for _frame in 0..25 {
    ///         turn.audio_sent(Duration::from_millis(20));
    ///     }
    /// }));
    /// let sent = spans[0].attributes.iter().find(|kv| kv.key.as_str() == "voice.turn.audio_sent").unwrap();
    /// assert_eq!(sent.value.to_string(), "0.5");
    /// ```
    #[inline]
    pub fn audio_sent(&self, audio: Duration) {
        if let Some(state) = &self.0 {
            let ns = u64::try_from(audio.as_nanos()).unwrap_or(u64::MAX);
            state.audio_sent_ns.fetch_add(ns, Ordering::Relaxed);
        }
    }

    /// The user barged in: call it before dropping the turn's generation futures, so the spans
    /// the drop cancels are marked interrupted. The first call's time is kept.
    ///
    /// ```
    /// use trace_runtime::{realtime::Turn, testing, trace};
    ///
    /// let (_, spans) = testing::capture(|| trace!("voice.turn", {
    ///     let turn = Turn::start();
    ///     turn.interrupt();
    ///     assert!(turn.is_interrupted());
    /// }));
    /// let get = |k: &str| spans[0].attributes.iter().any(|kv| kv.key.as_str() == k);
    /// assert!(get("voice.turn.interrupted"));
    /// assert!(spans[0].events.iter().any(|e| e.name == "voice.turn.interrupted"));
    /// ```
    pub fn interrupt(&self) {
        if let Some(state) = &self.0 {
            mark(&state.interrupted, clock::now);
        }
    }

    /// Whether [`interrupt`](Self::interrupt) was called.
    ///
    /// ```
    /// let turn = trace_runtime::realtime::Turn::default();
    /// turn.interrupt();
    /// assert!(!turn.is_interrupted(), "an inert turn (made outside any span) records nothing");
    /// ```
    pub fn is_interrupted(&self) -> bool {
        self.0.as_ref().is_some_and(|s| s.interrupted.load(Ordering::Relaxed) != 0)
    }

    /// The latency the user hears so far: speech ended → first audio out, once both are marked.
    ///
    /// ```
    /// use trace_runtime::realtime::{Milestone, Turn};
    /// use trace_runtime::{testing, trace};
    ///
    /// let (before, _) = testing::capture(|| trace!("voice.turn", {
    ///     let turn = Turn::start();
    ///     turn.mark(Milestone::SpeechEnded);
    ///     turn.latency()
    /// }));
    /// assert_eq!(before, None, "no audio out yet");
    /// ```
    pub fn latency(&self) -> Option<Duration> {
        let state = self.0.as_ref()?;
        let seconds = Clock::new().between(
            &state.marks[Milestone::SpeechEnded as usize],
            &state.marks[Milestone::FirstAudioOut as usize],
        )?;
        Some(Duration::from_secs_f64(seconds))
    }
}

/// Reads marks as seconds.
struct Clock {
    anchor: &'static clock::Anchor,
    rate: f64,
}

impl Clock {
    fn new() -> Self {
        let anchor = clock::anchor();
        Clock { anchor, rate: anchor.rate() }
    }

    /// Seconds from the mark in `from` to the one in `to`, both marked, in that order.
    fn between(&self, from: &AtomicU64, to: &AtomicU64) -> Option<f64> {
        let (from, to) = (from.load(Ordering::Relaxed), to.load(Ordering::Relaxed));
        if from == 0 || to == 0 {
            return None;
        }
        let seconds = to.wrapping_sub(from) as i64 as f64 * self.rate * 1e-9;
        (seconds >= 0.0).then_some(seconds)
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
    let clock = Clock::new();
    let slot = |m: Milestone| &state.marks[m as usize];
    // Microseconds are what a turn's stage can mean; more digits are clock noise.
    let round = |s: f64| (s * 1e6).round() / 1e6;
    let mut figures = TurnFigures::default();
    for (i, (key, from, to)) in STAGES.iter().enumerate() {
        // From the later of the `from` milestones, once all of them are marked.
        let marked = from.iter().all(|m| slot(*m).load(Ordering::Relaxed) != 0);
        let start = from.iter().map(|m| slot(*m)).max_by_key(|s| s.load(Ordering::Relaxed));
        if let Some(delay) = start.filter(|_| marked).and_then(|s| clock.between(s, slot(*to))) {
            figures.stages[i] = Some(round(delay));
            span.attributes.push(KeyValue::new(key.name(), round(delay)));
        }
    }
    let tokens = i64::try_from(state.output_tokens.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
    let audio = state.audio_sent_ns.load(Ordering::Relaxed) as f64 * 1e-9;
    let when = state.interrupted.load(Ordering::Relaxed);
    if when != 0 {
        figures.interrupted = true;
        span.attributes.push(KeyValue::new(key::interrupted.name(), true));
        let from = [Milestone::FirstAudioOut, Milestone::SpeechEnded]
            .map(slot)
            .into_iter()
            .find(|s| s.load(Ordering::Relaxed) != 0);
        if let Some(after) = from.and_then(|from| clock.between(from, &state.interrupted)) {
            span.attributes.push(KeyValue::new(key::interrupted_after.name(), round(after)));
        }
        let at = clock.anchor.to_system_time(when, clock.rate).clamp(span.start_time, span.end_time);
        let attributes = vec![
            KeyValue::new(key::output_tokens.name(), tokens),
            KeyValue::new(key::audio_sent.name(), audio),
        ];
        span.events.events.push(Event::new("voice.turn.interrupted", at, attributes, 0));
    }
    if tokens > 0 {
        span.attributes.push(KeyValue::new(key::output_tokens.name(), tokens));
    }
    if audio > 0.0 {
        span.attributes.push(KeyValue::new(key::audio_sent.name(), audio));
    }
    figures
}
