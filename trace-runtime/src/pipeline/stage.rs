//! The enrichment stage the export worker runs on every converted span, behind a trait so the
//! worker knows nothing of what a domain adds.
//!
//! The LLM domain installs its stage (cost, token ledgers, the OpenInference mirror, redaction,
//! trace summaries) from `init` and `testing` before the first span can start; until a stage is
//! installed the worker still applies the installed redaction rules, so no string leaves
//! unscrubbed whatever the order of set-up.

use std::sync::OnceLock;

use opentelemetry_sdk::trace::SpanData;

use crate::privacy::redact::Scrubber;
use crate::record::Record;

/// What the export worker calls for each span it converts, on its own thread.
pub(crate) trait Stage: Send {
    /// Picks up settings changed since the last drain; called once per drain.
    fn refresh(&mut self);

    /// Notes a static string of the span being converted (redaction then knows it by address).
    fn note_static(&mut self, text: &'static str);

    /// Adds to `span`, converted from `record`, what the domain knows.
    fn process(&mut self, record: &Record, span: &mut SpanData);

    /// Called after the exporters were handed a batch, or when the queue ran dry.
    fn after_export(&mut self);
}

static INSTALLED: OnceLock<fn() -> Box<dyn Stage>> = OnceLock::new();

/// Installs the stage every export worker builds from now on; the first install wins (there is
/// one kit per process, and its stage does not change).
pub(crate) fn install(make: fn() -> Box<dyn Stage>) {
    let _ = INSTALLED.set(make);
}

/// The stage the worker runs: the installed one, or redaction alone until one is installed.
pub(crate) struct Slot {
    stage: Box<dyn Stage>,
    installed: bool,
}

impl Slot {
    pub(crate) fn new() -> Self {
        match INSTALLED.get() {
            Some(make) => Slot { stage: make(), installed: true },
            None => Slot { stage: Box::new(RedactOnly(Scrubber::new())), installed: false },
        }
    }

    /// Refreshes the stage, first swapping in an installed one if there is one now.
    pub(crate) fn refresh(&mut self) {
        if !self.installed
            && let Some(make) = INSTALLED.get()
        {
            self.stage = make();
            self.installed = true;
        }
        self.stage.refresh();
    }

    pub(crate) fn stage(&mut self) -> &mut dyn Stage {
        &mut *self.stage
    }
}

/// The stage before any domain installed one: the redaction rules, nothing else.
struct RedactOnly(Scrubber);

impl Stage for RedactOnly {
    fn refresh(&mut self) {
        self.0.refresh();
    }

    fn note_static(&mut self, text: &'static str) {
        self.0.note_static(text);
    }

    fn process(&mut self, _: &Record, span: &mut SpanData) {
        self.0.span(span);
    }

    fn after_export(&mut self) {}
}
