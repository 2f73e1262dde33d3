//! `SqliteExporter`: an `opentelemetry_sdk` `SpanExporter` writing into a [`SqliteStore`].

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use super::SqliteStore;
use crate::export::store::StoreError;
use crate::export::store::span::StoredSpan;

/// Writes every exported span into a SQLite database (`TRACE_EXPORTER=sqlite`,
/// `TRACE_SQLITE_PATH`, default `./traces/traces.db`), one transaction per batch; `log` events
/// also go to the `logs` table. See [`SqliteStore`] for the tables and queries.
///
/// ```
/// use trace_runtime::opentelemetry_sdk::trace::SpanExporter;
/// use trace_runtime::store::{SqliteExporter, SqliteStore};
/// use trace_runtime::{testing, trace};
///
/// let path = std::env::temp_dir().join(format!("sqlite-exporter-doc-{}.db", std::process::id()));
/// let exporter = SqliteExporter::open(&path).unwrap();
/// let (_, spans) = testing::capture(|| trace!("job", {}));
/// futures::executor::block_on(exporter.export(spans)).unwrap();
/// assert_eq!(SqliteStore::open(&path).unwrap().traces(10).unwrap()[0].name, "job");
/// # drop(exporter); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
/// ```
pub struct SqliteExporter {
    /// `None` once shut down: the connection is closed, so SQLite folds the WAL into the database
    /// and removes its `-wal` and `-shm` files.
    store: Mutex<Option<SqliteStore>>,
    path: PathBuf,
    service: Mutex<Option<String>>,
}

impl SqliteExporter {
    /// Opens (creating and migrating if needed) the database at `path`.
    ///
    /// ```
    /// use trace_runtime::store::SqliteExporter;
    ///
    /// let path = std::env::temp_dir().join(format!("exporter-open-doc-{}.db", std::process::id()));
    /// let exporter = SqliteExporter::open(&path).unwrap();
    /// assert_eq!(exporter.path(), path);
    /// assert!(SqliteExporter::open("/proc/no-such-dir/traces.db").is_err());
    /// # drop(exporter); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let store = SqliteStore::open(path)?;
        let path = store.path.clone();
        Ok(SqliteExporter { store: Mutex::new(Some(store)), path, service: Mutex::new(None) })
    }

    /// The database file, for opening another [`SqliteStore`] on it (WAL lets readers and
    /// writers share it), e.g. to [`insert_logs`](SqliteStore::insert_logs).
    ///
    /// ```
    /// use trace_runtime::store::{LogRow, SqliteExporter, SqliteStore};
    ///
    /// let path = std::env::temp_dir().join(format!("exporter-path-doc-{}.db", std::process::id()));
    /// let exporter = SqliteExporter::open(&path).unwrap();
    /// let logs = SqliteStore::open(exporter.path()).unwrap();
    /// logs.insert_logs(&[LogRow::new("info", "side channel")]).unwrap();
    /// # drop((exporter, logs)); for ext in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{ext}", path.display())); }
    /// ```
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    fn store(&self) -> MutexGuard<'_, Option<SqliteStore>> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for SqliteExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteExporter").finish_non_exhaustive()
    }
}

impl SpanExporter for SqliteExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans: Vec<StoredSpan> = batch.iter().map(StoredSpan::from_span_data).collect();
        let service = self.service.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match self.store().as_ref() {
            Some(store) => store
                .insert_spans_of(&spans, service.as_deref())
                .map_err(|e| OTelSdkError::InternalFailure(e.to_string())),
            None => Err(OTelSdkError::AlreadyShutdown),
        }
    }

    /// Closes the database: SQLite checkpoints the WAL into it and removes the `-wal` and `-shm`
    /// files, so a finished program leaves one file behind.
    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        drop(self.store().take());
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        let name = resource
            .get(&opentelemetry::Key::from_static_str("service.name"))
            .map(|v| v.as_str().into_owned());
        *self.service.lock().unwrap_or_else(PoisonError::into_inner) = name;
    }
}
