//! The LLM-observability backends' settings, from the variables their own SDKs read (and the
//! builder): Langfuse, Phoenix, LangWatch, Logfire. Each becomes an OTLP lane
//! ([`crate::export::backends`]).
//!
//! | `TRACE_EXPORTER` | variables | sends to |
//! |---|---|---|
//! | `langfuse` | `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY` (required), `LANGFUSE_HOST` or `LANGFUSE_BASE_URL` (default the EU cloud, `https://cloud.langfuse.com`) | `{host}/api/public/otel/v1/traces`, HTTP/protobuf, `Authorization: Basic base64(public:secret)`, `x-langfuse-ingestion-version: 4` ([Langfuse](https://langfuse.com/integrations/native/opentelemetry)) |
//! | `phoenix` | `PHOENIX_COLLECTOR_ENDPOINT` (default `http://localhost:6006`), `PHOENIX_API_KEY` (optional), `PHOENIX_PROJECT_NAME` (default the service name) | `{endpoint}/v1/traces`, HTTP/protobuf, `Authorization: Bearer {key}`, resource `openinference.project.name` ([Phoenix](https://arize.com/docs/phoenix/tracing/how-to-tracing)) |
//! | `langwatch` | `LANGWATCH_API_KEY` (required), `LANGWATCH_ENDPOINT` (default `https://app.langwatch.ai`) | `{endpoint}/api/otel/v1/traces`, HTTP/protobuf, `Authorization: Bearer {key}` ([LangWatch](https://langwatch.ai/docs/observability/trace-vs-activity-ingestion)) |
//! | `logfire` | `LOGFIRE_TOKEN` (required), `LOGFIRE_BASE_URL` (default the token's region: `https://logfire-eu.pydantic.dev` for an EU token, else `https://logfire-us.pydantic.dev`) | `{base}/v1/traces`, HTTP/protobuf, `Authorization: {token}` ([Logfire](https://logfire.pydantic.dev/docs/how-to-guides/alternative-clients)) |

use super::export::{Env, check_endpoint};
use super::{ConfigBuilder, ConfigError, Exporter};
use crate::export::backends::{Backend, BackendSettings};
use crate::export::{OtlpProtocol, OtlpSettings};

/// What the builder set for the backends.
#[derive(Default)]
pub(crate) struct BackendOptions {
    langfuse_keys: Option<(String, String)>,
    langfuse_host: Option<String>,
    phoenix_endpoint: Option<String>,
    phoenix_api_key: Option<String>,
    phoenix_project: Option<String>,
    langwatch_key: Option<String>,
    langwatch_endpoint: Option<String>,
    logfire_token: Option<String>,
    logfire_base_url: Option<String>,
}

/// A credential as debug output and errors may show it: its first characters at most.
pub(crate) fn shown(secret: &str) -> String {
    match secret.char_indices().nth(4) {
        Some((end, _)) if secret.chars().count() > 8 => format!("{}…", &secret[..end]),
        _ => "…".to_string(),
    }
}

impl std::fmt::Debug for BackendOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |s: &Option<String>| s.as_deref().map(shown);
        f.debug_struct("BackendOptions")
            .field("langfuse_public_key", &self.langfuse_keys.as_ref().map(|(p, _)| p))
            .field("langfuse_secret_key", &self.langfuse_keys.as_ref().map(|(_, s)| shown(s)))
            .field("langfuse_host", &self.langfuse_host)
            .field("phoenix_endpoint", &self.phoenix_endpoint)
            .field("phoenix_api_key", &secret(&self.phoenix_api_key))
            .field("phoenix_project", &self.phoenix_project)
            .field("langwatch_api_key", &secret(&self.langwatch_key))
            .field("langwatch_endpoint", &self.langwatch_endpoint)
            .field("logfire_token", &secret(&self.logfire_token))
            .field("logfire_base_url", &self.logfire_base_url)
            .finish()
    }
}

