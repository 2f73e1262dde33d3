//! Rows to and from the stored types.

use rusqlite::{Row, params};
use serde_json::{Map, Value as Json};

use super::placeholders;
use super::schema::LOG_COLUMNS;
use crate::export::store::log::LogRow;
use crate::export::store::span::{SpanStatus, SpanUsage, StoredEvent, StoredSpan};
use crate::export::store::time::{from_unix_nanos, unix_nanos};

pub(super) fn insert_log_rows(tx: &rusqlite::Transaction<'_>, rows: &[LogRow]) -> rusqlite::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sql = format!("INSERT INTO logs ({LOG_COLUMNS}) VALUES ({})", placeholders(15));
    let mut insert = tx.prepare_cached(&sql)?;
    for row in rows {
        // Metadata is JSON in the table; text that does not parse is kept as a JSON string.
        let metadata = row.metadata.as_ref().map(|m| match serde_json::from_str::<Json>(m) {
            Ok(_) => m.clone(),
            Err(_) => Json::String(m.clone()).to_string(),
        });
        insert.execute(params![
            row.run_id,
            row.parent_run_id,
            row.level,
            row.message,
            unix_nanos(row.time),
            row.process_id,
            row.thread_name,
            row.thread_id.map(|id| id as i64),
            row.file,
            row.line,
            row.trace_id,
            row.span_id,
            row.error_type,
            row.error_message,
            metadata,
        ])?;
    }
    Ok(())
}

pub(super) fn span_of_row(r: &Row<'_>) -> rusqlite::Result<StoredSpan> {
    let (start, end): (i64, i64) = (r.get(6)?, r.get(7)?);
    let attributes: Map<String, Json> =
        r.get::<_, String>(11).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let events: Vec<StoredEvent> =
        r.get::<_, String>(12).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    let model: Option<String> = r.get(17)?;
    let tokens: [Option<i64>; 5] = [r.get(18)?, r.get(19)?, r.get(20)?, r.get(21)?, r.get(22)?];
    let cost: Option<f64> = r.get(23)?;
    let usage = (model.is_some() || tokens.iter().any(Option::is_some) || cost.is_some()).then(|| {
        let t = |i: usize| tokens[i].unwrap_or(0).max(0) as u64;
        SpanUsage {
            provider: r.get(16).ok().flatten(),
            model,
            input_tokens: t(0),
            output_tokens: t(1),
            cache_read_tokens: t(2),
            cache_write_tokens: t(3),
            reasoning_tokens: t(4),
            total_tokens: t(0).saturating_add(t(1)),
            cost,
        }
    });
    Ok(StoredSpan {
        trace_id: r.get(0)?,
        span_id: r.get(1)?,
        parent_span_id: r.get(2)?,
        parent_is_remote: r.get(3)?,
        name: r.get(4)?,
        kind: r.get(5)?,
        start_time: from_unix_nanos(start),
        end_time: from_unix_nanos(end),
        duration: r.get::<_, f64>(8)? / 1000.0,
        status: SpanStatus::parse(&r.get::<_, String>(9)?),
        status_message: r.get(10)?,
        attributes,
        dropped_attributes_count: r.get(13)?,
        events,
        dropped_events_count: r.get(14)?,
        usage,
    })
}

pub(super) fn log_of_row(r: &Row<'_>) -> rusqlite::Result<LogRow> {
    Ok(LogRow {
        run_id: r.get(0)?,
        parent_run_id: r.get(1)?,
        level: r.get(2)?,
        message: r.get(3)?,
        time: from_unix_nanos(r.get(4)?),
        process_id: r.get(5)?,
        thread_name: r.get(6)?,
        thread_id: r.get::<_, Option<i64>>(7)?.map(|id| id as u64),
        file: r.get(8)?,
        line: r.get(9)?,
        trace_id: r.get(10)?,
        span_id: r.get(11)?,
        error_type: r.get(12)?,
        error_message: r.get(13)?,
        metadata: r.get(14)?,
    })
}
