//! What an LLM call cost: a price table per model, in US dollars per million tokens.
//!
//! The export worker prices every span that recorded usage: the cost goes on the span as
//! `gen_ai.usage.cost` (USD, `f64`) and into the [token ledgers](crate::tokens). A model the
//! table does not know gets no cost attribute and is counted as *unpriced*, never as $0.
//!
//! Model names are matched exactly, then by the longest known prefix that ends at a `-`, `:`,
//! `@`, `.` or `_` of the name (`gpt-4o-2024-08-06` is priced as `gpt-4o`,
//! `claude-sonnet-4-20250514` as `claude-sonnet-4`), then the same with a vendor path removed
//! (`openai/gpt-4o`, `models/gemini-2.5-pro`).
//!
//! Prices of the table can be replaced or added from code ([`set_price`]) or from a JSON or TOML
//! file named by `TRACE_PRICES` (or [`ConfigBuilder::prices_file`](crate::ConfigBuilder::prices_file)),
//! read by `init()`, which fails naming the file and the problem if it does not parse:
//!
//! ```toml
//! # prices.toml: USD per million tokens; cache prices default to the input price
//! [my-finetune]
//! input = 0.30
//! output = 1.20
//!
//! ["gpt-4o"]
//! input = 2.0
//! output = 8.0
//! cache_read = 1.0
//! ```
//!
//! ```json
//! { "my-finetune": { "input": 0.30, "output": 1.20 } }
//! ```
//!
//! ```
//! use trace_runtime::{cost, Usage};
//!
//! let usage = Usage { input_tokens: 1_000_000, output_tokens: 100_000, ..Default::default() };
//! let price = cost::price_of("gpt-4o-mini-2024-07-18").expect("a built-in price");
//! assert!((price.cost(&usage) - 0.21).abs() < 1e-9); // 0.15 + 0.1 × 0.60
//! assert_eq!(cost::price_of("my-private-model"), None);
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use crate::record::usage::Usage;

/// Prices of one model, in US dollars per million tokens.
///
/// ```
/// use trace_runtime::{cost::Price, Usage};
///
/// let price = Price::new(3.0, 15.0).with_cache(0.30, 3.75);
/// let usage = Usage { input_tokens: 2_000, cache_read_tokens: 1_000, output_tokens: 500, ..Default::default() };
/// // 1000 uncached × $3 + 1000 cached × $0.30 + 500 × $15, per million
/// assert!((price.cost(&usage) - 0.0108).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Prompt tokens not served from or written to the cache.
    pub input: f64,
    /// Completion tokens, reasoning included.
    pub output: f64,
    /// Prompt tokens read from the provider's cache (default: the input price).
    #[serde(default)]
    pub cache_read: Option<f64>,
    /// Prompt tokens written to the provider's cache (default: the input price).
    #[serde(default)]
    pub cache_write: Option<f64>,
}

/// A cost split the way OpenInference reports it (`llm.cost.*`), in US dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostBreakdown {
    /// Uncached prompt tokens.
    pub input: f64,
    /// Completion tokens.
    pub output: f64,
    /// Prompt tokens read from the cache.
    pub cache_read: f64,
    /// Prompt tokens written to the cache.
    pub cache_write: f64,
}

/// Costs are summed in whole units of 10⁻¹² US dollars, so they are exact decimals to the precision
/// prices have (a millionth of a dollar per million tokens): `0.000104`, never
/// `0.00010400000000000001`. A value in dollars is the `f64` nearest that decimal.
const UNITS_PER_DOLLAR: f64 = 1e12;

/// `dollars` as whole units (the nearest: a cost made by [`dollars`] comes back exactly).
pub(crate) fn units(dollars: f64) -> u128 {
    if dollars.is_finite() && dollars > 0.0 { (dollars * UNITS_PER_DOLLAR).round() as u128 } else { 0 }
}

fn dollars(units: u128) -> f64 {
    units as f64 / UNITS_PER_DOLLAR
}

/// The cost of `tokens` at `per_million` dollars per million tokens, in units.
fn cost_units(tokens: u64, per_million: f64) -> u128 {
    // Per million tokens in millionths of a dollar is per token in units.
    let per_token =
        if per_million.is_finite() && per_million > 0.0 { (per_million * 1e6).round() as u128 } else { 0 };
    u128::from(tokens) * per_token
}

/// `a + b` in dollars, summed exactly (the ledgers' running totals).
pub(crate) fn add_dollars(a: f64, b: f64) -> f64 {
    dollars(units(a) + units(b))
}

