//! A log sink writing one directory per run, and the finders that read runs back.
//!
//! ```text
//! {dir}/run_id={id}/stdout.txt      debug, info and warning lines
//! {dir}/run_id={id}/stderr.txt      error and exception lines
//! {dir}/run_id={id}/metadata.jsonl  one JSON object per record, every field of LogRecord
//! ```
//!
//! Directories and files are created readable by their owner only. A line reads
//! `2024-12-01T14:30:22.123456Z (12345, 7) [INFO] message (src/main.rs:42)`.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::queue::{LogSink, LogSinkError};
use super::{Level, LogRecord};

/// Run id of records written outside any [`run`](crate::log::run).
const NO_RUN: &str = "default";

/// A run directory that could not be created, written or read.
///
/// ```
/// let file = std::env::temp_dir().join(format!("not-a-dir-{}", std::process::id()));
/// std::fs::write(&file, "x").unwrap();
/// let err = trace_runtime::log::RunDirSink::new(file.join("logs")).unwrap_err();
/// assert!(err.to_string().contains("not-a-dir"));
/// # std::fs::remove_file(&file).ok();
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunDirError {
    /// Creating or reading a path failed.
    #[error("log run directory `{path}`: {source}; check that it exists and is writable by this user")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// A run found in a run directory by [`RunDirSink::list_runs`].
///
/// ```
/// use trace_runtime::log::{Level, LogRecord, RunDirSink};
///
/// let dir = std::env::temp_dir().join(format!("list-runs-{}", std::process::id()));
/// let sink = RunDirSink::new(&dir).unwrap();
/// let mut record = LogRecord::new(Level::Info, "hello");
/// record.run_id = Some("r-1".into());
/// sink.write_records(&[record]).unwrap();
/// let runs = sink.list_runs().unwrap();
/// assert_eq!((runs[0].run_id.as_str(), runs[0].size > 0), ("r-1", true));
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunSummary {
    /// The run id, as in the directory name.
    pub run_id: String,
    /// The run's directory.
    pub path: PathBuf,
    /// Bytes in its three files.
    pub size: u64,
    /// When a file of it was last written.
    pub modified: Option<SystemTime>,
}

/// The logs of one run, read back by [`RunDirSink::find_run`] (see [`RunDirSink`] for an example).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RunLogs {
    /// The run id.
    pub run_id: String,
    /// `stdout.txt`.
    pub stdout: String,
    /// `stderr.txt`.
    pub stderr: String,
    /// Every record of `metadata.jsonl` that parsed, in file order.
    pub records: Vec<LogRecord>,
    /// One warning per line of `metadata.jsonl` that did not parse and was skipped.
    pub warnings: Vec<String>,
}

/// Writes log records under `{dir}/run_id={id}/` and reads them back.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use trace_runtime::log::{self, RunDirSink};
///
/// let dir = std::env::temp_dir().join(format!("rundir-doc-{}", std::process::id()));
/// let sink = Arc::new(RunDirSink::new(&dir).expect("a writable directory"));
/// let id = log::add_sink(sink.clone());
/// log::run("workflow-123").in_scope(|| {
///     log::info("workflow started");
///     log::error("job failed: connection timeout");
/// });
/// log::flush(Duration::from_secs(5));
/// let run = sink.find_run("workflow-123").unwrap().expect("the run was written");
/// assert!(run.stdout.contains("[INFO] workflow started"));
/// assert!(run.stderr.contains("[ERROR] job failed"));
/// assert_eq!(run.records.len(), 2);
/// log::remove_sink(id);
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
#[derive(Debug)]
pub struct RunDirSink {
    dir: PathBuf,
}

impl RunDirSink {
    /// A sink writing under `dir`, created (owner-only) if missing.
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, RunDirError> {
        let dir = dir.as_ref().to_path_buf();
        create_dir(&dir)?;
        Ok(RunDirSink { dir })
    }

    /// The directory the runs are written under.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of run `run_id` (characters that cannot be in a file name become `_`).
    pub fn run_path(&self, run_id: &str) -> PathBuf {
        self.dir.join(format!("run_id={}", file_safe(run_id)))
    }

    /// Writes `records` into their runs' files.
    pub fn write_records(&self, records: &[LogRecord]) -> Result<(), RunDirError> {
        let mut by_run: BTreeMap<&str, Vec<&LogRecord>> = BTreeMap::new();
        for record in records {
            by_run.entry(record.run_id.as_deref().unwrap_or(NO_RUN)).or_default().push(record);
        }
        for (run_id, records) in by_run {
            let path = self.run_path(run_id);
            create_dir(&path)?;
            let (mut stdout, mut stderr, mut meta) = (String::new(), String::new(), String::new());
            for record in records {
                let line = text_line(record);
                if record.level.is_error() { &mut stderr } else { &mut stdout }.push_str(&line);
                match serde_json::to_string(record) {
                    Ok(json) => {
                        meta.push_str(&json);
                        meta.push('\n');
                    }
                    // A record is plain data: serialising it cannot fail, but never lose the text.
                    Err(_) => continue,
                }
            }
            append(&path.join("stdout.txt"), &stdout)?;
            append(&path.join("stderr.txt"), &stderr)?;
            append(&path.join("metadata.jsonl"), &meta)?;
        }
        Ok(())
    }

