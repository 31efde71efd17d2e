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
    /// `deliveries`: one job per (provider, channel), from the router to the notifier.
    pub deliveries_queue: Option<QueueRef>,
    /// Where deliveries that will not succeed go, with their reason.
    pub deliveries_dlq: Option<QueueRef>,
    /// `interaction-work`: slow work after a click was answered (war rooms).
    pub interaction_work_queue: Option<QueueRef>,
    pub delivery: DeliverySettings,
    /// `SLA_TARGETS` JSON overrides (`{"SEV-1": {"ack": "10m", "resolve": "2h"}}`).
    pub sla_targets: Option<String>,
    /// `CLOSED_INCIDENT_RETENTION_DAYS`: closed incidents and their timelines are deleted this
    /// long after closing (unset or 0: kept).
    pub closed_retention_days: Option<u32>,
}

/// How the notifier talks to chat platforms.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// Slack Web API base URL (`SLACK_API_URL`, default `https://slack.com/api`).
    pub slack_api_url: String,
    /// Discord REST base URL (`DISCORD_API_URL`, default `https://discord.com/api/v10`).
    pub discord_api_url: String,
    /// Interaction `response_url`s must start with this (`SLACK_RESPONSE_URL_PREFIX`).
    pub slack_response_url_prefix: String,
    /// Least time between two `chat.postMessage` to one channel (`SLACK_POST_INTERVAL_MS`, 1050).
    pub slack_post_interval: Duration,
    /// Least time between two `chat.update` in one workspace (`SLACK_UPDATE_INTERVAL_MS`, 1250:
    /// Tier 3 is 50 per minute).
    pub slack_update_interval: Duration,
    /// First retry delay after a failure (`DELIVERY_BACKOFF_BASE_MS`, 1000), doubling per attempt.
    pub backoff_base: Duration,
    /// Longest retry delay (`DELIVERY_BACKOFF_CAP_SECONDS`, 900: SQS's longest delay).
    pub backoff_cap: Duration,
    /// Failed attempts before the dead-letter queue (`DELIVERY_MAX_ATTEMPTS`, 12).
    pub max_attempts: u32,
    /// Timeout of one chat API call (`CHAT_TIMEOUT_MS`, 10000).
    pub chat_timeout: Duration,
}

impl DeliverySettings {
    /// How failed deliveries are retried.
    pub fn retry_policy(&self) -> im_core::delivery::RetryPolicy {
        im_core::delivery::RetryPolicy {
            max_attempts: self.max_attempts,
            backoff_base: self.backoff_base,
            backoff_cap: self.backoff_cap,
        }
    }
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            slack_api_url: "https://slack.com/api".into(),
            discord_api_url: "https://discord.com/api/v10".into(),
            slack_response_url_prefix: "https://hooks.slack.com/".into(),
            slack_post_interval: Duration::from_millis(1050),
            slack_update_interval: Duration::from_millis(1250),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(900),
            max_attempts: im_core::notify::MAX_ATTEMPTS,
            chat_timeout: Duration::from_secs(10),
        }
    }
}

fn millis(var: Lookup<'_>, name: &str, default: Duration) -> Result<Duration, AwsError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| AwsError::Config(format!("{name} must be a number of milliseconds, got `{v}`"))),
    }
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn seconds(var: Lookup<'_>, name: &str, default: u64) -> Result<Duration, AwsError> {
    match var(name) {
        None => Ok(Duration::from_secs(default)),
        Some(v) => v
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| AwsError::Config(format!("{name} must be a number of seconds, got `{v}`"))),
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
        let text =
            std::fs::read_to_string(path).map_err(|e| AwsError::Config(format!("reading {}: {e}", path.display())))?;
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
            table_name: var("TABLE_NAME").ok_or_else(|| AwsError::Config("TABLE_NAME is not set".into()))?,
            incident_events_queue: queue(var, "INCIDENT_EVENTS_QUEUE_URL", "INCIDENT_EVENTS_QUEUE"),
            endpoint_url: var("AWS_ENDPOINT_URL"),
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            secrets_ttl: seconds(var, "SECRETS_TTL_SECONDS", 300)?,
            providers_ttl: seconds(var, "PROVIDERS_TTL_SECONDS", 30)?,
            secrets_min_refresh: seconds(var, "SECRETS_MIN_REFRESH_SECONDS", 10)?,
            secrets_prefix: var("SECRETS_PREFIX").unwrap_or_else(|| "im/".into()),
            deliveries_queue: queue(var, "DELIVERIES_QUEUE_URL", "DELIVERIES_QUEUE"),
            deliveries_dlq: queue(var, "DELIVERIES_DLQ_URL", "DELIVERIES_DLQ"),
            interaction_work_queue: queue(var, "INTERACTION_WORK_QUEUE_URL", "INTERACTION_WORK_QUEUE"),
            delivery: {
                let d = DeliverySettings::default();
                DeliverySettings {
                    slack_api_url: var("SLACK_API_URL").unwrap_or(d.slack_api_url),
                    discord_api_url: var("DISCORD_API_URL").unwrap_or(d.discord_api_url),
                    slack_response_url_prefix: var("SLACK_RESPONSE_URL_PREFIX").unwrap_or(d.slack_response_url_prefix),
                    slack_post_interval: millis(var, "SLACK_POST_INTERVAL_MS", d.slack_post_interval)?,
                    slack_update_interval: millis(var, "SLACK_UPDATE_INTERVAL_MS", d.slack_update_interval)?,
                    backoff_base: millis(var, "DELIVERY_BACKOFF_BASE_MS", d.backoff_base)?,
                    backoff_cap: seconds(var, "DELIVERY_BACKOFF_CAP_SECONDS", d.backoff_cap.as_secs())?,
                    max_attempts: match var("DELIVERY_MAX_ATTEMPTS") {
                        None => d.max_attempts,
                        Some(v) => v.parse().map_err(|_| {
                            AwsError::Config(format!("DELIVERY_MAX_ATTEMPTS must be a number, got `{v}`"))
                        })?,
                    },
                    chat_timeout: millis(var, "CHAT_TIMEOUT_MS", d.chat_timeout)?,
                }
            },
            sla_targets: var("SLA_TARGETS"),
            closed_retention_days: match var("CLOSED_INCIDENT_RETENTION_DAYS") {
                None => None,
                Some(v) => match v.trim().parse::<u32>() {
                    Ok(0) => None,
                    Ok(days) => Some(days),
                    Err(_) => {
                        return Err(AwsError::Config(format!(
                            "CLOSED_INCIDENT_RETENTION_DAYS must be a number of days, got `{v}`"
                        )));
                    }
                },
            },
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
            deliveries_queue: None,
            deliveries_dlq: None,
            interaction_work_queue: None,
            delivery: DeliverySettings::default(),
            sla_targets: None,
            closed_retention_days: None,
        }
    }
}
