//! `trace-view`: look at the traces of a local JSON store or a SQLite trace database, in the
//! terminal or in the browser (`serve`).
//!
//! `cargo run -p trace-runtime --bin trace-view -- --help`

mod api;
mod chrome;
mod format;
mod html;
mod logs;
mod out;
mod serve;
mod tree;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand, ValueEnum};
use trace_runtime::store::{LocalStore, ModelTotals, SqliteStore, StoreError, parse_time};

const AFTER_HELP: &str = "\
Sources: --dir DIR is a directory of trace_*.json files (TRACE_EXPORTER=file); --db FILE a SQLite
trace database (TRACE_EXPORTER=sqlite). Default: the directory $TRACE_LOCAL_DIR (else ./traces);
if it holds no trace file, the database $TRACE_SQLITE_PATH (else ./traces/traces.db) when it
exists.

ID is a trace id or any unique prefix of it (4 characters or more). Times are UTC: 2024-12-01,
2024-12-01T14:30:00 or 2024-12-01T14:30:00Z.

Exit status: 0 done (also when the reader of the output went away: `| head`), 1 failed (missing
store, unknown id, corrupt file, I/O), 2 wrong usage.";

/// Look at locally stored traces.
#[derive(Parser)]
#[command(name = "trace-view", version, after_help = AFTER_HELP, arg_required_else_help = true)]
struct Cli {
    /// A directory of trace_*.json files (TRACE_EXPORTER=file).
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "db")]
    dir: Option<PathBuf>,
    /// A SQLite trace database (TRACE_EXPORTER=sqlite).
    #[arg(long, global = true, value_name = "FILE")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Traces, newest first.
    List {
        /// The most to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// As JSON, the shape of `serve`'s /api/traces.
        #[arg(long)]
        json: bool,
    },
    /// One trace as a tree: durations, status, attributes, tokens, cost.
    Show {
        /// The trace id, or a unique prefix of 4+ characters.
        id: String,
        /// As JSON: the trace id and every stored span.
        #[arg(long)]
        json: bool,
    },
    /// Tokens and cost per model of the spans started in [since, until).
    Models {
        #[arg(long, value_parser = time, value_name = "T")]
        since: Option<SystemTime>,
        #[arg(long, value_parser = time, value_name = "T")]
        until: Option<SystemTime>,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete traces older than N days.
    Cleanup {
        #[arg(long, value_name = "N")]
        older_than_days: u64,
        /// Say what would be deleted, and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write one trace as the web viewer's page, self-contained: it opens from disk (default
    /// trace_ID.html, with the id's first 8 characters).
    Html {
        id: String,
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Write a trace for other tools: Chrome trace-event JSON, which ui.perfetto.dev and
    /// chrome://tracing open (default trace_ID.json).
    Export {
        id: String,
        #[arg(long, value_enum, default_value_t = Format::Chrome)]
        format: Format,
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Two traces side by side: spans, errors, duration, and per model calls, tokens and cost.
    Diff {
        a: String,
        b: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// A local web viewer of the store: every trace, searchable, new ones appearing as they are
    /// written, and a waterfall per trace.
    Serve {
        /// Where to listen; loopback only unless told otherwise. Port 0 takes a free one.
        #[arg(long, value_name = "HOST:PORT", default_value = serve::DEFAULT_ADDR)]
        addr: String,
    },
    /// Log records, oldest first: the N most recent, of one trace, of one run, at a level or above.
    Logs {
        #[arg(long, value_name = "ID")]
        trace: Option<String>,
        #[arg(long, value_name = "RUN")]
        run: Option<String>,
        /// debug, info, warning, error or exception.
        #[arg(long, value_parser = level, value_name = "L")]
        level: Option<trace_runtime::log::Level>,
        #[arg(long, default_value_t = logs::DEFAULT_LIMIT, value_name = "N")]
        limit: u64,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Chrome trace-event JSON.
    Chrome,
}

fn time(text: &str) -> Result<SystemTime, String> {
    parse_time(text)
        .ok_or_else(|| format!("`{text}`: expected a UTC time such as 2024-12-01 or 2024-12-01T14:30:00"))
}

fn level(text: &str) -> Result<trace_runtime::log::Level, String> {
    text.parse().map_err(|_| format!("`{text}`: expected debug, info, warning, error or exception"))
}

/// A command that could not be carried out: a usage mistake (exit 2), a failure (exit 1), or the
/// reader of the output gone (exit 0, nothing said).
pub(crate) enum Failure {
    Usage(String),
    Failed(String),
    Closed,
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Failed(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are answers, not errors; a closed pipe ends them quietly.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) | Err(Failure::Closed) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("trace-view: {message}\nRun `trace-view --help` for usage.");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("trace-view: error: {}", format::printable(&message));
            ExitCode::from(1)
        }
    }
}

pub(crate) enum Source {
    Dir(LocalStore),
    Db(SqliteStore),
}

/// A trace in `list`, from either source.
struct Listed {
    trace_id: String,
    start: SystemTime,
    duration: f64,
    spans: u64,
    errors: u64,
    tokens: u64,
    cost: Option<f64>,
    name: String,
}

fn run(cli: Cli) -> Result<(), Failure> {
    let source = match (cli.dir, cli.db) {
        (_, Some(db)) => Source::Db(SqliteStore::open_existing(&db)?),
        (Some(dir), None) => Source::Dir(LocalStore::new(dir)),
        (None, None) => default_source()?,
    };
    match cli.command {
        Command::List { limit, json: true } => out::json(&api::traces(&source, limit)?),
        Command::List { limit, json: false } => list(&source, limit),
        Command::Show { id, json: true } => out::json(&api::trace(&source, &id)?),
        Command::Show { id, json: false } => {
            let (trace_id, spans) = api::load(&source, &id)?;
            out::emit(&tree::render(&trace_id, &spans))
        }
        Command::Models { since, until, json } => models(&source, since, until, json),
        Command::Cleanup { older_than_days, dry_run } => cleanup(&source, older_than_days, dry_run),
        Command::Html { id, output } => {
            let (trace_id, spans) = api::load(&source, &id)?;
            let output = output.unwrap_or_else(|| PathBuf::from(format!("trace_{}.html", &trace_id[..8])));
            out::write_private(&output, html::render(&trace_id, &spans).as_bytes())?;
            out::line(&format!("wrote {} ({} spans)", output.display(), spans.len()))
        }
        Command::Export { id, format: Format::Chrome, output } => {
            let (trace_id, spans) = api::load(&source, &id)?;
            let output = output.unwrap_or_else(|| PathBuf::from(format!("trace_{}.json", &trace_id[..8])));
            let events = chrome::trace_events(&trace_id, &spans);
            out::write_private(&output, events.to_string().as_bytes())?;
            out::line(&format!(
                "wrote {} ({} spans, Chrome trace-event JSON: open it in ui.perfetto.dev or chrome://tracing)",
                output.display(),
                spans.len()
            ))
        }
        Command::Diff { a, b, json } => {
            let (a_id, a_spans) = api::load(&source, &a)?;
            let (b_id, b_spans) = api::load(&source, &b)?;
            let (table, value) = chrome::diff((&a_id, &a_spans), (&b_id, &b_spans));
            if json { out::json(&value) } else { out::emit(&table) }
        }
        Command::Serve { addr } => {
            let addr = addr.parse().map_err(|_| {
                Failure::Usage(format!("`--addr {addr}`: expected HOST:PORT, e.g. {}", serve::DEFAULT_ADDR))
            })?;
            serve::serve(source, addr)
        }
        Command::Logs { trace, run, level, limit, json } => {
            logs::logs(&source, logs::Query { trace, run, level, limit, json })
        }
    }
}

/// The directory of `TRACE_LOCAL_DIR`, or the database of `TRACE_SQLITE_PATH` when only it has
/// traces (a program run with `TRACE_EXPORTER=sqlite` alone).
fn default_source() -> Result<Source, Failure> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = env("TRACE_LOCAL_DIR").unwrap_or_else(|| PathBuf::from("traces"));
    let db = env("TRACE_SQLITE_PATH").unwrap_or_else(|| PathBuf::from("traces").join("traces.db"));
    let has_trace_files = std::fs::read_dir(&dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_str().is_some_and(|n| n.starts_with("trace_") && n.ends_with(".json")))
    });
    if !has_trace_files && db.is_file() {
        return Ok(Source::Db(SqliteStore::open_existing(&db)?));
    }
    Ok(Source::Dir(LocalStore::new(dir)))
}

