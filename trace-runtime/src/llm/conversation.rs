//! The summary of a voice conversation's turns: [`ConversationSummary`].

use std::fmt;
use std::time::Duration;

use opentelemetry::trace::TraceId;

use super::summary::{WIDTH, duration, fit, line, width};
use crate::realtime::turn::{self, STAGE_COUNT, TurnFigures};

/// Turns of one conversation kept for its percentiles; later ones are counted, not measured.
const KEPT_TURNS: usize = 10_000;

/// A finished voice conversation: its turns, its interruptions and, per stage of a turn,
/// the p50 / p95 / max delay, in the trace summary's box style.
///
/// Built by the export worker from the turn spans ([`Turn`](crate::realtime::Turn)) of a
/// trace, when the trace's root ends; printed beside the trace summary when that is on. The
/// percentiles are over the turns that were not interrupted: an interrupted turn's delays are
/// not a normal turn's, and are counted apart.
///
/// ```
/// use trace_runtime::summary::{ConversationSummary, StageStats};
///
/// let summary = ConversationSummary {
///     name: "call".into(),
///     turns: 3,
///     interrupted: 1,
///     stages: vec![StageStats { name: "voice.turn.latency", turns: 2, p50: 0.81, p95: 0.93, max: 0.93 }],
/// };
/// assert_eq!(summary.to_string(), "\
/// ╭─ Conversation: call ─────────────────────────────────────────────────────────╮
/// │ 3 turns · 1 interrupted                                                      │
/// │ stage                            turns        p50        p95        max      │
/// │ latency                              2   810.0 ms   930.0 ms   930.0 ms      │
/// ╰──────────────────────────────────────────────────────────────────────────────╯
/// ");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConversationSummary {
    /// The root span's name.
    pub name: String,
    /// Turns measured.
    pub turns: u64,
    /// Of those, turns the user interrupted.
    pub interrupted: u64,
    /// Each stage some turn measured, in the order of a turn.
    pub stages: Vec<StageStats>,
}

/// One stage's delays over a conversation's uninterrupted turns, in seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageStats {
    /// The stage's attribute and metric name, e.g. `voice.turn.latency`.
    pub name: &'static str,
    /// Turns that measured it.
    pub turns: u64,
    /// Median.
    pub p50: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// Longest.
    pub max: f64,
}

impl ConversationSummary {
    /// The summary of a conversation whose root has ended, by trace id; `None` if the trace had
    /// no turn or is not among the last 256 finished.
    ///
    /// ```
    /// use trace_runtime::realtime::{Milestone, Turn};
    /// use trace_runtime::{span, summary::ConversationSummary, testing, trace};
    ///
    /// let (id, _) = testing::capture(|| {
    ///     trace!("call", {
    ///         trace!("turn", {
    ///             let turn = Turn::start();
    ///             turn.mark(Milestone::SpeechEnded);
    ///             turn.mark(Milestone::FirstAudioOut);
    ///         });
    ///         span::trace_id().unwrap()
    ///     })
    /// });
    /// let summary = ConversationSummary::of_trace(id).unwrap();
    /// assert_eq!((summary.turns, summary.stages[0].name), (1, "voice.turn.latency"));
    /// ```
    pub fn of_trace(trace_id: TraceId) -> Option<ConversationSummary> {
        crate::llm::stage::finished_conversation(u128::from_be_bytes(trace_id.to_bytes()))
    }
}

/// The turns of one trace, gathered by the worker until its root ends.
#[derive(Default)]
pub(crate) struct Turns {
    turns: u64,
    interrupted: u64,
    samples: [Vec<f64>; STAGE_COUNT],
}

impl Turns {
    pub(crate) fn add(&mut self, figures: &TurnFigures) {
        self.turns += 1;
        if figures.interrupted {
            self.interrupted += 1;
            return;
        }
        for (samples, delay) in self.samples.iter_mut().zip(figures.stages) {
            if let Some(delay) = delay
                && samples.len() < KEPT_TURNS
            {
                samples.push(delay);
            }
        }
    }

    pub(crate) fn summary(mut self, name: String) -> ConversationSummary {
        let names = turn::stage_names();
        let stages = self
            .samples
            .iter_mut()
            .zip(names)
            .filter(|(samples, _)| !samples.is_empty())
            .map(|(samples, name)| {
                samples.sort_by(f64::total_cmp);
                let rank = |q: f64| {
                    samples[((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1]
                };
                StageStats {
                    name,
                    turns: samples.len() as u64,
                    p50: rank(0.5),
                    p95: rank(0.95),
                    max: rank(1.0),
                }
            })
            .collect();
        ConversationSummary { name, turns: self.turns, interrupted: self.interrupted, stages }
    }
}

impl fmt::Display for ConversationSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = WIDTH - 4;
        let title = format!("─ Conversation: {} ", fit(&self.name, WIDTH - 20));
        writeln!(f, "╭{title}{}╮", "─".repeat((WIDTH - 2).saturating_sub(width(&title))))?;
        let plural = if self.turns == 1 { "" } else { "s" };
        line(f, &fit(&format!("{} turn{plural} · {} interrupted", self.turns, self.interrupted), inner))?;
        if !self.stages.is_empty() {
            line(f, &format!("{:<30} {:>7} {:>10} {:>10} {:>10}", "stage", "turns", "p50", "p95", "max"))?;
        }
        let secs = |s: f64| duration(Duration::from_secs_f64(s.max(0.0)));
        for stage in &self.stages {
            let name = stage.name.strip_prefix("voice.turn.").unwrap_or(stage.name);
            line(
                f,
                &format!(
                    "{:<30} {:>7} {:>10} {:>10} {:>10}",
                    fit(name, 30),
                    stage.turns,
                    secs(stage.p50),
                    secs(stage.p95),
                    secs(stage.max)
                ),
            )?;
        }
        writeln!(f, "╰{}╯", "─".repeat(WIDTH - 2))
    }
}
