//! Wall-clock times as the stores write them: RFC 3339 in UTC with microseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `t` as RFC 3339 in UTC with microseconds, `2024-12-01T14:30:22.123456Z`. Times outside
/// 1970-9999 are clamped to the nearest end instead of failing.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use trace_runtime::store::format_rfc3339;
///
/// let t = UNIX_EPOCH + Duration::from_micros(1_733_063_422_123_456);
/// assert_eq!(format_rfc3339(t), "2024-12-01T14:30:22.123456Z");
/// ```
pub fn format_rfc3339(t: SystemTime) -> String {
    crate::record::clock::rfc3339(t)
}

/// Parses a time given on a command line or read from a file: `2024-12-01`,
/// `2024-12-01T14:30:22`, `2024-12-01 14:30:22.5`, with or without a trailing `Z` (always UTC).
///
/// ```
/// use trace_runtime::store::{format_rfc3339, parse_time};
///
/// let t = parse_time("2024-12-01").unwrap();
/// assert_eq!(format_rfc3339(t), "2024-12-01T00:00:00.000000Z");
/// assert!(parse_time("yesterday").is_none());
/// ```
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if text.len() == 10 {
        return humantime::parse_rfc3339_weak(&format!("{text}T00:00:00Z")).ok();
    }
    humantime::parse_rfc3339_weak(text).ok()
}

/// Without the zone suffix, as the `timestamp` of the reference file format.
#[cfg_attr(not(feature = "file-store"), allow(dead_code))]
pub(crate) fn naive(t: SystemTime) -> String {
    let mut s = format_rfc3339(t);
    s.pop();
    s
}

/// `YYYYMMDD_HHMMSS`, for file names.
#[cfg_attr(not(feature = "file-store"), allow(dead_code))]
pub(crate) fn file_stamp(t: SystemTime) -> String {
    let s = format_rfc3339(t);
    let digits: String = s.chars().take(19).filter(char::is_ascii_digit).collect();
    format!("{}_{}", &digits[..8], &digits[8..14])
}

#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn unix_nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn from_unix_nanos(nanos: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// Serde glue: a `SystemTime` as an RFC 3339 string.
pub(crate) mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_rfc3339(*t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        super::parse_time(&text).ok_or_else(|| D::Error::custom(format!("`{text}` is not an RFC 3339 time")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_and_clamping() {
        let t = UNIX_EPOCH + Duration::from_micros(1_733_063_422_123_456);
        assert_eq!(naive(t), "2024-12-01T14:30:22.123456");
        assert_eq!(file_stamp(t), "20241201_143022");
        assert_eq!(format_rfc3339(UNIX_EPOCH - Duration::from_secs(5)), "1970-01-01T00:00:00.000000Z");
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(format_rfc3339(far), "9999-12-31T23:59:59.000000Z");
        assert_eq!(from_unix_nanos(unix_nanos(t)), t);
        assert_eq!(parse_time("2024-12-01T14:30:22.123456Z"), Some(t));
        assert_eq!(parse_time("2024-12-01 14:30:22.123456"), Some(t));
    }
}
