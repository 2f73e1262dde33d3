//! The log sinks `init` installs: the run directory of `TRACE_LOG_DIR`, and the remote sinks named
//! in `TRACE_EXPORTER` (span exporters and log sinks at once).
//!
//! Everything is built and checked before `init` starts anything, so a bad setting is an error
//! with nothing half-started.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use crate::config::Settings;
use crate::log::RunDirSink;
use crate::log::SetupError;
use crate::log::{self, LogSink, LogSinkId};
use crate::pipeline::exporter::DynExporter;

/// Sinks built, not yet installed.
pub(crate) struct Planned {
    log_sinks: Vec<Arc<dyn LogSink>>,
    #[cfg(feature = "sinks")]
    remote: Vec<crate::export::sinks::HttpSink>,
}

/// Log sinks installed by `init`, removed (after a flush) when its guard stops.
#[derive(Debug, Default)]
pub(crate) struct Installed {
    ids: Vec<LogSinkId>,
}

pub(crate) fn from_settings(settings: &Settings) -> Result<Planned, SetupError> {
    let mut log_sinks: Vec<Arc<dyn LogSink>> = Vec::new();
    if let Some(dir) = &settings.log_dir {
        log_sinks.push(Arc::new(RunDirSink::new(dir)?));
    }
    #[cfg(feature = "sinks")]
    {
        use crate::config::Exporter;
        use crate::export::sinks::{
            CloudWatchConfig, DatadogConfig, ElasticsearchConfig, LokiConfig, RestConfig,
        };
        let mut remote = Vec::new();
        for exporter in &settings.exporters {
            let service = settings.service_name.clone();
            let sink = match exporter {
                Exporter::Rest => RestConfig::from_env()?.service(service).build()?,
                Exporter::Datadog => DatadogConfig::from_env()?.service(service).build()?,
                Exporter::Loki => LokiConfig::from_env()?.service(service).build()?,
                Exporter::CloudWatch => CloudWatchConfig::from_env()?.service(service).build()?,
                Exporter::Elasticsearch => ElasticsearchConfig::from_env()?.service(service).build()?,
                // Not a remote sink: built by `init` itself.
                _ => continue,
            };
            remote.push(sink);
        }
        Ok(Planned { log_sinks, remote })
    }
    #[cfg(not(feature = "sinks"))]
    Ok(Planned { log_sinks })
}

impl Planned {
    /// The remote sinks as exporters for the pipeline.
    pub(crate) fn exporters(&self) -> Vec<Box<dyn DynExporter>> {
        #[cfg(feature = "sinks")]
        {
            self.remote.iter().map(|s| crate::pipeline::exporter::Sdk::boxed(s.name(), s.clone())).collect()
        }
        #[cfg(not(feature = "sinks"))]
        Vec::new()
    }

    /// Installs every log sink.
    pub(crate) fn install(self) -> Installed {
        #[allow(unused_mut)]
        let mut sinks = self.log_sinks;
        #[cfg(feature = "sinks")]
        sinks.extend(self.remote.into_iter().map(|s| Arc::new(s) as Arc<dyn LogSink>));
        Installed { ids: sinks.into_iter().map(log::add_sink).collect() }
    }
}

impl Installed {
    /// Starts flushing every installed sink, the user's too, by `deadline`; the receiver
    /// answers when done. `None`: no sink, nothing to wait for.
    pub(crate) fn start_flush(&self, deadline: Instant) -> Option<Receiver<()>> {
        log::has_sinks().then(|| log::request_flush(deadline)).flatten()
    }

    /// Removes the sinks `init` installed, handing them nothing more (flush them first).
    pub(crate) fn remove(&mut self) {
        for id in self.ids.drain(..) {
            log::detach(id);
        }
    }
}