/// The lanes of the backends `exporters` names.
pub(super) fn resolve(
    options: BackendOptions,
    env: Env<'_>,
    exporters: &[Exporter],
    service_name: &str,
) -> Result<Vec<BackendSettings>, ConfigError> {
    let mut out = Vec::new();
    let required =
        |set: Option<String>, variable: &'static str, exporter: &'static str, setting: &'static str| {
            set.or_else(|| env(variable)).ok_or(ConfigError::MissingSetting { exporter, variable, setting })
        };
    let base =
        |set: Option<String>, variables: &[&'static str], default: &str| -> (String, Option<&'static str>) {
            match set {
                Some(url) => (url, None),
                None => variables
                    .iter()
                    .find_map(|v| env(v).map(|url| (url, Some(*v))))
                    .unwrap_or_else(|| (default.to_string(), None)),
            }
        };
    for exporter in exporters {
        let (backend, endpoint, headers, project) = match exporter {
            Exporter::Langfuse => {
                let public = required(
                    options.langfuse_keys.as_ref().map(|(p, _)| p.clone()),
                    "LANGFUSE_PUBLIC_KEY",
                    "langfuse",
                    "langfuse",
                )?;
                let secret = required(
                    options.langfuse_keys.as_ref().map(|(_, s)| s.clone()),
                    "LANGFUSE_SECRET_KEY",
                    "langfuse",
                    "langfuse",
                )?;
                let (host, variable) = base(
                    options.langfuse_host.clone(),
                    &["LANGFUSE_HOST", "LANGFUSE_BASE_URL"],
                    "https://cloud.langfuse.com",
                );
                let endpoint = checked(&host, "/api/public/otel/v1/traces", variable, "langfuse_host")?;
                let auth = format!("Basic {}", basic(&public, &secret));
                let headers = vec![
                    ("authorization".to_string(), auth),
                    ("x-langfuse-ingestion-version".to_string(), "4".to_string()),
                ];
                (Backend::Langfuse, endpoint, headers, None)
            }
            Exporter::Phoenix => {
                let (url, variable) = base(
                    options.phoenix_endpoint.clone(),
                    &["PHOENIX_COLLECTOR_ENDPOINT"],
                    "http://localhost:6006",
                );
                // Phoenix's own SDK takes a base URL or the traces URL itself.
                let path = if url.trim_end_matches('/').ends_with("/v1/traces") { "" } else { "/v1/traces" };
                let endpoint = checked(&url, path, variable, "phoenix")?;
                let key = options.phoenix_api_key.clone().or_else(|| env("PHOENIX_API_KEY"));
                let headers =
                    key.map(|k| ("authorization".to_string(), format!("Bearer {k}"))).into_iter().collect();
                let project = options
                    .phoenix_project
                    .clone()
                    .or_else(|| env("PHOENIX_PROJECT_NAME"))
                    .unwrap_or_else(|| service_name.to_string());
                (Backend::Phoenix, endpoint, headers, Some(project))
            }
            Exporter::LangWatch => {
                let key =
                    required(options.langwatch_key.clone(), "LANGWATCH_API_KEY", "langwatch", "langwatch")?;
                let (url, variable) = base(
                    options.langwatch_endpoint.clone(),
                    &["LANGWATCH_ENDPOINT"],
                    "https://app.langwatch.ai",
                );
                let endpoint = checked(&url, "/api/otel/v1/traces", variable, "langwatch_endpoint")?;
                (
                    Backend::LangWatch,
                    endpoint,
                    vec![("authorization".to_string(), format!("Bearer {key}"))],
                    None,
                )
            }
            Exporter::Logfire => {
                let token = required(options.logfire_token.clone(), "LOGFIRE_TOKEN", "logfire", "logfire")?;
                let (url, variable) =
                    base(options.logfire_base_url.clone(), &["LOGFIRE_BASE_URL"], logfire_region(&token));
                let endpoint = checked(&url, "/v1/traces", variable, "logfire_base_url")?;
                (Backend::Logfire, endpoint, vec![("authorization".to_string(), token)], None)
            }
            _ => continue,
        };
        for (name, value) in &headers {
            if http::HeaderValue::from_str(value).is_err() {
                // The value is a credential: the error names where it came from, never what it is.
                return Err(ConfigError::InvalidSecret { exporter: backend.name(), header: name.clone() });
            }
        }
        let otlp = OtlpSettings {
            protocol: OtlpProtocol::HttpProtobuf,
            endpoint,
            headers,
            timeout: None,
            gzip: false,
            ca_pem: None,
            client_pem: None,
        };
        out.push(BackendSettings { backend, otlp, project });
    }
    Ok(out)
}

