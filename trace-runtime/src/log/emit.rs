//! Writing one record: onto the current span as a `log` event, and to the sinks' queue.
//!
//! The caller pays only for what is needed where the record goes: static strings (level, file)
//! and shared ones (run ids, thread name) go into the span event without a copy, and the
//! [`LogRecord`] for the sinks is built only when a sink is installed; its `datetime` text is
//! written on the drain thread.

use std::borrow::Cow;
use std::cell::Cell;
use std::error::Error;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use opentelemetry::{KeyValue, Value};

use super::record::{EVENT_NAME, attr, unix_nanos};
use super::{BUFFER, BUFFER_DEPTH, CURRENT_RUN, Level, LogRecord, MAX_BUFFERED, Run, queue};
use crate::record::EventRecord;
use crate::span::thread_state;

/// A record being written.
#[derive(Debug)]
pub(super) struct Draft {
    level: Level,
    message: String,
    time: SystemTime,
    file: Cow<'static, str>,
    line: Option<u32>,
    error_type: Option<&'static str>,
    exception_message: Option<String>,
    exception_stacktrace: Option<String>,
    pub(super) metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Draft {
    pub(super) fn new(level: Level, message: String, location: &'static Location<'static>) -> Draft {
        Draft::at(level, message, Cow::Borrowed(location.file()), Some(location.line()))
    }

    /// A record whose location another logger reported (the `log` crate's `file!()` and line).
    pub(super) fn at(level: Level, message: String, file: Cow<'static, str>, line: Option<u32>) -> Draft {
        Draft {
            level,
            message,
            time: SystemTime::now(),
            file,
            line,
            error_type: None,
            exception_message: None,
            exception_stacktrace: None,
            metadata: None,
        }
    }

    pub(super) fn set_error<E: Error + ?Sized>(&mut self, error: &E) {
        self.error_type = Some(std::any::type_name::<E>());
        self.exception_message = Some(crate::record::value::clip(&error.to_string()).into_owned());
        self.exception_stacktrace = crate::record::value::cause_chain(error.source());
    }

    /// Writes the record: onto the current span, and to the log sinks.
    pub(super) fn emit(mut self) {
        if self.message.len() > crate::record::limits::value_bytes() {
            self.message = crate::record::value::clip(&self.message).into_owned();
        }
        let run = CURRENT_RUN.with(|c| c.borrow().clone());
        let thread = thread_info();
        let on_span = thread_state::recording_here() && {
            let attrs = self.span_attributes(run.as_ref(), &thread);
            let event = EventRecord { name: EVENT_NAME.into(), time: crate::record::clock::now(), attrs };
            thread_state::write(thread_state::Write::Event(event))
        };
        if !queue::has_sinks() {
            if !on_span {
                queue::count_no_sink(1);
            }
            return;
        }
        let record = self.into_record(run, thread);
        if BUFFER_DEPTH.with(Cell::get) > 0 {
            let full = BUFFER.with(|b| {
                let mut b = b.borrow_mut();
                b.push(record);
                b.len() >= MAX_BUFFERED
            });
            if full {
                super::flush_thread_buffer();
            }
        } else {
            queue::push(vec![record], on_span);
        }
    }

    /// The `log` event's attributes, in the order of [`LogRecord::event_attributes`].
    fn span_attributes(&self, run: Option<&Run>, thread: &ThreadInfo) -> Vec<KeyValue> {
        let mut attrs = Vec::with_capacity(12);
        attrs.push(KeyValue::new(attr::LEVEL, self.level.as_str()));
        attrs.push(KeyValue::new(attr::MESSAGE, self.message.clone()));
        if let Some(run) = run {
            attrs.push(KeyValue::new(attr::RUN_ID, Value::from(run.run_id.clone())));
            if let Some(parent) = &run.parent_run_id {
                attrs.push(KeyValue::new(attr::PARENT_RUN_ID, Value::from(parent.clone())));
            }
        }
        attrs.push(KeyValue::new(attr::FILE, self.file.clone()));
        if let Some(line) = self.line {
            attrs.push(KeyValue::new(attr::LINE, i64::from(line)));
        }
        if let Some(name) = &thread.name {
            attrs.push(KeyValue::new(attr::THREAD_NAME, Value::from(name.clone())));
        }
        attrs.push(KeyValue::new(attr::THREAD_ID, thread.number as i64));
        attrs.push(KeyValue::new(attr::PID, i64::from(thread.pid)));
        if let Some(t) = self.error_type {
            attrs.push(KeyValue::new(attr::ERROR_TYPE, t));
        }
        if let Some(m) = &self.exception_message {
            attrs.push(KeyValue::new(attr::EXCEPTION_MESSAGE, m.clone()));
        }
        if let Some(s) = &self.exception_stacktrace {
            attrs.push(KeyValue::new(attr::EXCEPTION_STACKTRACE, s.clone()));
        }
        if let Some(meta) = &self.metadata {
            let json = serde_json::Value::Object(meta.clone()).to_string();
            attrs.push(KeyValue::new(attr::METADATA, crate::record::value::clip(&json).into_owned()));
        }
        attrs
    }

    fn into_record(self, run: Option<Run>, thread: ThreadInfo) -> LogRecord {
        let context = crate::span::context::current_context();
        LogRecord {
            level: self.level,
            message: self.message,
            time_unix_nano: unix_nanos(self.time),
            // Written on the drain thread: formatting a date is the costliest part of a record.
            datetime: String::new(),
            run_id: run.as_ref().map(|r| r.run_id.to_string()),
            parent_run_id: run.as_ref().and_then(|r| r.parent_run_id.as_deref().map(str::to_string)),
            trace_id: context.trace_id().map(|t| t.to_string()),
            span_id: context.span_id().map(|s| s.to_string()),
            file: Some(self.file.to_string()),
            line: self.line,
            thread_name: thread.name.as_deref().map(str::to_string),
            thread_id: thread.number,
            pid: thread.pid,
            error_type: self.error_type.map(str::to_string),
            exception_message: self.exception_message,
            exception_stacktrace: self.exception_stacktrace,
            metadata: self.metadata,
        }
    }
}

/// This thread's name and number, and the process id, read once per thread.
#[derive(Clone)]
pub(super) struct ThreadInfo {
    pub(super) name: Option<Arc<str>>,
    pub(super) number: u64,
    pub(super) pid: u32,
}

pub(super) fn thread_info() -> ThreadInfo {
    thread_local! {
        static INFO: ThreadInfo = {
            let thread = std::thread::current();
            let text = format!("{:?}", thread.id());
            ThreadInfo {
                name: thread.name().map(Arc::from),
                number: text.trim_start_matches("ThreadId(").trim_end_matches(')').parse().unwrap_or(0),
                pid: pid(),
            }
        };
    }
    INFO.try_with(ThreadInfo::clone).unwrap_or_else(|_| ThreadInfo { name: None, number: 0, pid: pid() })
}

/// The process id, read once (`getpid` is a system call).
fn pid() -> u32 {
    static PID: AtomicU32 = AtomicU32::new(0);
    match PID.load(Ordering::Relaxed) {
        0 => {
            let pid = std::process::id();
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}
