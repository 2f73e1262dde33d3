//! The data of association attributes: a set of `key = value` pairs that a span passes to every
//! descendant (see [`crate::span::association`], which makes and finds the sets).

use std::sync::Arc;

use opentelemetry::KeyValue;

/// The handle of a set in a context: 24 bits, in bytes that would otherwise be padding, so a
/// context stays 32 bytes and `Copy`. `0` is no set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct AssocId([u8; 3]);

impl AssocId {
    pub(crate) const NONE: AssocId = AssocId([0; 3]);
    /// The last handle before they wrap.
    pub(crate) const MAX: u32 = (1 << 24) - 1;

    pub(crate) fn new(id: u32) -> Self {
        let [a, b, c, _] = (id & Self::MAX).to_le_bytes();
        AssocId([a, b, c])
    }

    pub(crate) fn get(self) -> u32 {
        let [a, b, c] = self.0;
        u32::from_le_bytes([a, b, c, 0])
    }

    #[inline(always)]
    pub(crate) fn is_none(self) -> bool {
        self.0 == [0; 3]
    }
}

/// One immutable set: the pairs of the span that made it and of its ancestors' sets (the
/// nearest value of a key wins), in the trace it was made in.
#[derive(Debug)]
pub(crate) struct AssocSet {
    pub(crate) id: AssocId,
    pub(crate) trace_id: u128,
    pub(crate) attrs: Vec<KeyValue>,
}

/// The set a span carries, in one of its attribute slots (the slot's key is [`SLOT_KEY`], never
/// exported): the export worker adds the set's pairs the span does not set itself.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Association(pub(crate) Arc<AssocSet>);

impl PartialEq for Association {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The key of the slot holding a span's [`Association`].
pub(crate) const SLOT_KEY: &str = "trace_runtime.association";