/// `base` + `path`, checked as a URL.
fn checked(
    base: &str,
    path: &str,
    variable: Option<&'static str>,
    setting: &'static str,
) -> Result<String, ConfigError> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    check_endpoint(&url, variable, setting)?;
    Ok(url)
}

/// `public:secret` in base64, for Basic authentication.
fn basic(public: &str, secret: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{public}:{secret}"))
}

/// Logfire's region from its write token, as Logfire's SDK reads it (`pylf_v1_eu_…`).
fn logfire_region(token: &str) -> &'static str {
    let region = token.strip_prefix("pylf_v").and_then(|rest| rest.split('_').nth(1));
    match region {
        Some("eu") => "https://logfire-eu.pydantic.dev",
        _ => "https://logfire-us.pydantic.dev",
    }
}

impl ConfigBuilder {
    fn backends(&mut self) -> &mut BackendOptions {
        &mut self.0.backends
    }

    fn add_exporter(mut self, exporter: Exporter) -> Self {
        let list = self.0.exporters.get_or_insert_with(Vec::new);
        if !list.contains(&exporter) {
            list.push(exporter);
        }
        self
    }

    /// Sends traces to Langfuse with a project's keys (`TRACE_EXPORTER=langfuse` with
    /// `LANGFUSE_PUBLIC_KEY` and `LANGFUSE_SECRET_KEY`).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder()
    ///     .langfuse("pk-lf-1234", "sk-lf-5678")
    ///     .langfuse_host("https://us.cloud.langfuse.com")
    ///     .build();
    /// assert!(!format!("{config:?}").contains("sk-lf-5678"), "debug output hides the secret");
    /// ```
    pub fn langfuse(mut self, public_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        self.backends().langfuse_keys = Some((public_key.into(), secret_key.into()));
        self.add_exporter(Exporter::Langfuse)
    }

    /// Langfuse's host (`LANGFUSE_HOST`): a region's cloud or a self-hosted instance.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().langfuse("pk-lf-1", "sk-lf-2").langfuse_host("http://localhost:3000").build();
    /// # drop(config);
    /// ```
    pub fn langfuse_host(mut self, host: impl Into<String>) -> Self {
        self.backends().langfuse_host = Some(host.into());
        self
    }

    /// Sends traces to Phoenix at `endpoint` (`TRACE_EXPORTER=phoenix` with
    /// `PHOENIX_COLLECTOR_ENDPOINT`), in OpenInference names.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().phoenix("http://localhost:6006").phoenix_project("agents").build();
    /// # drop(config);
    /// ```
    pub fn phoenix(mut self, endpoint: impl Into<String>) -> Self {
        self.backends().phoenix_endpoint = Some(endpoint.into());
        self.add_exporter(Exporter::Phoenix)
    }

    /// Phoenix's API key (`PHOENIX_API_KEY`), sent as a bearer token.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().phoenix("https://app.phoenix.arize.com").phoenix_api_key("phx-key").build();
    /// # drop(config);
    /// ```
    pub fn phoenix_api_key(mut self, key: impl Into<String>) -> Self {
        self.backends().phoenix_api_key = Some(key.into());
        self
    }

    /// Phoenix's project (`PHOENIX_PROJECT_NAME`; default the service name).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().phoenix("http://localhost:6006").phoenix_project("voice-agents").build();
    /// # drop(config);
    /// ```
    pub fn phoenix_project(mut self, project: impl Into<String>) -> Self {
        self.backends().phoenix_project = Some(project.into());
        self
    }

