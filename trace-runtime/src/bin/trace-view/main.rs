//! `trace-view`: look at the traces of a local JSON store or a SQLite trace database.
//!
//! `cargo run -p trace-runtime --bin trace-view -- --help`

mod format;
mod html;
mod logs;
mod serve;
mod tree;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use trace_runtime::store::{LocalStore, ModelTotals, SqliteStore, StoreError, StoredSpan, parse_time};

const HELP: &str = "\
trace-view: look at locally stored traces

USAGE:
    trace-view [--dir DIR | --db FILE] <COMMAND> [OPTIONS]

SOURCES:
    --dir DIR    a directory of trace_*.json files (TRACE_EXPORTER=file)
    --db FILE    a SQLite trace database (TRACE_EXPORTER=sqlite)
    default: the directory $TRACE_LOCAL_DIR (else ./traces); if it holds no trace file, the
    database $TRACE_SQLITE_PATH (else ./traces/traces.db) when it exists

COMMANDS:
    list [--limit N]                  traces, newest first (default limit 50)
    show <ID>                         one trace as a tree: durations, status, tokens, cost
    models [--since T] [--until T]    tokens and cost per model of the spans started in [since, until)
    cleanup --older-than-days N       delete traces older than N days
    html <ID> [-o FILE]               write a self-contained HTML waterfall (default trace_<ID>.html)
    serve [--addr HOST:PORT]          a local web viewer of the store (default 127.0.0.1:7007,
                                      loopback only): every trace, searchable, new ones appearing
                                      as they are written; a waterfall per trace
    logs [--trace ID] [--run RUN] [--level L] [--limit N]
                                      log records, oldest first: the N most recent (default 100),
                                      of one trace, of one run, at level L or above (debug, info,
                                      warning, error, exception)
    help                              this text

ID is the full 32-character trace id or its first 8 characters. Times T are UTC:
2024-12-01, 2024-12-01T14:30:00 or 2024-12-01T14:30:00Z.

EXIT STATUS: 0 done, 1 failed (missing store, unknown id, I/O), 2 wrong usage.
";

/// A command line that cannot be run: a usage mistake (exit 2) or a failure (exit 1).
enum Failure {
    Usage(String),
    Failed(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Failed(e.to_string())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("trace-view: {message}\nRun `trace-view --help` for usage.");
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("trace-view: error: {message}");
            ExitCode::from(1)
        }
    }
}

enum Source {
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

fn run(args: &[String]) -> Result<(), Failure> {
    let mut dir: Option<PathBuf> = None;
    let mut db: Option<PathBuf> = None;
    let mut rest: Vec<&str> = Vec::new();
    let mut it = args.iter().map(String::as_str);
    while let Some(arg) = it.next() {
        match arg {
            "-h" | "--help" | "help" if rest.is_empty() => {
                print!("{HELP}");
                return Ok(());
            }
            "--dir" => dir = Some(PathBuf::from(value(&mut it, "--dir")?)),
            "--db" => db = Some(PathBuf::from(value(&mut it, "--db")?)),
            _ if arg.starts_with("--dir=") => dir = Some(PathBuf::from(&arg[6..])),
            _ if arg.starts_with("--db=") => db = Some(PathBuf::from(&arg[5..])),
            _ => rest.push(arg),
        }
    }
    let Some((&command, options)) = rest.split_first() else {
        return Err(Failure::Usage(
            "no command given: expected list, show, models, cleanup, html, serve or logs".into(),
        ));
    };
    if options.iter().any(|o| *o == "-h" || *o == "--help") {
        print!("{HELP}");
        return Ok(());
    }
    let source = match (dir, db) {
        (Some(_), Some(_)) => return Err(Failure::Usage("give either --dir or --db, not both".into())),
        (_, Some(db)) => Source::Db(SqliteStore::open_existing(&db)?),
        (Some(dir), None) => Source::Dir(LocalStore::new(dir)),
        (None, None) => default_source()?,
    };
    let mut opts = Options::parse(command, options)?;
    match command {
        "list" => {
            let limit = opts.number("--limit")?.unwrap_or(50);
            opts.done()?;
            list(&source, limit)
        }
        "show" => {
            let id = opts.positional("ID")?;
            opts.done()?;
            let (trace_id, spans) = load(&source, &id)?;
            print!("{}", tree::render(&trace_id, &spans));
            Ok(())
        }
        "models" => {
            let since = opts.time("--since")?;
            let until = opts.time("--until")?;
            opts.done()?;
            models(&source, since, until)
        }
        "cleanup" => {
            let Some(days) = opts.number("--older-than-days")? else {
                return Err(Failure::Usage("cleanup needs --older-than-days N".into()));
            };
            opts.done()?;
            cleanup(&source, days)
        }
        "html" => {
            let id = opts.positional("ID")?;
            let out = opts.text("-o")?.or(opts.text("--output")?);
            opts.done()?;
            let (trace_id, spans) = load(&source, &id)?;
            let out =
                out.map_or_else(|| PathBuf::from(format!("trace_{}.html", &trace_id[..8])), PathBuf::from);
            std::fs::write(&out, html::render(&trace_id, &spans))
                .map_err(|e| Failure::Failed(format!("cannot write `{}`: {e}", out.display())))?;
            println!("wrote {} ({} spans)", out.display(), spans.len());
            Ok(())
        }
        "serve" => {
            let addr = serve::addr(opts.text("--addr")?)?;
            opts.done()?;
            serve::serve(source, addr)
        }
        "logs" => {
            let query = logs::Query {
                trace: opts.text("--trace")?,
                run: opts.text("--run")?,
                level: opts.level("--level")?,
                limit: opts.number("--limit")?.unwrap_or(logs::DEFAULT_LIMIT),
            };
            opts.done()?;
            logs::logs(&source, query)
        }
        other => Err(Failure::Usage(format!(
            "unknown command `{other}`: expected list, show, models, cleanup, html, serve or logs"
        ))),
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

fn value<'a>(it: &mut impl Iterator<Item = &'a str>, flag: &str) -> Result<&'a str, Failure> {
    it.next().ok_or_else(|| Failure::Usage(format!("`{flag}` needs a value")))
}

/// A command's options: `--flag value` pairs and positionals, each taken once.
struct Options<'a> {
    command: &'a str,
    flags: Vec<(&'a str, &'a str)>,
    positionals: Vec<&'a str>,
}

