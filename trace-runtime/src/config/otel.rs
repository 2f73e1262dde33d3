//! The standard `OTEL_TRACES_EXPORTER` and `OTEL_TRACES_SAMPLER` variables, read when the kit's
//! own (`TRACE_EXPORTER`, `TRACE_SAMPLING_RATE`) and the builder leave the choice open.
//!
//! As in the OpenTelemetry SDKs, a value they do not know is a warning naming the variable and
//! the value, and the specification's default stands in for it; the `TRACE_*` variables keep
//! their errors.

use super::Exporter;

/// The exporters `OTEL_TRACES_EXPORTER` (a comma list of `otlp`, `zipkin`, `console`, `none`)
/// names; an unknown or unavailable name is skipped with a warning, and a list left empty by
/// them is `otlp`, the specification's default.
pub(super) fn traces_exporter(value: &str, warnings: &mut Vec<String>) -> Vec<Exporter> {
    let mut exporters = Vec::new();
    let mut skipped = false;
    for name in value.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()) {
        let exporter = match name.as_str() {
            "otlp" if cfg!(feature = "otlp") => Exporter::Otlp,
            "zipkin" if cfg!(feature = "zipkin") => Exporter::Zipkin,
            "console" => Exporter::Stdout,
            "none" => Exporter::None,
            _ => {
                let why = match name.as_str() {
                    "otlp" | "zipkin" => "this build has its cargo feature off",
                    _ => "expected otlp, zipkin, console or none",
                };
                warnings.push(format!("`OTEL_TRACES_EXPORTER` names `{name}`: {why}; it is skipped"));
                skipped = true;
                continue;
            }
        };
        if !exporters.contains(&exporter) {
            exporters.push(exporter);
        }
    }
    if exporters.is_empty() {
        let default = if cfg!(feature = "otlp") { Exporter::Otlp } else { Exporter::Stdout };
        if !skipped {
            warnings.push(format!(
                "`OTEL_TRACES_EXPORTER` is `{value}`: it names no exporter; using {default:?}"
            ));
        }
        exporters.push(default);
    }
    exporters
}

/// The sampling ratio `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` ask for, and whether
/// the sampler is parent-based (a span under a remote parent follows the parent's sampled flag)
/// or not (`always_on`, `always_off`, `traceidratio`: the ratio decides under a remote parent
/// too); `None` when unset.
pub(super) fn sampler(
    env: &impl Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Option<(f64, bool)> {
    let name = env("OTEL_TRACES_SAMPLER")?.to_ascii_lowercase();
    let ratio = |warnings: &mut Vec<String>| match env("OTEL_TRACES_SAMPLER_ARG") {
        None => 1.0,
        Some(arg) => match arg.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => r,
            _ => {
                warnings.push(format!(
                    "`OTEL_TRACES_SAMPLER_ARG` is `{arg}`: expected a ratio from 0.0 to 1.0; using 1.0"
                ));
                1.0
            }
        },
    };
    Some(match name.as_str() {
        "parentbased_always_on" => (1.0, true),
        "parentbased_always_off" => (0.0, true),
        "parentbased_traceidratio" => (ratio(warnings), true),
        "always_on" => (1.0, false),
        "always_off" => (0.0, false),
        "traceidratio" => (ratio(warnings), false),
        _ => {
            warnings.push(format!(
                "`OTEL_TRACES_SAMPLER` is `{name}`: expected always_on, always_off, traceidratio, \
                 parentbased_always_on, parentbased_always_off or parentbased_traceidratio; using \
                 parentbased_always_on, the OpenTelemetry default"
            ));
            (1.0, true)
        }
    })
}

/// The global propagators `OTEL_PROPAGATORS` (a comma list of `tracecontext`, `baggage`, `none`)
/// names; the kit's default (W3C Trace Context) when unset. An unknown name is a warning and
/// skipped (`b3`, `jaeger` and `xray` are not built in).
pub(super) fn propagators(
    env: &impl Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> crate::interop::Propagators {
    let Some(list) = env("OTEL_PROPAGATORS") else { return Default::default() };
    let mut chosen = crate::interop::Propagators { trace_context: false, baggage: false };
    for name in list.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()) {
        match name.as_str() {
            "tracecontext" => chosen.trace_context = true,
            "baggage" => chosen.baggage = true,
            "none" => {}
            _ => warnings.push(format!(
                "`OTEL_PROPAGATORS` names `{name}`: expected tracecontext, baggage or none; it is skipped"
            )),
        }
    }
    chosen
}

/// A whole number, 0 included, from the standard variable `name` (a limit); a bad value is a
/// warning, and `None` lets the default stand.
pub(super) fn count(
    env: &impl Fn(&str) -> Option<String>,
    name: &str,
    warnings: &mut Vec<String>,
) -> Option<usize> {
    whole_number(env, name, 0, warnings)
}

