//! Limits that bound what one span can hold, so a huge attribute never turns into unbounded memory
//! or an export that a backend rejects.
//!
//! What goes past a limit is cut or dropped, and counted on the span
//! (`dropped_attributes_count`, `dropped_events_count`): never an error, never a panic.
//!
//! ```
//! assert_eq!(trace_runtime::limits::MAX_VALUE_BYTES, 16 * 1024);
//! ```

/// Longest string attribute value kept, in bytes; longer values are cut on a char boundary.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;

/// Most attributes kept on one span; the rest are dropped and counted.
pub const MAX_ATTRIBUTES: usize = 128;

/// Most events kept on one span; the rest are dropped and counted.
pub const MAX_EVENTS: usize = 128;
