//! Building the storage exporters named in `TRACE_EXPORTER`: a failure is a warning naming the
//! path, and the other exporters run without it.

use crate::config::{Exporter, Settings};
use crate::pipeline::exporter::DynExporter;

/// The `file` or `sqlite` exporter, or why it cannot run.
pub(crate) fn exporter(kind: Exporter, settings: &Settings) -> Result<Box<dyn DynExporter>, String> {
    match kind {
        #[cfg(feature = "file-store")]
        Exporter::File => crate::export::store::FileExporter::new(&settings.local_dir)
            .map(|e| crate::pipeline::exporter::Sdk::boxed("file", e))
            .map_err(|e| format!("the `file` exporter is off: {e}")),
        #[cfg(feature = "sqlite")]
        Exporter::Sqlite => crate::export::store::SqliteExporter::open(&settings.sqlite_path)
            .map(|e| crate::pipeline::exporter::Sdk::boxed("sqlite", e))
            .map_err(|e| format!("the `sqlite` exporter is off: {e}")),
        other => {
            let _ = settings;
            Err(format!(
                "the `{}` exporter is off: trace-runtime was built without its cargo feature (`file-store` / `sqlite`)",
                if other == Exporter::File { "file" } else { "sqlite" }
            ))
        }
    }
}
