//! The `log` crate's records as the kit's levelled logs, as `tracing-log` does for `tracing`.
//!
//! A library that logs through `log::info!` then shows up where the kit's own records do: as
//! `log` events on the current span and in the log sinks, with the record's file, line and
//! target. Records of the kit's own threads are left out (its HTTP clients log through `log` too,
//! and would loop back into the exporters that made them), and so are the transport crates'
//! `debug` and `trace` records from anywhere.

use std::borrow::Cow;

use ::log::{LevelFilter, Log, Metadata, Record, SetLoggerError};

use super::Level;
use super::emit::Draft;

/// Crates whose `debug` and `trace` records describe the kit's own exports as well as the
/// application's requests: not bridged below `info`.
const TRANSPORT: &[&str] =
    &["h2", "hyper", "hyper_util", "reqwest", "rustls", "tonic", "tower", "opentelemetry"];

/// A `log::Log` that writes each record as a kit log record.
///
/// ```rust,standalone_crate
/// use trace_runtime::{log::LogBridge, testing, trace};
///
/// LogBridge::init().expect("no other logger installed");
/// let (_, spans) = testing::capture(|| trace!("fetch", { ::log::warn!(target: "cache", "stale entry {}", 7) }));
/// let event = &spans[0].events.events[0];
/// let attr = |key: &str| event.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string());
/// assert_eq!(attr("log.message").as_deref(), Some("stale entry 7"));
/// assert_eq!(attr("log.level").as_deref(), Some("warning"));
/// ```
#[derive(Debug)]
pub struct LogBridge {
    max: LevelFilter,
}

impl LogBridge {
    /// Installs the bridge as the `log` crate's logger for every level (the kit's sinks and
    /// exporters filter what they keep). Fails if a logger is installed already.
    pub fn init() -> Result<(), SetLoggerError> {
        Self::init_with_level(LevelFilter::Trace)
    }

    /// Installs the bridge for records up to `max` (`LevelFilter::Info`: no `debug` or `trace`).
    ///
    /// ```rust,standalone_crate
    /// use trace_runtime::log::LogBridge;
    ///
    /// LogBridge::init_with_level(log::LevelFilter::Info).unwrap();
    /// assert!(!log::log_enabled!(log::Level::Debug));
    /// assert!(LogBridge::init().is_err(), "one logger per process");
    /// ```
    pub fn init_with_level(max: LevelFilter) -> Result<(), SetLoggerError> {
        ::log::set_boxed_logger(Box::new(LogBridge { max }))?;
        ::log::set_max_level(max);
        Ok(())
    }
}

/// The kit's level of a `log` level: `trace` is `debug`, `warn` is `warning`.
fn level(level: ::log::Level) -> Level {
    match level {
        ::log::Level::Error => Level::Error,
        ::log::Level::Warn => Level::Warning,
        ::log::Level::Info => Level::Info,
        ::log::Level::Debug | ::log::Level::Trace => Level::Debug,
    }
}

fn is_transport(target: &str) -> bool {
    let root = target.split("::").next().unwrap_or(target);
    TRANSPORT.contains(&root)
}

impl Log for LogBridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.max
            && !crate::background::is_kit_thread()
            && (metadata.level() <= ::log::Level::Info || !is_transport(metadata.target()))
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let file = match (record.file_static(), record.file()) {
            (Some(file), _) => Cow::Borrowed(file),
            (None, Some(file)) => Cow::Owned(file.to_string()),
            (None, None) => Cow::Owned(record.target().to_string()),
        };
        let mut draft = Draft::at(level(record.level()), record.args().to_string(), file, record.line());
        let metadata = draft.metadata.get_or_insert_with(Default::default);
        metadata.insert("target".into(), record.target().into());
        if record.level() == ::log::Level::Trace {
            metadata.insert("log_level".into(), "trace".into());
        }
        draft.emit();
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_and_transport_debug_is_left_out() {
        assert_eq!(level(::log::Level::Warn), Level::Warning);
        assert_eq!(level(::log::Level::Trace), Level::Debug);
        let bridge = LogBridge { max: LevelFilter::Trace };
        let meta = |level, target| Metadata::builder().level(level).target(target).build();
        assert!(bridge.enabled(&meta(::log::Level::Debug, "my_app::db")));
        assert!(!bridge.enabled(&meta(::log::Level::Debug, "hyper_util::client")));
        assert!(bridge.enabled(&meta(::log::Level::Warn, "reqwest::connect")));
        let kit = std::thread::spawn(move || {
            crate::background::mark_kit_thread();
            LogBridge { max: LevelFilter::Trace }.enabled(&meta(::log::Level::Error, "my_app"))
        });
        assert!(!kit.join().unwrap(), "the kit's own threads are never bridged");
        let info = LogBridge { max: LevelFilter::Info };
        assert!(!info.enabled(&meta(::log::Level::Debug, "my_app")));
    }
}