    /// Every run in the directory, sorted by run id; entries that are not runs are ignored.
    pub fn list_runs(&self) -> Result<Vec<RunSummary>, RunDirError> {
        let entries = fs::read_dir(&self.dir).map_err(|source| io_err(&self.dir, source))?;
        let mut runs = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(run_id) = name.to_str().and_then(|n| n.strip_prefix("run_id=")) else { continue };
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = entry.path();
            let (mut size, mut modified) = (0, None::<SystemTime>);
            for file in ["stdout.txt", "stderr.txt", "metadata.jsonl"] {
                if let Ok(meta) = fs::metadata(path.join(file)) {
                    size += meta.len();
                    let m = meta.modified().ok();
                    modified = modified.max(m);
                }
            }
            runs.push(RunSummary { run_id: run_id.to_string(), path, size, modified });
        }
        runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        Ok(runs)
    }

    /// The logs of run `run_id`; `Ok(None)` if there is no such run.
    pub fn find_run(&self, run_id: &str) -> Result<Option<RunLogs>, RunDirError> {
        let path = self.run_path(run_id);
        if !path.is_dir() {
            return Ok(None);
        }
        self.read_run(&path, run_id).map(Some)
    }

    /// The logs of every run, sorted by run id.
    pub fn find_runs(&self) -> Result<Vec<RunLogs>, RunDirError> {
        self.list_runs()?.into_iter().map(|run| self.read_run(&run.path, &run.run_id)).collect()
    }

    fn read_run(&self, path: &Path, run_id: &str) -> Result<RunLogs, RunDirError> {
        let read = |name: &str| -> Result<String, RunDirError> {
            let file = path.join(name);
            match fs::read(&file) {
                Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
                Err(source) => Err(io_err(&file, source)),
            }
        };
        let mut logs = RunLogs {
            run_id: run_id.to_string(),
            stdout: read("stdout.txt")?,
            stderr: read("stderr.txt")?,
            ..Default::default()
        };
        let meta_path = path.join("metadata.jsonl");
        for (n, line) in read("metadata.jsonl")?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<LogRecord>(line) {
                Ok(record) => logs.records.push(record),
                Err(e) => logs.warnings.push(format!(
                    "{}:{}: skipped a line that is not a log record ({e})",
                    meta_path.display(),
                    n + 1
                )),
            }
        }
        Ok(logs)
    }
}

impl LogSink for RunDirSink {
    fn name(&self) -> &str {
        "run-dir"
    }

    fn write(&self, records: &[LogRecord]) -> Result<(), LogSinkError> {
        self.write_records(records)
            .map_err(|e| LogSinkError { sink: "run-dir".into(), reason: e.to_string() })
    }
}

fn text_line(record: &LogRecord) -> String {
    let level = match record.level {
        Level::Debug => "DEBUG",
        Level::Info => "INFO",
        Level::Warning => "WARNING",
        Level::Error => "ERROR",
        Level::Exception => "EXCEPTION",
    };
    // One record, one line: embedded newlines would split it for line-based readers.
    let message = record.message.replace('\n', "\\n");
    let mut line =
        format!("{} ({:5}, {:5}) [{level}] {message}", record.datetime, record.pid, record.thread_id);
    if let (Some(file), Some(n)) = (&record.file, record.line) {
        line.push_str(&format!(" ({file}:{n})"));
    }
    line.push('\n');
    line
}

fn file_safe(run_id: &str) -> String {
    let safe: String = run_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=') { c } else { '_' })
        .collect();
    match safe.as_str() {
        "" | "." | ".." => "_".repeat(safe.len().max(1)),
        _ => safe,
    }
}

fn io_err(path: &Path, source: io::Error) -> RunDirError {
    RunDirError::Io { path: path.to_path_buf(), source }
}

fn create_dir(path: &Path) -> Result<(), RunDirError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|source| io_err(path, source))
}

fn append(path: &Path, text: &str) -> Result<(), RunDirError> {
    if text.is_empty() {
        return Ok(());
    }
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|source| io_err(path, source))?;
    file.write_all(text.as_bytes()).map_err(|source| io_err(path, source))
}

#[cfg(test)]
mod tests {
    use super::file_safe;

    #[test]
    fn run_ids_cannot_escape_the_directory() {
        assert_eq!(file_safe("../etc"), ".._etc");
        assert_eq!(file_safe(".."), "__");
        assert_eq!(file_safe("a/b c"), "a_b_c");
        assert_eq!(file_safe("wf-123"), "wf-123");
    }
}