impl CostBreakdown {
    /// Everything on the prompt side: input and cache.
    pub fn prompt(&self) -> f64 {
        dollars(units(self.input) + units(self.cache_read) + units(self.cache_write))
    }

    /// The whole cost.
    ///
    /// ```
    /// use trace_runtime::{cost::Price, Usage};
    ///
    /// let price = Price::new(0.10, 0.40); // per million tokens
    /// let usage = Usage { input_tokens: 40, output_tokens: 250, ..Default::default() };
    /// assert_eq!(price.breakdown(&usage).total().to_string(), "0.000104", "an exact decimal");
    /// ```
    pub fn total(&self) -> f64 {
        dollars(units(self.input) + units(self.cache_read) + units(self.cache_write) + units(self.output))
    }
}

impl Price {
    /// Input and output prices per million tokens; cache tokens at the input price.
    pub const fn new(input: f64, output: f64) -> Self {
        Price { input, output, cache_read: None, cache_write: None }
    }

    /// With prices for cache reads and cache writes.
    pub const fn with_cache(mut self, read: f64, write: f64) -> Self {
        self.cache_read = Some(read);
        self.cache_write = Some(write);
        self
    }

    /// With a price for cache reads only.
    pub const fn with_cache_read(mut self, read: f64) -> Self {
        self.cache_read = Some(read);
        self
    }

    /// The cost of `usage` in US dollars. `usage.input_tokens` includes cached tokens (see
    /// [`Usage`]); `output_tokens` includes reasoning tokens.
    pub fn cost(&self, usage: &Usage) -> f64 {
        self.breakdown(usage).total()
    }

    /// The cost of `usage`, by kind of token.
    pub fn breakdown(&self, usage: &Usage) -> CostBreakdown {
        let cached = usage.cache_read_tokens.saturating_add(usage.cache_write_tokens);
        let uncached = usage.input_tokens.saturating_sub(cached);
        CostBreakdown {
            input: dollars(cost_units(uncached, self.input)),
            output: dollars(cost_units(usage.output_tokens, self.output)),
            cache_read: dollars(cost_units(usage.cache_read_tokens, self.cache_read.unwrap_or(self.input))),
            cache_write: dollars(cost_units(
                usage.cache_write_tokens,
                self.cache_write.unwrap_or(self.input),
            )),
        }
    }

    fn check(&self) -> Result<(), String> {
        let all = [Some(self.input), Some(self.output), self.cache_read, self.cache_write];
        match all.into_iter().flatten().find(|p| !p.is_finite() || *p < 0.0) {
            Some(bad) => Err(format!("price {bad} is not a finite number of dollars >= 0")),
            None => Ok(()),
        }
    }
}

/// The date of the built-in prices. They were copied from the providers' public price pages
/// (OpenAI, Anthropic, Google Gemini API, Mistral, DeepSeek, xAI, Cohere) for standard,
/// non-batch, text usage under 200k prompt tokens; prices change, so check
/// [`BUILTIN_PRICES`] against your invoices and override what differs.
pub const PRICES_DATE: &str = "2025-10";

