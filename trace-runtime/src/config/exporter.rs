//! The built-in exporters `TRACE_EXPORTER` names.

use super::ConfigError;

/// A built-in exporter, as named in `TRACE_EXPORTER`.
///
/// ```
/// use trace_runtime::{Config, config::Exporter};
///
/// // Only the exporters added in code: no console output.
/// let config = Config::builder().exporter(Exporter::None).build();
/// # drop(config);
/// assert!(Exporter::NAMES.contains(&"stdout") && Exporter::NAMES.contains(&"none"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exporter {
    /// A readable span tree per trace on standard output.
    Stdout,
    /// Nothing (only exporters added with [`ConfigBuilder::with_span_exporter`](crate::ConfigBuilder::with_span_exporter)).
    None,
    /// JSON files in `TRACE_LOCAL_DIR` ([`crate::store::FileExporter`]; feature `file-store`).
    File,
    /// A SQLite database at `TRACE_SQLITE_PATH` ([`crate::store::SqliteExporter`]; feature `sqlite`).
    Sqlite,
    /// Remote sinks, built from their environment variables (see [`sinks`](crate::sinks)) and
    /// installed both as span exporters and as log sinks.
    #[cfg(feature = "sinks")]
    Rest,
    /// See [`Exporter::Rest`].
    #[cfg(feature = "sinks")]
    Datadog,
    /// See [`Exporter::Rest`].
    #[cfg(feature = "sinks")]
    Loki,
    /// See [`Exporter::Rest`].
    #[cfg(feature = "sinks")]
    CloudWatch,
    /// See [`Exporter::Rest`].
    #[cfg(feature = "sinks")]
    Elasticsearch,
    /// OTLP to a collector or backend (feature `otlp`, on by default): gRPC, HTTP/protobuf or
    /// HTTP/JSON per `OTEL_EXPORTER_OTLP_PROTOCOL`.
    Otlp,
    /// Zipkin v2 JSON (feature `zipkin`, on by default) to `OTEL_EXPORTER_ZIPKIN_ENDPOINT`.
    Zipkin,
    /// Langfuse over OTLP (feature `otlp`), from `LANGFUSE_PUBLIC_KEY` and `LANGFUSE_SECRET_KEY`
    /// or [`ConfigBuilder::langfuse`](crate::ConfigBuilder::langfuse).
    Langfuse,
    /// Phoenix over OTLP (feature `otlp`), from `PHOENIX_COLLECTOR_ENDPOINT` or
    /// [`ConfigBuilder::phoenix`](crate::ConfigBuilder::phoenix), in OpenInference names.
    Phoenix,
    /// LangWatch over OTLP (feature `otlp`), from `LANGWATCH_API_KEY` or
    /// [`ConfigBuilder::langwatch`](crate::ConfigBuilder::langwatch).
    LangWatch,
    /// Logfire over OTLP (feature `otlp`), from `LOGFIRE_TOKEN` or
    /// [`ConfigBuilder::logfire`](crate::ConfigBuilder::logfire).
    Logfire,
}

impl Exporter {
    /// Every name `TRACE_EXPORTER` knows. A name whose cargo feature is off in this build is
    /// refused with an error that says so.
    pub const NAMES: &'static [&'static str] = &[
        "stdout",
        "none",
        "file",
        "sqlite",
        "otlp",
        "zipkin",
        "rest",
        "datadog",
        "loki",
        "cloudwatch",
        "elasticsearch",
        "langfuse",
        "phoenix",
        "langwatch",
        "logfire",
    ];

    pub(super) fn parse(name: &str) -> Result<Self, ConfigError> {
        match name {
            "stdout" | "console" => Ok(Exporter::Stdout),
            "none" => Ok(Exporter::None),
            "otlp" if cfg!(feature = "otlp") => Ok(Exporter::Otlp),
            "zipkin" if cfg!(feature = "zipkin") => Ok(Exporter::Zipkin),
            "langfuse" if cfg!(feature = "otlp") => Ok(Exporter::Langfuse),
            "phoenix" if cfg!(feature = "otlp") => Ok(Exporter::Phoenix),
            "langwatch" if cfg!(feature = "otlp") => Ok(Exporter::LangWatch),
            "logfire" if cfg!(feature = "otlp") => Ok(Exporter::Logfire),
            #[cfg(feature = "file-store")]
            "file" => Ok(Exporter::File),
            #[cfg(feature = "sqlite")]
            "sqlite" => Ok(Exporter::Sqlite),
            #[cfg(feature = "sinks")]
            "rest" => Ok(Exporter::Rest),
            #[cfg(feature = "sinks")]
            "datadog" => Ok(Exporter::Datadog),
            #[cfg(feature = "sinks")]
            "loki" => Ok(Exporter::Loki),
            #[cfg(feature = "sinks")]
            "cloudwatch" => Ok(Exporter::CloudWatch),
            #[cfg(feature = "sinks")]
            "elasticsearch" => Ok(Exporter::Elasticsearch),
            other if Self::NAMES.contains(&other) => {
                Err(ConfigError::UnavailableExporter { name: other.to_string() })
            }
            other => Err(ConfigError::UnknownExporter { name: other.to_string() }),
        }
    }
}
