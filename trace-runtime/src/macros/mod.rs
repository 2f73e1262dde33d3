//! The macros users write, re-exported from `trace-macros` with their documentation here, where
//! each one's doctests show (and check, in `trace-macros`' `doc_expansions`) its real expansion.

mod agents;
mod attributes;
mod blocks;

pub use agents::{trace_agent, trace_fn, trace_tool};
pub use attributes::{trace_connection, trace_llm, trace_pipeline};
pub use blocks::{define_keys, trace};
