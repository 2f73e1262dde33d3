//! The telemetry worker's settings for the kit's circuit breaker ([`pipeline::breaker`]), and the
//! state it last published for [`metrics`](super::metrics): an unreachable endpoint costs one
//! failed request per cool-down, not one per batch.
//!
//! [`pipeline::breaker`]: crate::pipeline::breaker

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crate::pipeline::breaker::{self, BreakerConfig, BreakerState};

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

/// The state as the worker last published it, for `metrics()`.
static PUBLISHED: AtomicU8 = AtomicU8::new(0);

pub(crate) fn published() -> BreakerState {
    BreakerState::from_u8(PUBLISHED.load(Ordering::Relaxed))
}

/// The kit's breaker with the telemetry settings, publishing each change of state.
pub(crate) struct Breaker(breaker::Breaker);

impl Breaker {
    pub(crate) fn new() -> Self {
        let config =
            BreakerConfig { threshold: FAILURES_TO_OPEN, backoff: COOLDOWN, max_backoff: MAX_COOLDOWN };
        let breaker = Breaker(breaker::Breaker::new(config));
        breaker.publish();
        breaker
    }

    /// Whether a batch may be sent at `now`.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        let allowed = self.0.admit(now);
        self.publish();
        allowed
    }

    pub(crate) fn success(&mut self) {
        self.0.success();
        self.publish();
    }

    pub(crate) fn failure(&mut self, now: Instant) {
        self.0.failure(now);
        self.publish();
    }

    fn publish(&self) {
        PUBLISHED.store(self.0.state().to_u8(), Ordering::Relaxed);
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> BreakerState {
        self.0.state()
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

    #[test]
    fn the_cooldown_stops_doubling_at_its_maximum() {
        let t0 = Instant::now();
        let mut b = Breaker::new();
        for _ in 0..FAILURES_TO_OPEN {
            b.failure(t0);
        }
        let mut at = t0;
        let mut cooldown = COOLDOWN;
        for _ in 0..10 {
            at += cooldown;
            assert!(b.allow(at));
            b.failure(at);
            cooldown = (cooldown * 2).min(MAX_COOLDOWN);
        }
        assert_eq!(cooldown, MAX_COOLDOWN);
        assert!(!b.allow(at + MAX_COOLDOWN - Duration::from_secs(1)));
        assert!(b.allow(at + MAX_COOLDOWN));
    }
}