/// The built-in table, as of [`PRICES_DATE`]: `(model, price)` in US dollars per million tokens.
///
/// ```
/// let (model, price) = trace_runtime::cost::BUILTIN_PRICES[0];
/// assert_eq!(model, "gpt-4o");
/// assert!(price.input > 0.0);
/// ```
pub const BUILTIN_PRICES: &[(&str, Price)] = &[
    // OpenAI (cached input at the listed cached price; cache writes are free).
    ("gpt-4o", Price::new(2.50, 10.00).with_cache(1.25, 2.50)),
    ("gpt-4o-mini", Price::new(0.15, 0.60).with_cache(0.075, 0.15)),
    ("gpt-4.1", Price::new(2.00, 8.00).with_cache(0.50, 2.00)),
    ("gpt-4.1-mini", Price::new(0.40, 1.60).with_cache(0.10, 0.40)),
    ("gpt-4.1-nano", Price::new(0.10, 0.40).with_cache(0.025, 0.10)),
    ("gpt-5", Price::new(1.25, 10.00).with_cache(0.125, 1.25)),
    ("gpt-5-mini", Price::new(0.25, 2.00).with_cache(0.025, 0.25)),
    ("gpt-5-nano", Price::new(0.05, 0.40).with_cache(0.005, 0.05)),
    ("gpt-4-turbo", Price::new(10.00, 30.00)),
    ("gpt-4", Price::new(30.00, 60.00)),
    ("gpt-3.5-turbo", Price::new(0.50, 1.50)),
    ("o1", Price::new(15.00, 60.00).with_cache(7.50, 15.00)),
    ("o1-mini", Price::new(1.10, 4.40).with_cache(0.55, 1.10)),
    ("o3", Price::new(2.00, 8.00).with_cache(0.50, 2.00)),
    ("o3-mini", Price::new(1.10, 4.40).with_cache(0.55, 1.10)),
    ("o4-mini", Price::new(1.10, 4.40).with_cache(0.275, 1.10)),
    ("text-embedding-3-small", Price::new(0.02, 0.0)),
    ("text-embedding-3-large", Price::new(0.13, 0.0)),
    // Anthropic (cache reads 0.1×, 5-minute cache writes 1.25× the input price).
    ("claude-opus-4-1", Price::new(15.00, 75.00).with_cache(1.50, 18.75)),
    ("claude-opus-4", Price::new(15.00, 75.00).with_cache(1.50, 18.75)),
    ("claude-sonnet-4-5", Price::new(3.00, 15.00).with_cache(0.30, 3.75)),
    ("claude-sonnet-4", Price::new(3.00, 15.00).with_cache(0.30, 3.75)),
    ("claude-haiku-4-5", Price::new(1.00, 5.00).with_cache(0.10, 1.25)),
    ("claude-3-7-sonnet", Price::new(3.00, 15.00).with_cache(0.30, 3.75)),
    ("claude-3-5-sonnet", Price::new(3.00, 15.00).with_cache(0.30, 3.75)),
    ("claude-3-5-haiku", Price::new(0.80, 4.00).with_cache(0.08, 1.00)),
    ("claude-3-opus", Price::new(15.00, 75.00).with_cache(1.50, 18.75)),
    ("claude-3-haiku", Price::new(0.25, 1.25).with_cache(0.03, 0.30)),
    // Google Gemini API (prompts up to 200k tokens; cached input at the context-cache price).
    ("gemini-2.5-pro", Price::new(1.25, 10.00).with_cache_read(0.31)),
    ("gemini-2.5-flash", Price::new(0.30, 2.50).with_cache_read(0.075)),
    ("gemini-2.5-flash-lite", Price::new(0.10, 0.40).with_cache_read(0.025)),
    ("gemini-2.0-flash", Price::new(0.10, 0.40).with_cache_read(0.025)),
    ("gemini-2.0-flash-lite", Price::new(0.075, 0.30)),
    ("gemini-1.5-pro", Price::new(1.25, 5.00)),
    ("gemini-1.5-flash", Price::new(0.075, 0.30)),
    // Mistral.
    ("mistral-large", Price::new(2.00, 6.00)),
    ("mistral-medium", Price::new(0.40, 2.00)),
    ("mistral-small", Price::new(0.10, 0.30)),
    ("codestral", Price::new(0.30, 0.90)),
    ("ministral-8b", Price::new(0.10, 0.10)),
    ("ministral-3b", Price::new(0.04, 0.04)),
    ("open-mistral-nemo", Price::new(0.15, 0.15)),
    // DeepSeek (cache hits at the cache-hit price).
    ("deepseek-chat", Price::new(0.27, 1.10).with_cache_read(0.07)),
    ("deepseek-reasoner", Price::new(0.55, 2.19).with_cache_read(0.14)),
    // xAI.
    ("grok-4", Price::new(3.00, 15.00).with_cache_read(0.75)),
    ("grok-3", Price::new(3.00, 15.00).with_cache_read(0.75)),
    ("grok-3-mini", Price::new(0.30, 0.50).with_cache_read(0.075)),
    // Cohere.
    ("command-r-plus", Price::new(2.50, 10.00)),
    ("command-r", Price::new(0.15, 0.60)),
];

/// The table in use: the built-in prices, then everything set from code or a file.
fn table() -> &'static RwLock<Arc<HashMap<String, Price>>> {
    static TABLE: OnceLock<RwLock<Arc<HashMap<String, Price>>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let map = BUILTIN_PRICES.iter().map(|(m, p)| (m.to_string(), *p)).collect();
        RwLock::new(Arc::new(map))
    })
}

/// A snapshot of the table, for the worker to price a whole drained queue with one lock.
pub(crate) fn snapshot() -> Arc<HashMap<String, Price>> {
    table().read().map_or_else(|p| p.into_inner().clone(), |t| t.clone())
}

