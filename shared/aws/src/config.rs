//! Configuration from the environment (Lambda function environment, or `make dev`).

use std::time::Duration;

use crate::error::AwsError;

/// A queue named by URL (deployed) or by name (resolved with GetQueueUrl, for the local stack).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueRef {
    Url(String),
    Name(String),
}

#[derive(Clone, Debug)]
pub struct Config {
    pub table_name: String,
    pub incident_events_queue: Option<QueueRef>,
    /// `AWS_ENDPOINT_URL`: the local emulator. Unset in AWS.
    pub endpoint_url: Option<String>,
    pub region: String,
    /// How long a secret is trusted before it is read again (rotation takes effect within it).
    pub secrets_ttl: Duration,
    /// How long a provider record is cached.
    pub providers_ttl: Duration,
    /// Shortest time between two forced re-reads of one secret (after a signature mismatch).
    pub secrets_min_refresh: Duration,
    /// Provider secrets are named `<prefix>chatops/<provider>`.
    pub secrets_prefix: String,
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn seconds(var: Lookup<'_>, name: &str, default: u64) -> Result<Duration, AwsError> {
    match var(name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => v.parse().map(Duration::from_secs).map_err(|_| {
            AwsError::Config(format!("{name} must be a number of seconds, got `{v}`"))
        }),
    }
}

fn queue(var: Lookup<'_>, url_var: &str, name_var: &str) -> Option<QueueRef> {
    var(url_var)
        .map(QueueRef::Url)
        .or_else(|| var(name_var).map(QueueRef::Name))
}

impl Config {
    /// `TABLE_NAME` (required), `INCIDENT_EVENTS_QUEUE_URL` or `INCIDENT_EVENTS_QUEUE`,
    /// `AWS_ENDPOINT_URL`, `AWS_REGION`, `SECRETS_TTL_SECONDS` (300), `SECRETS_MIN_REFRESH_SECONDS` (10),
    /// `SECRETS_PREFIX` (`im/`), `PROVIDERS_TTL_SECONDS` (30).
    pub fn from_env() -> Result<Self, AwsError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads `KEY=VALUE` lines of an env file first, then the process environment.
    pub fn from_env_file(path: &std::path::Path) -> Result<Self, AwsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AwsError::Config(format!("reading {}: {e}", path.display())))?;
        let file: std::collections::HashMap<String, String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect();
        Self::from_lookup(&|name| file.get(name).cloned().or_else(|| std::env::var(name).ok()))
    }

    fn from_lookup(lookup: Lookup<'_>) -> Result<Self, AwsError> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let var: Lookup<'_> = &var;
        Ok(Self {
            table_name: var("TABLE_NAME")
                .ok_or_else(|| AwsError::Config("TABLE_NAME is not set".into()))?,
            incident_events_queue: queue(var, "INCIDENT_EVENTS_QUEUE_URL", "INCIDENT_EVENTS_QUEUE"),
            endpoint_url: var("AWS_ENDPOINT_URL"),
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            secrets_ttl: seconds(var, "SECRETS_TTL_SECONDS", 300)?,
            providers_ttl: seconds(var, "PROVIDERS_TTL_SECONDS", 30)?,
            secrets_min_refresh: seconds(var, "SECRETS_MIN_REFRESH_SECONDS", 10)?,
            secrets_prefix: var("SECRETS_PREFIX").unwrap_or_else(|| "im/".into()),
        })
    }

    /// For tests and the local stack: everything explicit.
    pub fn local(endpoint: &str, table_name: &str, events_queue: Option<QueueRef>) -> Self {
        Self {
            table_name: table_name.into(),
            incident_events_queue: events_queue,
            endpoint_url: Some(endpoint.into()),
            region: "us-east-1".into(),
            secrets_ttl: Duration::from_secs(300),
            providers_ttl: Duration::from_secs(30),
            secrets_min_refresh: Duration::from_secs(10),
            secrets_prefix: "im/".into(),
        }
    }
}
