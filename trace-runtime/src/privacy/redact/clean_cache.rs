//! The memory of a [`Redactor`]: strings it checked and left unchanged, so that a value repeated
//! on every span is scanned once.

use std::borrow::Cow;
use std::collections::HashSet;

use super::Redactor;
use crate::record::ids::IdMap;

/// Short strings a [`Redactor`] left unchanged: span names, model names, pipeline elements and
/// the like repeat on every span, and a lookup costs a fraction of a scan. Bounded: when full it
/// starts over.
///
/// Static strings (literals in the application: span names, `fields(..)` values) are also known by
/// address, which is cheaper than hashing their text. That is sound because only `&'static str`s
/// are entered: no other string can live at a static string's address.
pub(crate) struct CleanCache {
    pub(super) set: HashSet<Box<str>, foldhash::fast::FixedState>,
    /// Address of a static string -> its length, and whether the rules leave it unchanged.
    statics: IdMap<usize, (usize, bool)>,
    /// The static strings met last, direct-mapped by address, in front of `statics`: a span's
    /// name and literal values are each looked up twice per span, and a hit here is a compare
    /// where the map is a hash and a probe (8 % of the worker's time).
    recent: [Recent; CleanCache::RECENT],
}

/// One entry of [`CleanCache::recent`]; address 0 is empty.
#[derive(Clone, Copy, Default)]
struct Recent {
    address: usize,
    len: usize,
    clean: bool,
}

impl Default for CleanCache {
    fn default() -> Self {
        CleanCache {
            set: HashSet::default(),
            statics: IdMap::default(),
            recent: [Recent::default(); Self::RECENT],
        }
    }
}

impl CleanCache {
    /// Longest string remembered, in bytes.
    pub(super) const MAX_LEN: usize = 64;
    /// Strings remembered at most.
    const MAX_ENTRIES: usize = 4096;

    pub(super) fn insert(&mut self, text: &str) {
        if self.set.len() >= Self::MAX_ENTRIES {
            self.set.clear();
        }
        self.set.insert(text.into());
    }

    /// Entries of `recent` (a power of two).
    const RECENT: usize = 256;

    #[inline(always)]
    fn recent_slot(address: usize) -> usize {
        // Fibonacci hashing: the top bits of the product mix every bit of the address, so
        // literals packed a few bytes apart, and a span's handful of strings, rarely share a
        // slot (with the address's low bits folded instead, a span's strings evicted each other
        // and most lookups fell through to the map).
        (address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) as usize
            >> (usize::BITS - Self::RECENT.trailing_zeros())
    }

    /// The static string's entry, from `recent` or else from `statics` (then remembered).
    #[inline(always)]
    fn lookup_static(&mut self, text: &str) -> Option<Recent> {
        let address = text.as_ptr() as usize;
        let slot = Self::recent_slot(address);
        let recent = self.recent[slot];
        if recent.address == address && recent.len == text.len() {
            return Some(recent);
        }
        let &(len, clean) = self.statics.get(&address).filter(|&&(len, _)| len == text.len())?;
        let found = Recent { address, len, clean };
        self.recent[slot] = found;
        Some(found)
    }

    /// Whether `text` is a static string met lately and left unchanged by the rules (`false`
    /// may still be a clean static: see [`CleanCache::known_clean_static`]).
    #[inline(always)]
    pub(super) fn known_clean_recent(&self, text: &str) -> bool {
        let address = text.as_ptr() as usize;
        let recent = self.recent[Self::recent_slot(address)];
        recent.address == address && recent.len == text.len() && recent.clean
    }

    /// Whether `text` is a static string checked before and left unchanged by the rules.
    #[inline(always)]
    pub(super) fn known_clean_static(&mut self, text: &str) -> bool {
        self.lookup_static(text).is_some_and(|r| r.clean)
    }

    /// Checks a static string once, so that [`Redactor::apply`] knows it by address.
    #[inline(always)]
    pub(crate) fn note_static(&mut self, text: &'static str, redactor: &Redactor) {
        let address = text.as_ptr() as usize;
        let recent = self.recent[Self::recent_slot(address)];
        if recent.address != address || recent.len != text.len() {
            self.note_static_slow(text, redactor);
        }
    }

    #[inline(never)]
    fn note_static_slow(&mut self, text: &'static str, redactor: &Redactor) {
        if self.lookup_static(text).is_some() {
            return;
        }
        if self.statics.len() >= Self::MAX_ENTRIES {
            self.clear_statics();
        }
        let clean = text.len() <= crate::record::limits::value_bytes()
            && matches!(redactor.redact(text), Cow::Borrowed(_));
        self.statics.insert(text.as_ptr() as usize, (text.len(), clean));
    }

    fn clear_statics(&mut self) {
        self.statics.clear();
        self.recent = [Recent::default(); Self::RECENT];
    }

    /// Forgets everything: the rules changed.
    pub(crate) fn clear(&mut self) {
        self.set.clear();
        self.clear_statics();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clean_cache_remembers_only_clean_short_strings_and_stays_bounded() {
        let r = Redactor::builtin();
        let mut clean = CleanCache::default();
        for _ in 0..2 {
            assert!(r.scrub("stt", &mut clean).is_none());
            assert_eq!(r.scrub("ada@example.com", &mut clean).as_deref(), Some("[REDACTED:email]"));
        }
        assert!(clean.set.contains("stt") && !clean.set.contains("ada@example.com"));
        let long = "x".repeat(CleanCache::MAX_LEN + 1);
        assert!(r.scrub(&long, &mut clean).is_none());
        assert!(!clean.set.contains(long.as_str()));
        for i in 0..CleanCache::MAX_ENTRIES + 10 {
            assert!(r.scrub(&format!("element-{i}"), &mut clean).is_none());
        }
        assert!(clean.set.len() <= CleanCache::MAX_ENTRIES);
    }

    #[test]
    fn static_strings_are_known_by_address_and_a_secret_one_is_still_redacted() {
        const SECRET: &str = "key sk-proj-abcdefghijklmnopqrstuvwx";
        let r = Redactor::builtin();
        let mut clean = CleanCache::default();
        clean.note_static("voice", &r);
        clean.note_static(SECRET, &r);
        assert!(r.scrub("voice", &mut clean).is_none());
        assert_eq!(r.scrub(SECRET, &mut clean).as_deref(), Some("key [REDACTED:openai_key]"));
        // A copy at another address goes through the rules, whatever its text.
        assert!(r.scrub(&String::from("voice"), &mut clean).is_none());
        assert!(r.scrub(&String::from(SECRET), &mut clean).is_some());
        clean.clear();
        assert!(
            clean.statics.is_empty() && clean.set.is_empty() && clean.recent.iter().all(|r| r.address == 0)
        );
    }
}