fn update(f: impl FnOnce(&mut HashMap<String, Price>)) {
    let mut guard = table().write().unwrap_or_else(|p| p.into_inner());
    f(Arc::make_mut(&mut guard));
}

/// Sets (adds or replaces) the price of `model`; spans exported from now on use it.
///
/// ```
/// use trace_runtime::cost::{self, Price};
///
/// cost::set_price("acme-llm-7b", Price::new(0.20, 0.40));
/// assert_eq!(cost::price_of("acme-llm-7b-20250101"), Some(Price::new(0.20, 0.40)));
/// assert_eq!(cost::price_of("acme-llm-7b-chat"), None, "a variant has a price of its own");
/// ```
pub fn set_price(model: impl Into<String>, price: Price) {
    let model = model.into();
    update(|t| {
        t.insert(model, price);
    });
}

/// Removes every price, built-in ones included: only prices set afterwards count.
///
/// ```rust,standalone_crate
/// use trace_runtime::cost;
///
/// cost::clear_prices();
/// assert_eq!(cost::price_of("gpt-4o"), None);
/// cost::reset_prices();
/// assert!(cost::price_of("gpt-4o").is_some());
/// ```
pub fn clear_prices() {
    update(HashMap::clear);
}

/// Restores the built-in table, dropping prices set from code or files.
pub fn reset_prices() {
    update(|t| {
        t.clear();
        t.extend(BUILTIN_PRICES.iter().map(|(m, p)| (m.to_string(), *p)));
    });
}

/// The price of `model`: the exact name; else a priced name followed only by a snapshot tag (a
/// date, a revision, `latest`, Bedrock's `v1:0`); else the same without a vendor path. `None`
/// when unpriced: a variant priced differently (`-pro`, `-realtime`, `-audio`, a newer version
/// number) is never priced as its cheaper sibling, so its cost is missing rather than wrong.
///
/// ```
/// use trace_runtime::cost;
///
/// assert_eq!(cost::price_of("gpt-4o-2024-08-06"), cost::price_of("gpt-4o"));
/// assert_eq!(cost::price_of("openai/gpt-4o-mini"), cost::price_of("gpt-4o-mini"));
/// assert_eq!(cost::price_of("gpt-4oz"), None);
/// assert_eq!(cost::price_of("o1-pro"), None, "not o1's price, ten times too low");
/// assert_eq!(cost::price_of("gpt-4o-realtime-preview"), None, "audio rates are not text rates");
/// ```
pub fn price_of(model: &str) -> Option<Price> {
    lookup(&snapshot(), model)
}

pub(crate) fn lookup(table: &HashMap<String, Price>, model: &str) -> Option<Price> {
    let find = |name: &str| -> Option<Price> {
        if let Some(p) = table.get(name) {
            return Some(*p);
        }
        name.char_indices()
            .rev()
            .filter(|(i, c)| is_separator(*c) && is_snapshot(&name[i + 1..]))
            .find_map(|(i, _)| table.get(&name[..i]).copied())
    };
    find(model).or_else(|| model.rsplit_once('/').and_then(|(_, base)| find(base)))
}

fn is_separator(c: char) -> bool {
    matches!(c, '-' | ':' | '@' | '.' | '_')
}

/// Whether `tail`, what follows a priced name, only names a snapshot of that model (a date, a
/// revision number, `latest`, a Bedrock `v1:0`), never a variant that is priced differently:
/// `o1-pro` is not `o1`, `gpt-4o-realtime-preview` is not `gpt-4o`, `claude-opus-4-1` is not
/// `claude-opus-4` (a one- or two-digit number is a model version, not a snapshot).
fn is_snapshot(tail: &str) -> bool {
    let mut words = tail.split(is_separator).peekable();
    let mut any = false;
    while let Some(word) = words.next() {
        let digits = !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
        let ok = match word {
            "latest" => true,
            // A date as `2024-08-06`: the year, then a two-digit month and day.
            _ if digits && word.len() == 4 => {
                let month = words.next_if(|w| w.len() == 2 && w.bytes().all(|b| b.is_ascii_digit()));
                let day = month
                    .and_then(|_| words.next_if(|w| w.len() == 2 && w.bytes().all(|b| b.is_ascii_digit())));
                month.is_none() || day.is_some()
            }
            // `20240620`, Gemini's `002`.
            _ if digits => word.len() >= 3,
            // Bedrock's `v1` of `v1:0` (the `0` that follows is a revision of it).
            _ if word.len() > 1 && word.starts_with('v') && word[1..].bytes().all(|b| b.is_ascii_digit()) => {
                let _ = words.next_if(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()));
                true
            }
            _ => false,
        };
        if !ok {
            return false;
        }
        any = true;
    }
    any
}

