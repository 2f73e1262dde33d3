//! Reading one setting: the builder's value, else the variable's, checked against its range.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use super::ConfigError;

pub(crate) fn parse_bool(
    env: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<bool>, ConfigError> {
    let Some(value) = env(variable) else { return Ok(None) };
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "0" | "false" | "no" | "off" => Ok(Some(false)),
        _ => Err(ConfigError::InvalidEnv { variable, value, expected: "true or false" }),
    }
}

/// A whole number greater than 0, from the builder or else the environment.
pub(super) fn positive(
    set: Option<usize>,
    setting: &'static str,
    env: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: usize,
) -> Result<usize, ConfigError> {
    ranged(set, setting, env, variable, 1..=usize::MAX, default, "a whole number greater than 0")
}

/// The builder's value, or else the environment variable's, within `range`; `default` when
/// neither is set. Out of range or not a number: an error naming the setting or the variable,
/// the value, and `expected`.
pub(super) fn ranged<T: FromStr + PartialOrd + fmt::Display + Copy>(
    set: Option<T>,
    setting: &'static str,
    env: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    range: RangeInclusive<T>,
    default: T,
    expected: &'static str,
) -> Result<T, ConfigError> {
    match set {
        Some(v) if range.contains(&v) => Ok(v),
        Some(v) => Err(ConfigError::InvalidSetting { setting, value: v.to_string(), expected }),
        None => match env(variable) {
            None => Ok(default),
            Some(raw) => match raw.parse::<T>() {
                Ok(v) if range.contains(&v) => Ok(v),
                _ => Err(ConfigError::InvalidEnv { variable, value: raw, expected }),
            },
        },
    }
}

pub(super) fn binary_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown_service".into())
}

/// Whether `TRACE_DEBUG` asks for the init report on standard error, spelled as every other
/// boolean variable ([`parse_bool`]: `true`/`false`, `1`/`0`,
/// `yes`/`no`, `on`/`off`). Another value is the same [`ConfigError`] as theirs, naming the
/// variable and the value; `init` turns it into a warning rather than failing, since the
/// variable only chooses a diagnostic print.
pub(crate) fn debug_enabled(env: impl Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
    Ok(parse_bool(&env, "TRACE_DEBUG")?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_debug_takes_the_boolean_spellings_of_every_switch_and_names_a_bad_value() {
        let debug = |value: Option<&str>| {
            debug_enabled(|name: &str| (name == "TRACE_DEBUG").then_some(value?.into()))
        };
        assert_eq!(debug(None), Ok(false), "off by default");
        for on in ["true", "TRUE", "1", "yes", "On"] {
            assert_eq!(debug(Some(on)), Ok(true), "{on}");
        }
        for off in ["false", "0", "no", "OFF"] {
            assert_eq!(debug(Some(off)), Ok(false), "{off}");
        }
        for bad in ["verbose", "", "2", "tru"] {
            let err = debug(Some(bad)).expect_err(bad).to_string();
            assert!(err.contains(&format!("`TRACE_DEBUG` is `{bad}`: expected true or false")), "{err}");
        }
        // The same spellings as the switches `Config` resolves.
        let switch = |value: &str| {
            parse_bool(&|name: &str| (name == "TRACE_CAPTURE_IO").then(|| value.into()), "TRACE_CAPTURE_IO")
        };
        for value in ["true", "1", "yes", "on", "false", "0", "no", "off", "maybe"] {
            assert_eq!(debug(Some(value)).ok(), switch(value).ok().map(|v| v == Some(true)), "{value}");
        }
    }
}
