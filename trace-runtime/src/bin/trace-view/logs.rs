//! `trace-view logs`: the levelled log records, from the SQLite `logs` table or from the `log`
//! events of the JSON trace files.

use trace_runtime::log::Level;
use trace_runtime::store::{LogFilter, LogRow, log_rows_of};

use crate::{Failure, Source, format, location, out, warn};

/// Records shown when `--limit` is not given.
pub(crate) const DEFAULT_LIMIT: u64 = 100;

/// What `logs` was asked for.
pub(crate) struct Query {
    pub(crate) trace: Option<String>,
    pub(crate) run: Option<String>,
    pub(crate) level: Option<Level>,
    pub(crate) limit: u64,
    /// One JSON object per record, in an array.
    pub(crate) json: bool,
}

pub(crate) fn logs(source: &Source, query: Query) -> Result<(), Failure> {
    let mut filter = LogFilter::new().limit(usize::try_from(query.limit).unwrap_or(usize::MAX));
    if let Some(run) = query.run {
        filter = filter.run(run);
    }
    if let Some(level) = query.level {
        filter = filter.min_level(level);
    }
    let rows = match (source, query.trace) {
        // One trace: its file alone, found by id as `show` finds it.
        (Source::Dir(store), Some(id)) => {
            let trace = store.get(&id)?;
            let rows = trace.file.data.trace_spans.iter().flat_map(log_rows_of).collect();
            filter.trace(trace.file.trace_id).apply(rows)
        }
        (Source::Dir(store), None) => {
            let (rows, warnings) = store.logs(&filter)?;
            warn(&warnings);
            rows
        }
        (Source::Db(db), Some(id)) => db.logs(&filter.trace(db.resolve_trace_id(&id)?))?,
        (Source::Db(db), None) => db.logs(&filter)?,
    };
    if query.json {
        let rows: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "time": trace_runtime::store::format_rfc3339(r.time), "level": r.level, "message": r.message,
                    "trace_id": r.trace_id, "span_id": r.span_id, "run_id": r.run_id, "file": r.file, "line": r.line,
                    "error_type": r.error_type, "error_message": r.error_message,
                })
            })
            .collect();
        return out::json(&serde_json::Value::Array(rows));
    }
    if rows.is_empty() {
        return out::line(&format!("no log records in {} for that selection", location(source)));
    }
    let mut table = format::Table::new(&["TIME (UTC)", "LEVEL", "TRACE", "RUN", "SOURCE", "MESSAGE"]);
    for row in &rows {
        table.row(vec![
            format::when_precise(row.time),
            row.level.clone(),
            row.trace_id.as_deref().map_or_else(|| "-".into(), |t| t.chars().take(8).collect()),
            row.run_id.clone().unwrap_or_else(|| "-".into()),
            match (&row.file, row.line) {
                (Some(file), Some(line)) => format!("{file}:{line}"),
                (Some(file), None) => file.clone(),
                _ => "-".into(),
            },
            message(row),
        ]);
    }
    out::emit(&table.render(&[false; 6]))
}

/// The message, and for a failure its error type and (when it says more) the error's text.
fn message(row: &LogRow) -> String {
    match (&row.error_type, &row.error_message) {
        (Some(kind), Some(text)) if *text != row.message => format!("{} ({kind}: {text})", row.message),
        (Some(kind), _) => format!("{} ({kind})", row.message),
        (None, _) => row.message.clone(),
    }
}
