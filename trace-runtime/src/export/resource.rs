//! The resource every exported span carries: service, environment, host and process.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

use super::ExportSettings;

/// The resource: `OTEL_RESOURCE_ATTRIBUTES` and the builder's attributes, then what the kit knows
/// (service, environment, version, host, process, SDK), which the explicit settings override.
pub(crate) fn build(service_name: &str, environment: &str, export: &ExportSettings) -> Resource {
    let mut attributes = vec![
        KeyValue::new("deployment.environment.name", environment.to_string()),
        KeyValue::new("process.pid", i64::from(std::process::id())),
        KeyValue::new("process.runtime.name", "rust"),
        KeyValue::new("telemetry.sdk.name", "trace-runtime"),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
    ];
    if let Some(exe) =
        std::env::current_exe().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
    {
        attributes.push(KeyValue::new("process.executable.name", exe));
    }
    if let Some(host) = host_name() {
        attributes.push(KeyValue::new("host.name", host));
    }
    if let Some(version) = &export.service_version {
        attributes.push(KeyValue::new("service.version", version.clone()));
    }
    // Explicit attributes win over detected ones; the resolved service name and environment
    // (builder, `OTEL_SERVICE_NAME`, `ENVIRONMENT`, or these attributes) win over all.
    attributes.retain(|kv| {
        !export.resource.iter().any(|e| e.key == kv.key) || kv.key.as_str() == "deployment.environment.name"
    });
    attributes.extend(
        export.resource.iter().filter(|kv| kv.key.as_str() != "deployment.environment.name").cloned(),
    );
    Resource::builder_empty().with_attributes(attributes).with_service_name(service_name.to_string()).build()
}

/// This machine's name (`gethostname(2)`, `GetComputerNameExW` on Windows), `None` when the
/// system gives none: the one reader of it for `host.name`, the sinks and telemetry's filter.
pub(crate) fn host_name() -> Option<String> {
    let name = gethostname::gethostname();
    let name = name.to_string_lossy();
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn host_name_is_the_kernels_name_for_this_machine() {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(host_name().as_deref(), Some(kernel.trim()));
    }
}
