//! The LLM domain: token accounting and cost, trace summaries, prompt capture, streamed
//! responses, the OpenInference mirror, and the enrichment stage the export worker runs for them.
//!
//! Users reach these modules at the crate root ([`cost`](crate::cost), [`tokens`](crate::tokens),
//! [`summary`](crate::summary), [`io`](crate::io), [`stream`](crate::stream)); the stage is
//! installed into the export pipeline by `init` and `testing`.

pub(crate) mod conversation;
pub mod cost;
pub mod io;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
pub(crate) mod openinference;
pub(crate) mod stage;
pub mod stream;
pub mod summary;
pub mod tokens;