impl<'a> Options<'a> {
    fn parse(command: &'a str, args: &[&'a str]) -> Result<Self, Failure> {
        let mut options = Options { command, flags: Vec::new(), positionals: Vec::new() };
        let mut it = args.iter().copied();
        while let Some(arg) = it.next() {
            if let Some((flag, v)) = arg.split_once('=').filter(|_| arg.starts_with("--")) {
                options.flags.push((flag, v));
            } else if arg.starts_with('-') && arg.len() > 1 {
                options.flags.push((arg, value(&mut it, arg)?));
            } else {
                options.positionals.push(arg);
            }
        }
        Ok(options)
    }

    fn text(&mut self, flag: &str) -> Result<Option<String>, Failure> {
        Ok(self.flags.iter().position(|(f, _)| *f == flag).map(|i| self.flags.remove(i).1.to_string()))
    }

    fn number(&mut self, flag: &str) -> Result<Option<u64>, Failure> {
        match self.text(flag)? {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| Failure::Usage(format!("`{flag} {v}`: expected a whole number of at least 0"))),
        }
    }

    fn time(&mut self, flag: &str) -> Result<Option<SystemTime>, Failure> {
        match self.text(flag)? {
            None => Ok(None),
            Some(v) => parse_time(&v).map(Some).ok_or_else(|| {
                Failure::Usage(format!(
                    "`{flag} {v}`: expected a UTC time such as 2024-12-01 or 2024-12-01T14:30:00"
                ))
            }),
        }
    }

    fn level(&mut self, flag: &str) -> Result<Option<trace_runtime::log::Level>, Failure> {
        match self.text(flag)? {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                Failure::Usage(format!("`{flag} {v}`: expected debug, info, warning, error or exception"))
            }),
        }
    }

    fn positional(&mut self, what: &str) -> Result<String, Failure> {
        if self.positionals.is_empty() {
            return Err(Failure::Usage(format!("`{}` needs the trace {what}", self.command)));
        }
        Ok(self.positionals.remove(0).to_string())
    }

    fn done(self) -> Result<(), Failure> {
        if let Some((flag, _)) = self.flags.first() {
            return Err(Failure::Usage(format!("`{}` does not take `{flag}`", self.command)));
        }
        if let Some(extra) = self.positionals.first() {
            return Err(Failure::Usage(format!("`{}`: unexpected argument `{extra}`", self.command)));
        }
        Ok(())
    }
}

fn warn(warnings: &[String]) {
    for warning in warnings {
        eprintln!("trace-view: warning: {}", format::printable(warning));
    }
}

fn list(source: &Source, limit: u64) -> Result<(), Failure> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
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
        println!("no traces in {}", location(source));
        return Ok(());
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
            r.name,
        ]);
    }
    print!("{}", table.render(&[false, false, true, true, true, true, true, false]));
    Ok(())
}

fn location(source: &Source) -> String {
    match source {
        Source::Dir(store) => store.dir().display().to_string(),
        Source::Db(db) => db.path().display().to_string(),
    }
}

fn load(source: &Source, id: &str) -> Result<(String, Vec<StoredSpan>), Failure> {
    match source {
        Source::Dir(store) => {
            let trace = store.get(id)?;
            Ok((trace.file.trace_id, trace.file.data.trace_spans))
        }
        Source::Db(db) => {
            let trace_id = db.resolve_trace_id(id)?;
            let spans = db.trace_spans(&trace_id)?;
            Ok((trace_id, spans))
        }
    }
}

fn models(source: &Source, since: Option<SystemTime>, until: Option<SystemTime>) -> Result<(), Failure> {
    let totals = match source {
        Source::Dir(store) => {
            let (totals, warnings) = store.model_totals(since, until)?;
            warn(&warnings);
            totals
        }
        Source::Db(db) => db.model_totals(since, until)?,
    };
    if totals.is_empty() {
        println!("no LLM spans in {} for that time range", location(source));
        return Ok(());
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
    print!("{}", table.render(&[false, false, true, true, true, true, true, true]));
    if sum.unpriced_calls > 0 {
        println!(
            "{} call(s) without a price (no gen_ai.usage.cost): not counted in COST",
            sum.unpriced_calls
        );
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

fn cleanup(source: &Source, days: u64) -> Result<(), Failure> {
    match source {
        Source::Dir(store) => {
            let done = store.cleanup(days)?;
            warn(&done.warnings);
            println!(
                "removed {} file(s) older than {days} day(s) from {}",
                done.removed.len(),
                store.dir().display()
            );
        }
        Source::Db(db) => {
            let (spans, logs) = db.cleanup(days)?;
            println!(
                "deleted {spans} span(s) and {logs} log record(s) older than {days} day(s) from {}",
                db.path().display()
            );
        }
    }
    Ok(())
}