/// A whole number above 0 from the standard variable `name` (`OTEL_BSP_MAX_QUEUE_SIZE`, ...);
/// a bad value is a warning, and `None` lets the default stand.
pub(super) fn positive(
    env: &impl Fn(&str) -> Option<String>,
    name: &str,
    warnings: &mut Vec<String>,
) -> Option<usize> {
    whole_number(env, name, 1, warnings)
}

fn whole_number(
    env: &impl Fn(&str) -> Option<String>,
    name: &str,
    min: usize,
    warnings: &mut Vec<String>,
) -> Option<usize> {
    let raw = env(name)?;
    match raw.trim().parse::<usize>() {
        Ok(n) if n >= min => Some(n),
        _ => {
            let expected = if min == 0 {
                "a whole number".to_string()
            } else {
                format!("a whole number of at least {min}")
            };
            warnings.push(format!("`{name}` is `{raw}`: expected {expected}; using the default"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_lists_map_to_the_kits_exporters_and_bad_names_are_warnings() {
        let mut warnings = Vec::new();
        assert_eq!(traces_exporter("console", &mut warnings), [Exporter::Stdout]);
        assert_eq!(traces_exporter("none", &mut warnings), [Exporter::None]);
        assert_eq!(traces_exporter("OTLP, zipkin,otlp", &mut warnings), [Exporter::Otlp, Exporter::Zipkin]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(traces_exporter("jaeger,console", &mut warnings), [Exporter::Stdout]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("`OTEL_TRACES_EXPORTER` names `jaeger`"), "{warnings:?}");
        assert_eq!(traces_exporter("jaeger", &mut warnings), [Exporter::Otlp], "the spec's default");
        assert_eq!(traces_exporter(",", &mut warnings), [Exporter::Otlp]);
        assert_eq!(warnings.len(), 3);
    }

    #[test]
    fn propagator_lists_and_their_warnings() {
        let with = |value: Option<&str>| {
            let mut warnings = Vec::new();
            let env = |_: &str| value.map(str::to_string);
            (propagators(&env, &mut warnings), warnings.len())
        };
        let p = |trace_context, baggage| crate::interop::Propagators { trace_context, baggage };
        assert_eq!(with(None), (p(true, false), 0));
        assert_eq!(with(Some("tracecontext,baggage")), (p(true, true), 0));
        assert_eq!(with(Some("none")), (p(false, false), 0));
        assert_eq!(with(Some("b3, Baggage")), (p(false, true), 1));
    }

    #[test]
    fn batch_processor_numbers_are_positive_or_a_warning() {
        let mut warnings = Vec::new();
        let env = |value: &'static str| move |_: &str| Some(value.to_string());
        assert_eq!(positive(&env("512"), "OTEL_BSP_MAX_QUEUE_SIZE", &mut warnings), Some(512));
        assert_eq!(positive(&|_: &str| None, "OTEL_BSP_MAX_QUEUE_SIZE", &mut warnings), None);
        assert!(warnings.is_empty());
        for bad in ["0", "-3", "lots"] {
            assert_eq!(positive(&env(bad), "OTEL_BSP_EXPORT_TIMEOUT", &mut warnings), None, "{bad}");
        }
        assert_eq!(warnings.len(), 3);
        assert!(warnings[2].contains("`OTEL_BSP_EXPORT_TIMEOUT` is `lots`"), "{warnings:?}");
    }

    #[test]
    fn samplers_give_the_root_ratio_and_bad_values_are_warnings() {
        let with = |vars: &[(&str, &str)]| {
            let mut warnings = Vec::new();
            let env = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
            (sampler(&env, &mut warnings), warnings)
        };
        assert_eq!(with(&[]).0, None);
        assert_eq!(with(&[("OTEL_TRACES_SAMPLER", "always_off")]).0, Some((0.0, false)));
        assert_eq!(with(&[("OTEL_TRACES_SAMPLER", "parentbased_always_off")]).0, Some((0.0, true)));
        assert_eq!(with(&[("OTEL_TRACES_SAMPLER", "always_on")]).0, Some((1.0, false)));
        assert_eq!(with(&[("OTEL_TRACES_SAMPLER", "parentbased_always_on")]).0, Some((1.0, true)));
        let ratio = [("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.25")];
        assert_eq!(with(&ratio).0, Some((0.25, false)));
        let (rate, warnings) =
            with(&[("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "2")]);
        assert_eq!(rate, Some((1.0, true)));
        assert!(warnings[0].contains("`OTEL_TRACES_SAMPLER_ARG` is `2`"), "{warnings:?}");
        let (rate, warnings) = with(&[("OTEL_TRACES_SAMPLER", "sometimes")]);
        assert_eq!(rate, Some((1.0, true)));
        assert!(warnings[0].contains("`OTEL_TRACES_SAMPLER` is `sometimes`"), "{warnings:?}");
    }
}