    /// Sends traces to LangWatch with a project's API key (`TRACE_EXPORTER=langwatch` with
    /// `LANGWATCH_API_KEY`).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().langwatch("sk-lw-1234567890").build();
    /// # drop(config);
    /// ```
    pub fn langwatch(mut self, api_key: impl Into<String>) -> Self {
        self.backends().langwatch_key = Some(api_key.into());
        self.add_exporter(Exporter::LangWatch)
    }

    /// LangWatch's endpoint (`LANGWATCH_ENDPOINT`), for a self-hosted instance.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().langwatch("lw-key").langwatch_endpoint("http://localhost:5560").build();
    /// # drop(config);
    /// ```
    pub fn langwatch_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.backends().langwatch_endpoint = Some(endpoint.into());
        self
    }

    /// Sends traces to Logfire with a write token (`TRACE_EXPORTER=logfire` with
    /// `LOGFIRE_TOKEN`); the region follows from the token.
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().logfire("pylf_v1_eu_0123456789").build();
    /// # drop(config);
    /// ```
    pub fn logfire(mut self, token: impl Into<String>) -> Self {
        self.backends().logfire_token = Some(token.into());
        self.add_exporter(Exporter::Logfire)
    }

    /// Logfire's base URL (`LOGFIRE_BASE_URL`).
    ///
    /// ```
    /// let config = trace_runtime::Config::builder().logfire("pylf_v1_us_1").logfire_base_url("https://logfire-eu.pydantic.dev").build();
    /// # drop(config);
    /// ```
    pub fn logfire_base_url(mut self, url: impl Into<String>) -> Self {
        self.backends().logfire_base_url = Some(url.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lanes(vars: &[(&str, &str)], exporters: &[Exporter]) -> Result<Vec<BackendSettings>, ConfigError> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        resolve(BackendOptions::default(), &|name| vars.get(name).cloned(), exporters, "svc")
    }

    #[test]
    fn defaults_are_each_backends_cloud_and_the_region_follows_a_logfire_token() {
        let keys = [("LANGFUSE_PUBLIC_KEY", "pk"), ("LANGFUSE_SECRET_KEY", "sk"), ("LANGWATCH_API_KEY", "k")];
        let all = [Exporter::Langfuse, Exporter::Phoenix, Exporter::LangWatch];
        let urls: Vec<String> = lanes(&keys, &all).unwrap().into_iter().map(|l| l.otlp.endpoint).collect();
        assert_eq!(
            urls,
            [
                "https://cloud.langfuse.com/api/public/otel/v1/traces",
                "http://localhost:6006/v1/traces",
                "https://app.langwatch.ai/api/otel/v1/traces",
            ]
        );
        let region = |token: &str| {
            lanes(&[("LOGFIRE_TOKEN", token)], &[Exporter::Logfire]).unwrap()[0].otlp.endpoint.clone()
        };
        assert_eq!(region("pylf_v1_eu_abc"), "https://logfire-eu.pydantic.dev/v1/traces");
        assert_eq!(region("pylf_v1_us_abc"), "https://logfire-us.pydantic.dev/v1/traces");
        assert_eq!(region("an-old-token"), "https://logfire-us.pydantic.dev/v1/traces");
    }

    #[test]
    fn a_bad_url_names_its_variable_and_secrets_are_shown_by_a_prefix_at_most() {
        let err =
            lanes(&[("PHOENIX_COLLECTOR_ENDPOINT", "localhost:6006")], &[Exporter::Phoenix]).unwrap_err();
        assert!(err.to_string().contains("PHOENIX_COLLECTOR_ENDPOINT"), "{err}");
        assert_eq!(shown("sk-lf-0123456789"), "sk-l…");
        assert_eq!(shown("short"), "…", "a short secret is not shown at all");
        let lane = &lanes(&[("LANGWATCH_API_KEY", "lw-secret-value")], &[Exporter::LangWatch]).unwrap()[0];
        assert!(!format!("{lane:?}").contains("lw-secret-value"));
    }
}
