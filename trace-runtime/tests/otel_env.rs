//! The standard `OTEL_TRACES_*` variables through `init()`, in child processes (they are read
//! once, from the process environment): what a deployment configured with `OTEL_*` alone sees.

use trace_runtime::{span, trace};

const CHILD: &str = "TRACE_OTEL_ENV_CHILD";
const ROOT: &str = "otel-env-root";

/// The traced program; runs only as a child.
#[test]
fn child_program() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    if std::env::var_os("APP_PROPAGATOR").is_some() {
        use trace_runtime::opentelemetry_sdk::propagation::BaggagePropagator;
        trace_runtime::opentelemetry::global::set_text_map_propagator(BaggagePropagator::new());
    }
    let guard = trace_runtime::init().unwrap();
    let mut fields = trace_runtime::opentelemetry::global::get_text_map_propagator(|p| {
        p.fields().map(String::from).collect::<Vec<_>>()
    });
    fields.sort();
    let fields = fields.join(",");
    eprintln!("fields: [{fields}]");
    let recording = trace!(ROOT, { span::is_recording() });
    eprintln!("recording: {recording}");
    // Under a remote parent that did not sample its trace, and one that did.
    for (name, flags) in [("unsampled", "00"), ("sampled", "01")] {
        let traceparent = format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}");
        let headers = std::collections::HashMap::from([("traceparent".to_string(), traceparent)]);
        let remote = trace_runtime::propagation::extract(&headers);
        let recording = remote.in_scope(|| trace!("under remote", { span::is_recording() }));
        eprintln!("under {name} remote: {recording}");
    }
    eprintln!("warnings: {}", guard.warnings().len());
    guard.shutdown().unwrap();
}

struct Output {
    stdout: String,
    stderr: String,
}

fn run(envs: &[(&str, &str)]) -> Output {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_program", "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .env("TRACE_TELEMETRY_ENABLED", "false")
        .env_remove("TRACE_EXPORTER")
        .env_remove("TRACE_SAMPLING_RATE")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let output = Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(out.status.success(), "child failed:\n{}\n{}", output.stdout, output.stderr);
    output
}

#[test]
fn otel_traces_exporter_none_prints_no_tree() {
    let printed = run(&[]);
    assert!(printed.stdout.contains(ROOT), "the default prints the tree: {}", printed.stdout);
    let quiet = run(&[("OTEL_TRACES_EXPORTER", "none")]);
    assert!(!quiet.stdout.contains(ROOT), "{}", quiet.stdout);
    assert!(
        quiet.stderr.contains("recording: true") && quiet.stderr.contains("warnings: 0"),
        "{}",
        quiet.stderr
    );
    let kit_wins = run(&[("OTEL_TRACES_EXPORTER", "none"), ("TRACE_EXPORTER", "stdout")]);
    assert!(kit_wins.stdout.contains(ROOT), "TRACE_EXPORTER wins: {}", kit_wins.stdout);
}

#[test]
fn otel_traces_sampler_always_off_records_nothing() {
    let off = run(&[("OTEL_TRACES_SAMPLER", "always_off")]);
    assert!(off.stderr.contains("recording: false"), "{}", off.stderr);
    assert!(!off.stdout.contains(ROOT), "{}", off.stdout);
    let ratio = run(&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "1.0")]);
    assert!(ratio.stderr.contains("recording: true"), "{}", ratio.stderr);
}

#[test]
fn only_parent_based_samplers_follow_a_remote_parents_flag() {
    let follows = |envs: &[(&str, &str)], unsampled: bool, sampled: bool| {
        let out = run(envs);
        assert!(
            out.stderr.contains(&format!("under unsampled remote: {unsampled}")),
            "{envs:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(&format!("under sampled remote: {sampled}")), "{envs:?}: {}", out.stderr);
    };
    follows(&[], false, true);
    follows(&[("OTEL_TRACES_SAMPLER", "parentbased_always_on")], false, true);
    follows(&[("OTEL_TRACES_SAMPLER", "parentbased_always_off")], false, true);
    follows(&[("OTEL_TRACES_SAMPLER", "always_on")], true, true);
    follows(&[("OTEL_TRACES_SAMPLER", "always_off")], false, false);
    follows(&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "1.0")], true, true);
    follows(&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0")], false, false);
}

#[test]
fn otel_propagators_choose_the_global_propagator_and_an_apps_own_is_kept() {
    assert!(run(&[]).stderr.contains("fields: [traceparent,tracestate]"));
    assert!(run(&[("OTEL_PROPAGATORS", "none")]).stderr.contains("fields: []"));
    let both = run(&[("OTEL_PROPAGATORS", "tracecontext,baggage")]);
    assert!(both.stderr.contains("fields: [baggage,traceparent,tracestate]"), "{}", both.stderr);
    let app = run(&[("APP_PROPAGATOR", "1")]);
    assert!(app.stderr.contains("fields: [baggage]"), "the application's propagator stays: {}", app.stderr);
}

#[test]
fn a_bad_standard_value_is_a_warning_and_the_program_runs() {
    let out = run(&[("OTEL_TRACES_EXPORTER", "console,jaeger"), ("OTEL_TRACES_SAMPLER", "sometimes")]);
    assert!(out.stdout.contains(ROOT), "console still prints: {}", out.stdout);
    assert!(
        out.stderr.contains("trace-runtime: warning: `OTEL_TRACES_EXPORTER` names `jaeger`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("trace-runtime: warning: `OTEL_TRACES_SAMPLER` is `sometimes`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("recording: true") && out.stderr.contains("warnings: 2"), "{}", out.stderr);
}
