//! The macros users write, re-exported from `trace-macros` with their documentation here, where
//! each one's doctests show (and check, in `trace-macros`' `doc_expansions`) its real expansion.

mod attributes;
mod blocks;

pub use attributes::{trace_connection, trace_llm, trace_pipeline};
pub use blocks::{define_keys, trace};
