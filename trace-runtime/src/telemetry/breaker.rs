//! A circuit breaker for the telemetry sink: after repeated failures it stops trying for a while,
//! so an unreachable endpoint costs one failed request per cool-down, not one per batch.
//!
//! Closed (sending) -> [`FAILURES_TO_OPEN`] failures in a row -> Open (not sending) -> after the
//! cool-down, HalfOpen: one trial batch; success closes it, failure opens it again with a doubled
//! cool-down (up to [`MAX_COOLDOWN`]). It is the only breaker in the kit: span exporters are
//! bounded by the export pipeline's timeouts instead.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Consecutive failures that open the breaker.
///
/// ```
/// assert_eq!(trace_runtime::telemetry::FAILURES_TO_OPEN, 3);
/// ```
pub const FAILURES_TO_OPEN: u32 = 3;
/// First cool-down of an open breaker.
///
/// ```
/// assert_eq!(trace_runtime::telemetry::COOLDOWN, std::time::Duration::from_secs(30));
/// ```
pub const COOLDOWN: Duration = Duration::from_secs(30);
/// Longest cool-down.
///
/// ```
/// use trace_runtime::telemetry::{COOLDOWN, MAX_COOLDOWN};
/// assert!(MAX_COOLDOWN > COOLDOWN, "each failed trial doubles the cool-down up to this");
/// ```
pub const MAX_COOLDOWN: Duration = Duration::from_secs(15 * 60);

/// The telemetry breaker's state, as [`TelemetryMetrics`](super::TelemetryMetrics) shows it.
///
/// ```
/// use trace_runtime::telemetry::{self, BreakerState};
///
/// assert_eq!(telemetry::metrics().breaker, BreakerState::Closed);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerState {
    /// Batches are sent.
    #[default]
    Closed,
    /// Batches are held back until the cool-down ends.
    Open,
    /// The next batch is a trial.
    HalfOpen,
}

/// The state as the worker last published it, for `metrics()`.
pub(crate) static PUBLISHED: AtomicU8 = AtomicU8::new(0);

pub(crate) fn published() -> BreakerState {
    match PUBLISHED.load(Ordering::Relaxed) {
        1 => BreakerState::Open,
        2 => BreakerState::HalfOpen,
        _ => BreakerState::Closed,
    }
}

pub(crate) struct Breaker {
    state: BreakerState,
    failures: u32,
    cooldown: Duration,
    opened_at: Option<Instant>,
}

impl Breaker {
    pub(crate) fn new() -> Self {
        let breaker =
            Breaker { state: BreakerState::Closed, failures: 0, cooldown: COOLDOWN, opened_at: None };
        breaker.publish();
        breaker
    }

    /// Whether a batch may be sent at `now`.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        match self.state {
            BreakerState::Closed | BreakerState::HalfOpen => true,
            BreakerState::Open => {
                let cooled = self.opened_at.is_none_or(|at| now.duration_since(at) >= self.cooldown);
                if cooled {
                    self.state = BreakerState::HalfOpen;
                    self.publish();
                }
                cooled
            }
        }
    }

    pub(crate) fn success(&mut self) {
        (self.state, self.failures, self.cooldown) = (BreakerState::Closed, 0, COOLDOWN);
        self.publish();
    }

    pub(crate) fn failure(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        if self.state == BreakerState::HalfOpen {
            self.cooldown = (self.cooldown * 2).min(MAX_COOLDOWN);
        }
        if self.state == BreakerState::HalfOpen || self.failures >= FAILURES_TO_OPEN {
            (self.state, self.opened_at) = (BreakerState::Open, Some(now));
        }
        self.publish();
    }

    fn publish(&self) {
        let code = match self.state {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        };
        PUBLISHED.store(code, Ordering::Relaxed);
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> BreakerState {
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_repeated_failures_and_half_opens_after_the_cooldown() {
        let t0 = Instant::now();
        let mut b = Breaker::new();
        for _ in 0..FAILURES_TO_OPEN - 1 {
            assert!(b.allow(t0));
            b.failure(t0);
            assert_eq!(b.state(), BreakerState::Closed);
        }
        b.failure(t0);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow(t0 + COOLDOWN / 2), "no request while open");
        assert!(b.allow(t0 + COOLDOWN), "one trial after the cool-down");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.failure(t0 + COOLDOWN);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow(t0 + COOLDOWN * 2), "the cool-down doubled");
        assert!(b.allow(t0 + COOLDOWN * 3));
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
        b.failure(t0);
        assert_eq!(b.state(), BreakerState::Closed, "a success resets the count");
    }
}