fn warn(warnings: &[String]) {
    for warning in warnings {
        eprintln!("trace-view: warning: {}", format::printable(warning));
    }
}

fn list(source: &Source, limit: usize) -> Result<(), Failure> {
    let rows: Vec<Listed> = match source {
        Source::Dir(store) => {
            let listing = store.list()?;
            warn(&listing.warnings);
            listing
                .traces
                .into_iter()
                .take(limit)
                .map(|t| Listed {
                    trace_id: t.trace_id,
                    start: t.created_at,
                    duration: t.duration,
                    spans: t.span_count as u64,
                    errors: t.error_count as u64,
                    tokens: t.total_tokens,
                    cost: t.cost,
                    name: t.name,
                })
                .collect()
        }
        Source::Db(db) => db
            .traces(limit)?
            .into_iter()
            .map(|t| Listed {
                trace_id: t.trace_id,
                start: t.start_time,
                duration: t.duration,
                spans: t.span_count,
                errors: t.error_count,
                tokens: t.input_tokens.saturating_add(t.output_tokens),
                cost: t.cost,
                name: t.name,
            })
            .collect(),
    };
    if rows.is_empty() {
        return out::line(&format!("no traces in {}", location(source)));
    }
    let mut table =
        format::Table::new(&["ID", "STARTED (UTC)", "DURATION", "SPANS", "ERRORS", "TOKENS", "COST", "NAME"]);
    for r in rows {
        table.row(vec![
            r.trace_id.chars().take(8).collect(),
            format::when(r.start),
            format::duration(r.duration),
            r.spans.to_string(),
            r.errors.to_string(),
            r.tokens.to_string(),
            format::cost(r.cost),
            format::printable(&r.name),
        ]);
    }
    out::emit(&table.render(&[false, false, true, true, true, true, true, false]))
}

