//! The kit's one circuit breaker: after `threshold` consecutive failures its owner stops calling
//! the backend for a back-off, then lets one trial batch through (half-open); a success closes it,
//! a failure opens it again for twice as long (up to the configured maximum).
//!
//! Each exporter lane has one ([`BreakerConfig::default`]: 5 failures, 1 s, up to 60 s), and so
//! has the telemetry worker (3 failures, 30 s, up to 15 min), so a dead backend costs one failed
//! call per back-off, never one per batch.

use std::time::{Duration, Instant};

/// Longest back-off of an exporter lane, whatever the failures.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Consecutive failures that open the circuit (`TRACE_BREAKER_FAILURES`).
pub(crate) const DEFAULT_THRESHOLD: u32 = 5;
/// First back-off once open (`TRACE_BREAKER_BACKOFF_MS`).
pub(crate) const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);

/// The state of a circuit breaker, as [`metrics`](crate::metrics) reports it for each exporter
/// and [`telemetry::metrics`](crate::telemetry::metrics) for the telemetry endpoint.
///
/// ```
/// use trace_runtime::BreakerState;
///
/// assert_eq!(BreakerState::Open.to_string(), "open");
/// assert_eq!(BreakerState::default(), BreakerState::Closed);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BreakerState {
    /// Batches go to the exporter.
    #[default]
    Closed,
    /// The exporter failed repeatedly: batches are dropped (and counted) until the back-off ends.
    Open,
    /// The back-off ended: the next batch is a trial that closes or reopens the circuit.
    HalfOpen,
}

impl BreakerState {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }

    pub(crate) fn from_u8(v: u8) -> Self {
        match v {
            1 => BreakerState::Open,
            2 => BreakerState::HalfOpen,
            _ => BreakerState::Closed,
        }
    }
}

impl std::fmt::Display for BreakerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        })
    }
}

/// Breaker settings: failures that open it, the first back-off and the longest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BreakerConfig {
    pub(crate) threshold: u32,
    pub(crate) backoff: Duration,
    pub(crate) max_backoff: Duration,
}

impl Default for BreakerConfig {
    /// An exporter lane's.
    fn default() -> Self {
        BreakerConfig { threshold: DEFAULT_THRESHOLD, backoff: DEFAULT_BACKOFF, max_backoff: MAX_BACKOFF }
    }
}

#[derive(Debug)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    failures: u32,
    state: BreakerState,
    open_until: Instant,
    backoff: Duration,
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Breaker {
            config: BreakerConfig {
                threshold: config.threshold.max(1),
                max_backoff: config.max_backoff.max(config.backoff),
                ..config
            },
            failures: 0,
            state: BreakerState::Closed,
            open_until: Instant::now(),
            backoff: config.backoff,
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        self.state
    }

    /// Whether a batch may be sent now; moves an open breaker whose back-off ended to half-open.
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        match self.state {
            BreakerState::Closed | BreakerState::HalfOpen => true,
            BreakerState::Open if now >= self.open_until => {
                self.state = BreakerState::HalfOpen;
                true
            }
            BreakerState::Open => false,
        }
    }

    pub(crate) fn success(&mut self) {
        self.failures = 0;
        self.state = BreakerState::Closed;
        self.backoff = self.config.backoff;
    }

    pub(crate) fn failure(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        match self.state {
            BreakerState::HalfOpen => {
                self.backoff = (self.backoff * 2).min(self.config.max_backoff);
                self.open(now);
            }
            BreakerState::Closed if self.failures >= self.config.threshold => self.open(now),
            _ => {}
        }
    }

    fn open(&mut self, now: Instant) {
        self.state = BreakerState::Open;
        self.open_until = now + self.backoff;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_half_opens_after_the_backoff_and_closes_on_success() {
        let backoff = Duration::from_secs(1);
        let mut b = Breaker::new(BreakerConfig { threshold: 3, backoff, ..Default::default() });
        let t0 = Instant::now();
        for _ in 0..2 {
            assert!(b.admit(t0));
            b.failure(t0);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.failure(t0);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.admit(t0 + backoff / 2));
        assert!(b.admit(t0 + backoff));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_failed_trial_reopens_for_twice_as_long() {
        let backoff = Duration::from_secs(1);
        let mut b = Breaker::new(BreakerConfig { threshold: 1, backoff, ..Default::default() });
        let t0 = Instant::now();
        b.failure(t0);
        let t1 = t0 + backoff;
        assert!(b.admit(t1));
        b.failure(t1);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.admit(t1 + backoff));
        assert!(b.admit(t1 + backoff * 2));
    }

    #[test]
    fn the_backoff_is_capped() {
        let mut b = Breaker::new(BreakerConfig { threshold: 1, backoff: MAX_BACKOFF, ..Default::default() });
        let t0 = Instant::now();
        b.failure(t0);
        assert!(b.admit(t0 + MAX_BACKOFF));
        b.failure(t0 + MAX_BACKOFF);
        assert!(b.admit(t0 + MAX_BACKOFF * 2));
    }
}
