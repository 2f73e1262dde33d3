//! The span clock: raw ticks on the hot path, wall-clock time on the export worker.
//!
//! On Linux x86/x86_64 with an invariant, synchronised TSC (`fastant` checks the clocksource and
//! cross-core drift once at process start) a tick is one `rdtsc`, about 10 ns: half the cost of
//! `Instant::now()`. Elsewhere a tick is nanoseconds of the portable monotonic clock since the
//! process anchor: correct, if slower. The choice is made once, when recording is first enabled,
//! and conversion to wall-clock time happens on the export worker from an [`Anchor`].

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Raw clock reading taken on the hot path; meaningful only relative to an [`Anchor`].
pub(crate) type Tick = u64;

static USE_TSC: AtomicBool = AtomicBool::new(false);
static ANCHOR: OnceLock<Anchor> = OnceLock::new();

/// Fixes the clock source and the anchor. Called before recording is first enabled, so no tick is
/// ever taken before the anchor that converts it.
pub(crate) fn init() -> &'static Anchor {
    ANCHOR.get_or_init(|| {
        let tsc = tsc_supported();
        USE_TSC.store(tsc, Ordering::Relaxed);
        Anchor::new(tsc)
    })
}

/// The anchor, once [`init`] ran.
pub(crate) fn anchor() -> &'static Anchor {
    init()
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn tsc_supported() -> bool {
    fastant::is_tsc_available()
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn tsc_supported() -> bool {
    false
}

/// Reads the clock. Never blocks, never allocates.
#[inline(always)]
pub(crate) fn now() -> Tick {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    if USE_TSC.load(Ordering::Relaxed) {
        // SAFETY: `rdtsc` has no preconditions on x86_64; it only reads the time-stamp counter.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    portable_now()
}

#[cold]
fn portable_now() -> Tick {
    match ANCHOR.get() {
        Some(anchor) => anchor.instant.elapsed().as_nanos() as u64,
        None => 0,
    }
}

/// Converts ticks to wall-clock time. Lives on the export worker.
///
/// For the TSC the rate is re-measured against the monotonic clock over the whole time since the
/// anchor, so it gets more exact the longer the process runs (a 2 ms calibration at start bounds
/// the error of the first spans to a few parts in 10^5).
#[derive(Debug)]
pub(crate) struct Anchor {
    tsc: bool,
    ticks: Tick,
    instant: Instant,
    wall: SystemTime,
    start_rate: f64,
}

impl Anchor {
    fn new(tsc: bool) -> Self {
        let instant = Instant::now();
        let wall = SystemTime::now();
        let ticks = if tsc { raw_tsc() } else { 0 };
        let start_rate = if tsc { calibrate() } else { 1.0 };
        Anchor { tsc, ticks, instant, wall, start_rate }
    }

    /// Nanoseconds per tick, measured over the longest baseline available.
    pub(crate) fn rate(&self) -> f64 {
        if !self.tsc {
            return 1.0;
        }
        let elapsed = self.instant.elapsed();
        let ticks = raw_tsc().wrapping_sub(self.ticks);
        if elapsed < Duration::from_millis(50) || ticks == 0 {
            return self.start_rate;
        }
        elapsed.as_nanos() as f64 / ticks as f64
    }

    /// The tick of `at`, a moment of the monotonic clock (before the anchor too).
    pub(crate) fn tick_of(&self, at: Instant, rate: f64) -> Tick {
        let nanos = match at.checked_duration_since(self.instant) {
            Some(after) => after.as_nanos() as f64,
            None => -(self.instant.duration_since(at).as_nanos() as f64),
        };
        self.ticks.wrapping_add_signed((nanos / rate) as i64)
    }

    /// Wall-clock time of `tick`, given a `rate` from [`Anchor::rate`].
    pub(crate) fn to_system_time(&self, tick: Tick, rate: f64) -> SystemTime {
        // Ticks since the anchor fit an i64 for centuries; f64 <-> i64 are single instructions,
        // where i128 needs a library call per conversion.
        let delta = tick.wrapping_sub(self.ticks) as i64;
        let nanos = (delta as f64 * rate) as i64;
        let offset = Duration::from_nanos(nanos.unsigned_abs());
        if nanos >= 0 {
            self.wall.checked_add(offset).unwrap_or(self.wall)
        } else {
            self.wall.checked_sub(offset).unwrap_or(self.wall)
        }
    }
}

fn raw_tsc() -> Tick {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        // SAFETY: see `now`.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        0
    }
}

fn calibrate() -> f64 {
    let start = Instant::now();
    let t0 = raw_tsc();
    while start.elapsed() < Duration::from_millis(2) {
        std::hint::spin_loop();
    }
    let elapsed = start.elapsed();
    let ticks = raw_tsc().wrapping_sub(t0).max(1);
    elapsed.as_nanos() as f64 / ticks as f64
}

/// The last second RFC 3339 can write (9999-12-31T23:59:59Z).
const MAX_RFC3339_SECONDS: u64 = 253_402_300_799;

/// `time` as RFC 3339 in UTC with microseconds, `2024-12-01T14:30:22.123456Z`: the kit's one
/// formatter (logs, sinks, stores). Times outside 1970-9999 are clamped to the nearest end.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let clamped = time.clamp(UNIX_EPOCH, UNIX_EPOCH + Duration::from_secs(MAX_RFC3339_SECONDS));
    humantime::format_rfc3339_micros(clamped).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_convert_to_wall_clock_within_a_millisecond() {
        let anchor = init();
        let before = SystemTime::now();
        let tick = now();
        let converted = anchor.to_system_time(tick, anchor.rate());
        let after = SystemTime::now();
        let slack = Duration::from_millis(1);
        assert!(converted + slack >= before && converted <= after + slack);
    }

    #[test]
    fn durations_are_measured_in_real_time() {
        let anchor = init();
        let start = now();
        std::thread::sleep(Duration::from_millis(20));
        let end = now();
        let rate = anchor.rate();
        let d = anchor.to_system_time(end, rate).duration_since(anchor.to_system_time(start, rate)).unwrap();
        assert!(d >= Duration::from_millis(19) && d < Duration::from_millis(200), "{d:?}");
    }
}