fn location(source: &Source) -> String {
    match source {
        Source::Dir(store) => store.dir().display().to_string(),
        Source::Db(db) => db.path().display().to_string(),
    }
}

fn models(
    source: &Source,
    since: Option<SystemTime>,
    until: Option<SystemTime>,
    json: bool,
) -> Result<(), Failure> {
    let totals = match source {
        Source::Dir(store) => {
            let (totals, warnings) = store.model_totals(since, until)?;
            warn(&warnings);
            totals
        }
        Source::Db(db) => db.model_totals(since, until)?,
    };
    if json {
        let rows: Vec<serde_json::Value> = totals
            .iter()
            .map(|t| {
                serde_json::json!({
                    "provider": t.provider, "model": t.model, "calls": t.calls, "input_tokens": t.input_tokens,
                    "output_tokens": t.output_tokens, "cache_read_tokens": t.cache_read_tokens,
                    "reasoning_tokens": t.reasoning_tokens, "cost": t.cost, "unpriced_calls": t.unpriced_calls,
                })
            })
            .collect();
        return out::json(&serde_json::Value::Array(rows));
    }
    if totals.is_empty() {
        return out::line(&format!("no LLM spans in {} for that time range", location(source)));
    }
    let mut table =
        format::Table::new(&["PROVIDER", "MODEL", "CALLS", "INPUT", "OUTPUT", "CACHED", "REASONING", "COST"]);
    let mut sum = ModelTotals { model: "total".into(), ..Default::default() };
    for t in &totals {
        table.row(model_row(t));
        // Counts read from a file a user may have edited: saturate rather than overflow.
        sum.calls = sum.calls.saturating_add(t.calls);
        sum.input_tokens = sum.input_tokens.saturating_add(t.input_tokens);
        sum.output_tokens = sum.output_tokens.saturating_add(t.output_tokens);
        sum.cache_read_tokens = sum.cache_read_tokens.saturating_add(t.cache_read_tokens);
        sum.reasoning_tokens = sum.reasoning_tokens.saturating_add(t.reasoning_tokens);
        sum.unpriced_calls = sum.unpriced_calls.saturating_add(t.unpriced_calls);
        if let Some(c) = t.cost {
            sum.cost = Some(sum.cost.unwrap_or(0.0) + c);
        }
    }
    if totals.len() > 1 {
        table.row(model_row(&sum));
    }
    out::emit(&table.render(&[false, false, true, true, true, true, true, true]))?;
    if sum.unpriced_calls > 0 {
        out::line(&format!(
            "{} call(s) without a price (no gen_ai.usage.cost): not counted in COST",
            sum.unpriced_calls
        ))?;
    }
    Ok(())
}

fn model_row(t: &ModelTotals) -> Vec<String> {
    vec![
        t.provider.clone().unwrap_or_else(|| "-".into()),
        t.model.clone(),
        t.calls.to_string(),
        t.input_tokens.to_string(),
        t.output_tokens.to_string(),
        t.cache_read_tokens.to_string(),
        t.reasoning_tokens.to_string(),
        format::cost(t.cost),
    ]
}

fn cleanup(source: &Source, days: u64, dry_run: bool) -> Result<(), Failure> {
    match source {
        Source::Dir(store) if dry_run => {
            let old = store.cleanup_candidates(days)?;
            for path in &old {
                out::line(&format!("would remove {}", format::printable(&path.display().to_string())))?;
            }
            out::line(&format!(
                "{} file(s) older than {days} day(s) in {} would be removed (dry run: nothing was)",
                old.len(),
                store.dir().display()
            ))
        }
        Source::Dir(store) => {
            let done = store.cleanup(days)?;
            warn(&done.warnings);
            out::line(&format!(
                "removed {} file(s) older than {days} day(s) from {}",
                done.removed.len(),
                store.dir().display()
            ))
        }
        Source::Db(db) if dry_run => {
            let (spans, logs) = db.cleanup_count(days)?;
            out::line(&format!(
                "{spans} span(s) and {logs} log record(s) older than {days} day(s) in {} would be deleted (dry run: nothing was)",
                db.path().display()
            ))
        }
        Source::Db(db) => {
            let (spans, logs) = db.cleanup(days)?;
            out::line(&format!(
                "deleted {spans} span(s) and {logs} log record(s) older than {days} day(s) from {}",
                db.path().display()
            ))
        }
    }
}
