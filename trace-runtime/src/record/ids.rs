//! Trace and span ids, made on the hot path without a syscall or a shared atomic.
//!
//! Each thread seeds a wyrand generator once (from the process's random hasher keys, the thread
//! id and the time). A span id is a bijective scramble of a random 32-bit per-thread prefix over a
//! 32-bit counter: unique within the thread until the counter wraps, at which point the prefix is
//! re-drawn (`#[cold]`), and random-looking in every hex digit.
//! Trace ids are 128 random bits, as W3C Trace Context recommends.

use std::cell::Cell;
use std::hash::{BuildHasher, Hash, Hasher};

pub(crate) struct IdGen {
    rng: Cell<u64>,
    prefix: Cell<u64>,
    counter: Cell<u32>,
}

impl IdGen {
    pub(crate) const fn new() -> Self {
        IdGen { rng: Cell::new(0), prefix: Cell::new(0), counter: Cell::new(0) }
    }

    #[inline(always)]
    fn next_u64(&self) -> u64 {
        let mut state = self.rng.get();
        if state == 0 {
            state = seed();
        }
        // wyrand: passes BigCrush, one multiply.
        state = state.wrapping_add(0xa076_1d64_78bd_642f);
        self.rng.set(state);
        let t = (state as u128).wrapping_mul((state ^ 0xe703_7ed1_a0b4_28db) as u128);
        ((t >> 64) ^ t) as u64
    }

    #[inline(always)]
    pub(crate) fn span_id(&self) -> u64 {
        let counter = self.counter.get().wrapping_add(1);
        self.counter.set(counter);
        if counter == 1 {
            self.reseed_prefix();
        }
        scramble(self.prefix.get() | counter as u64)
    }

    #[cold]
    fn reseed_prefix(&self) {
        let mut prefix = self.next_u64() << 32;
        if prefix == 0 {
            prefix = 1 << 32;
        }
        self.prefix.set(prefix);
    }

    #[inline]
    pub(crate) fn trace_id(&self) -> u128 {
        let id = ((self.next_u64() as u128) << 64) | self.next_u64() as u128;
        if id == 0 { 1 } else { id }
    }
}

#[cold]
fn seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64),
    );
    std::thread::current().id().hash(&mut hasher);
    hasher.finish() | 1
}

/// Hashes keys that are random already (trace ids) or unique addresses: the key's own bits make
/// the hash, where SipHash would cost the export worker time on every span.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u128(&mut self, id: u128) {
        self.0 ^= (id as u64) ^ (id >> 64) as u64;
    }

    fn write_u64(&mut self, id: u64) {
        self.0 ^= id;
    }

    fn write_usize(&mut self, address: usize) {
        // Addresses of statics are aligned: spread the rest over the high bits hashbrown uses.
        self.0 ^= (address as u64 >> 3).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map keyed by ids or addresses, hashed by [`IdHasher`].
pub(crate) type IdMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// A bijection of `u64` (splitmix64's finaliser): distinct inputs stay distinct and 0 is the only
/// input that gives 0, while every hex digit of the output depends on every input bit, so ids of
/// one thread differ from their first character (the Trajectory span files are named by the first
/// 8) instead of sharing the thread's prefix.
#[inline(always)]
fn scramble(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn span_ids_of_one_thread_differ_in_their_first_8_hex_digits() {
        let ids = IdGen::new();
        let firsts: HashSet<String> =
            (0..1000).map(|_| format!("{:016x}", ids.span_id())[..8].to_string()).collect();
        // 1000 draws from 2^32: a repeat has odds of about 1 in 10,000.
        assert!(firsts.len() >= 999, "{} distinct prefixes of 1000", firsts.len());
    }

    #[test]
    fn span_ids_are_unique_and_never_zero() {
        let ids = IdGen::new();
        let seen: HashSet<u64> = (0..100_000).map(|_| ids.span_id()).collect();
        assert_eq!(seen.len(), 100_000);
        assert!(!seen.contains(&0));
    }

    #[test]
    fn threads_draw_different_trace_ids() {
        let a = std::thread::spawn(|| IdGen::new().trace_id()).join().unwrap();
        let b = std::thread::spawn(|| IdGen::new().trace_id()).join().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, 0);
    }
}
