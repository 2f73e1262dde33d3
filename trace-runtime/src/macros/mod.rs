//! The macros users write, re-exported from `trace-macros` with their documentation here, where
//! each one's doctests show (and check, in `trace-macros`' `doc_expansions`) its real expansion.

mod agents;
mod blocks;
mod llm;
mod realtime;

pub use agents::{trace_agent, trace_fn, trace_tool};
pub use blocks::{define_keys, trace};
pub use llm::trace_llm;
pub use realtime::{trace_connection, trace_pipeline};