/// Why a price file could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "price file `{path}`: {problem}; expected a JSON or TOML table of model names to {{ input, output, cache_read, cache_write }} in USD per million tokens"
)]
pub struct PriceFileError {
    /// The file, as named.
    pub path: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Reads a JSON (`.json`) or TOML (any other name) price file and adds its prices to the table.
/// Returns how many models it set.
///
/// ```
/// let path = std::env::temp_dir().join(format!("prices-{}.json", std::process::id()));
/// std::fs::write(&path, r#"{ "house-model": { "input": 1.0, "output": 2.0 } }"#).unwrap();
/// assert_eq!(trace_runtime::cost::load_prices(&path), Ok(1));
/// assert!(trace_runtime::cost::price_of("house-model").is_some());
///
/// std::fs::write(&path, r#"{ "house-model": { "input": "cheap" } }"#).unwrap();
/// let err = trace_runtime::cost::load_prices(&path).unwrap_err();
/// assert!(err.to_string().contains("prices-"));
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn load_prices(path: impl AsRef<Path>) -> Result<usize, PriceFileError> {
    let prices = read_prices(path.as_ref())?;
    let n = prices.len();
    update(|t| t.extend(prices));
    Ok(n)
}

/// Parses a price file without installing it (so `init` can fail before changing anything).
pub(crate) fn read_prices(path: &Path) -> Result<HashMap<String, Price>, PriceFileError> {
    let error = |problem: String| PriceFileError { path: path.display().to_string(), problem };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot be read ({e})")))?;
    let json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let prices: HashMap<String, Price> = if json {
        serde_json::from_str(&text).map_err(|e| error(format!("invalid JSON: {e}")))?
    } else {
        toml::from_str(&text).map_err(|e| error(format!("invalid TOML: {}", e.to_string().trim_end())))?
    };
    for (model, price) in &prices {
        price.check().map_err(|p| error(format!("model `{model}`: {p}")))?;
    }
    Ok(prices)
}

#[cfg(test)]
mod tests {
    #[test]
    fn costs_are_exact_decimals_to_the_precision_of_prices() {
        // Every built-in price, over token counts that make binary floating point show noise
        // (0.00010400000000000001): the printed cost has no more decimals than units allow.
        for (model, price) in BUILTIN_PRICES {
            for tokens in [1u64, 3, 7, 31, 40, 250, 999, 12_345] {
                let usage = Usage {
                    input_tokens: tokens * 3,
                    output_tokens: tokens,
                    cache_read_tokens: tokens,
                    ..Default::default()
                };
                let b = price.breakdown(&usage);
                for (what, cost) in [("total", b.total()), ("prompt", b.prompt()), ("output", b.output)] {
                    let text = cost.to_string();
                    let decimals = text.split('.').nth(1).map_or(0, str::len);
                    assert!(decimals <= 12, "{model} {what} for {tokens} tokens: {text}");
                }
            }
        }
        let mut ledger = crate::llm::tokens::Ledger::default();
        for _ in 0..1000 {
            ledger.add("p", "m", Usage::default(), Some(0.000104));
        }
        assert_eq!(ledger.priced_cost().to_string(), "0.104", "a running total stays exact");
    }

    use super::*;

    fn table(entries: &[(&str, Price)]) -> HashMap<String, Price> {
        entries.iter().map(|(m, p)| (m.to_string(), *p)).collect()
    }

    #[test]
    fn exact_then_longest_prefix_at_a_separator() {
        let t = table(&[("gpt-4o", Price::new(1.0, 1.0)), ("gpt-4o-mini", Price::new(2.0, 2.0))]);
        assert_eq!(lookup(&t, "gpt-4o").map(|p| p.input), Some(1.0));
        assert_eq!(lookup(&t, "gpt-4o-2024-08-06").map(|p| p.input), Some(1.0));
        assert_eq!(lookup(&t, "gpt-4o-mini-2024-07-18").map(|p| p.input), Some(2.0));
        assert_eq!(lookup(&t, "gpt-4omni"), None);
        assert_eq!(lookup(&t, "azure/gpt-4o-mini"), lookup(&t, "gpt-4o-mini"));
        assert_eq!(lookup(&t, "llama-3"), None);
    }

