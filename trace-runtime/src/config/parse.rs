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
