//! Token counts of an LLM call.

/// Token counts of one LLM call (or one chunk of a streamed call: recording adds up).
///
/// Recorded on the span as the OpenTelemetry GenAI attributes `gen_ai.usage.input_tokens`,
/// `gen_ai.usage.output_tokens`, `gen_ai.usage.cache_read.input_tokens`,
/// `gen_ai.usage.cache_write.input_tokens` and `gen_ai.usage.reasoning.output_tokens` (zero cache
/// and reasoning counts are left out).
///
/// ```
/// use trace_runtime::Usage;
///
/// let usage = Usage { input_tokens: 31, output_tokens: 27, ..Default::default() };
/// assert_eq!(usage.total_tokens(), 58);
/// assert_eq!(usage + usage, Usage { input_tokens: 62, output_tokens: 54, ..Default::default() });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Prompt tokens, including cached ones.
    pub input_tokens: u64,
    /// Completion tokens, including reasoning ones.
    pub output_tokens: u64,
    /// Prompt tokens served from the provider's cache.
    pub cache_read_tokens: u64,
    /// Prompt tokens written to the provider's cache.
    pub cache_write_tokens: u64,
    /// Completion tokens spent on reasoning.
    pub reasoning_tokens: u64,
}

impl Usage {
    /// No tokens.
    pub const ZERO: Usage = Usage {
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
    };

    /// Input plus output tokens.
    pub const fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// Whether every count is zero.
    pub fn is_zero(&self) -> bool {
        *self == Usage::ZERO
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;

    fn add(mut self, rhs: Usage) -> Usage {
        self += rhs;
        self
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, rhs: Usage) {
        self.input_tokens = self.input_tokens.saturating_add(rhs.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(rhs.output_tokens);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(rhs.cache_read_tokens);
        self.cache_write_tokens = self.cache_write_tokens.saturating_add(rhs.cache_write_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(rhs.reasoning_tokens);
    }
}