    #[test]
    fn a_variant_is_never_priced_as_its_cheaper_sibling() {
        let t = table(BUILTIN_PRICES);
        for model in [
            "o1-pro",
            "o3-pro",
            "gpt-5-pro",
            "gpt-4o-realtime-preview",
            "gpt-4o-audio-preview-2024-12-17",
            "gpt-4o-mini-tts",
            "gpt-4o-search-preview",
            "claude-opus-4-5",
            "gemini-2.5-pro-tts",
        ] {
            assert_eq!(lookup(&t, model), None, "{model}");
        }
        let snapshots = [
            ("claude-3-5-sonnet@20240620", "claude-3-5-sonnet"),
            ("claude-3-haiku-20240307-v1:0", "claude-3-haiku"),
            ("gemini-1.5-pro-002", "gemini-1.5-pro"),
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("claude-opus-4-1-20250805", "claude-opus-4-1"),
            ("grok-3-latest", "grok-3"),
        ];
        for (model, base) in snapshots {
            assert_eq!(lookup(&t, model), t.get(base).copied(), "{model}");
        }
        assert!(!is_snapshot("2024-08"), "a year and month is not a date");
        assert!(!is_snapshot(""));
    }

    #[test]
    fn every_builtin_model_prices_its_dated_variants() {
        let t = table(BUILTIN_PRICES);
        for (model, price) in BUILTIN_PRICES {
            assert_eq!(lookup(&t, &format!("{model}-20250101")), Some(*price), "{model}");
            assert!(price.check().is_ok(), "{model}");
        }
        assert_eq!(lookup(&t, "claude-sonnet-4-20250514"), t.get("claude-sonnet-4").copied());
    }

    #[test]
    fn cached_tokens_are_priced_apart_from_input() {
        let price = Price::new(10.0, 20.0).with_cache(1.0, 12.5);
        let usage = Usage {
            input_tokens: 1_000,
            cache_read_tokens: 600,
            cache_write_tokens: 100,
            output_tokens: 10,
            reasoning_tokens: 5,
        };
        let b = price.breakdown(&usage);
        assert!((b.input - 300.0 * 10.0 / 1e6).abs() < 1e-15);
        assert!((b.cache_read - 600.0 / 1e6).abs() < 1e-15);
        assert!((b.cache_write - 100.0 * 12.5 / 1e6).abs() < 1e-15);
        assert!((b.output - 10.0 * 20.0 / 1e6).abs() < 1e-15);
        assert!((price.cost(&usage) - b.total()).abs() < 1e-15);
    }

    #[test]
    fn price_files_in_toml_and_json_and_their_errors() {
        let dir = std::env::temp_dir().join(format!("trace-prices-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml_path = dir.join("prices.toml");
        std::fs::write(&toml_path, "[\"acme-1\"]\ninput = 1.5\noutput = 3\ncache_read = 0.5\n").unwrap();
        let prices = read_prices(&toml_path).unwrap();
        assert_eq!(prices["acme-1"], Price::new(1.5, 3.0).with_cache_read(0.5));

        let json_path = dir.join("prices.json");
        std::fs::write(&json_path, r#"{"acme-2": {"input": 1, "output": 2, "cache_write": 1.25}}"#).unwrap();
        assert_eq!(read_prices(&json_path).unwrap()["acme-2"].cache_write, Some(1.25));

        std::fs::write(&json_path, r#"{"acme-2": {"input": 1}}"#).unwrap();
        let err = read_prices(&json_path).unwrap_err().to_string();
        assert!(err.contains("prices.json") && err.contains("missing field `output`"), "{err}");

        std::fs::write(&toml_path, "[m]\ninput = 1\noutput = 2\ncache = 3\n").unwrap();
        let err = read_prices(&toml_path).unwrap_err().to_string();
        assert!(err.contains("prices.toml") && err.contains("unknown field `cache`"), "{err}");

        std::fs::write(&toml_path, "[m]\ninput = -1\noutput = 2\n").unwrap();
        let err = read_prices(&toml_path).unwrap_err().to_string();
        assert!(err.contains("model `m`: price -1"), "{err}");

        let err = read_prices(&dir.join("missing.toml")).unwrap_err().to_string();
        assert!(err.contains("missing.toml") && err.contains("cannot be read"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
