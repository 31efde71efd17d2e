//! A provider is one connected chat workspace (a Slack workspace, a Teams tenant …).
//! Its record holds non-secret configuration; tokens live in a secret named by the record.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::incident::Severity;
use crate::rbac::AccessPolicy;
use crate::template::TemplateSet;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Slack,
    Teams,
    Discord,
    Mattermost,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a platform (slack, teams, discord, mattermost)")]
pub struct UnknownPlatform(pub String);

impl Platform {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Teams => "teams",
            Self::Discord => "discord",
            Self::Mattermost => "mattermost",
        }
    }

    pub fn parse(s: &str) -> Result<Self, UnknownPlatform> {
        match s.trim().to_ascii_lowercase().as_str() {
            "slack" => Ok(Self::Slack),
            "teams" | "msteams" | "microsoft-teams" => Ok(Self::Teams),
            "discord" => Ok(Self::Discord),
            "mattermost" => Ok(Self::Mattermost),
            _ => Err(UnknownPlatform(s.to_string())),
        }
    }

    /// Keys of the provider's secret that this platform needs to verify requests.
    pub fn required_secrets(&self) -> &'static [&'static str] {
        match self {
            Self::Slack => &["signing_secret"],
            Self::Teams => &["app_password"],
            Self::Discord => &["public_key"],
            Self::Mattermost => &["command_token"],
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ProviderStatus {
    #[default]
    Active,
    Inactive,
}

impl ProviderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
        }
    }
}

/// Keys that are secrets: accepted in `--config` for convenience, stored only in Secrets Manager.
pub const SECRET_KEYS: &[&str] = &[
    "bot_token",
    "signing_secret",
    "app_password",
    "public_key",
    "command_token",
    "action_secret",
    "webhook_url",
];

fn yes() -> bool {
    true
}

/// Keys [`ProviderConfig`] understands. Input with any other key is refused (a typo is caught
/// when the provider is configured, not when a notification goes nowhere); stored records are
/// read leniently so a key added by a newer version never makes a provider unreadable.
pub const CONFIG_KEYS: &[&str] = &[
    "default_channel",
    "enable_slash_commands",
    "enable_notifications",
    "notification_channels",
    "escalation_channels",
    "services",
    "default_severity",
    "rbac",
    "templates",
    "archive_war_room_on_close",
];

/// Secret key → value, split out of a configuration.
pub type Secrets = BTreeMap<String, String>;

/// Non-secret provider configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_channel: Option<String>,
    #[serde(default = "yes")]
    pub enable_slash_commands: bool,
    #[serde(default = "yes")]
    pub enable_notifications: bool,
    /// `SEV-1` … `SEV-4` and `default` → channel id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notification_channels: BTreeMap<String, String>,
    /// `sla_breach`, `management` → channel id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub escalation_channels: BTreeMap<String, String>,
    /// Services offered in menus.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Severity of a declare that does not name one.
    #[serde(default = "ProviderConfig::default_severity")]
    pub default_severity: Severity,
    #[serde(default)]
    pub rbac: AccessPolicy,
    /// Message text per event type and platform (`{{.Title}}` syntax); checked when configured.
    #[serde(default, skip_serializing_if = "TemplateSet::is_empty")]
    pub templates: TemplateSet,
    /// Archive an incident's war room when the incident is closed.
    #[serde(default)]
    pub archive_war_room_on_close: bool,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            default_channel: None,
            enable_slash_commands: true,
            enable_notifications: true,
            notification_channels: BTreeMap::new(),
            escalation_channels: BTreeMap::new(),
            services: Vec::new(),
            default_severity: Self::default_severity(),
            rbac: AccessPolicy::default(),
            templates: TemplateSet::default(),
            archive_war_room_on_close: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the configuration must be a JSON object")]
    NotAnObject,
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("unknown configuration key `{key}` (known keys: {known})")]
    UnknownKey { key: String, known: String },
    #[error("`{key}` must be a string")]
    SecretNotString { key: String },
    #[error("notification_channels key `{0}` is not SEV-1…SEV-4 or default")]
    BadRoutingKey(String),
    #[error("escalation_channels key `{0}` is not sla_breach or management")]
    BadEscalationKey(String),
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
}

impl ProviderConfig {
    fn default_severity() -> Severity {
        Severity::Sev3
    }

    /// Splits a user-supplied JSON object into non-secret configuration and secrets, and
    /// checks the configuration.
    pub fn split(value: Value) -> Result<(Map<String, Value>, Secrets), ConfigError> {
        let Value::Object(mut map) = value else {
            return Err(ConfigError::NotAnObject);
        };
        let mut secrets = BTreeMap::new();
        for key in SECRET_KEYS {
            if let Some(v) = map.remove(*key) {
                match v {
                    Value::String(s) => {
                        secrets.insert((*key).to_string(), s);
                    }
                    Value::Null => {}
                    _ => {
                        return Err(ConfigError::SecretNotString {
                            key: (*key).to_string(),
                        });
                    }
                }
            }
        }
        Ok((map, secrets))
    }

    /// Parses and checks non-secret configuration.
    pub fn from_map(map: Map<String, Value>) -> Result<Self, ConfigError> {
        if let Some(key) = map.keys().find(|k| !CONFIG_KEYS.contains(&k.as_str())) {
            return Err(ConfigError::UnknownKey {
                key: key.clone(),
                known: CONFIG_KEYS.join(", "),
            });
        }
        let config: ProviderConfig =
            serde_json::from_value(Value::Object(map)).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        for key in config.notification_channels.keys() {
            if key != "default" && Severity::parse(key).map(|s| s.as_str() != key).unwrap_or(true) {
                return Err(ConfigError::BadRoutingKey(key.clone()));
            }
        }
        for key in config.escalation_channels.keys() {
            if key != "sla_breach" && key != "management" {
                return Err(ConfigError::BadEscalationKey(key.clone()));
            }
        }
        config.templates.validate().map_err(ConfigError::Template)?;
        Ok(config)
    }

    /// How many distinct channels the configuration names (for `im chatops list`).
    pub fn channel_count(&self) -> usize {
        let mut all: Vec<&String> = self
            .notification_channels
            .values()
            .chain(self.escalation_channels.values())
            .chain(self.default_channel.iter())
            .collect();
        all.sort();
        all.dedup();
        all.len()
    }
}

/// A stored provider: never holds a token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub name: String,
    pub platform: Platform,
    pub status: ProviderStatus,
    pub config: ProviderConfig,
    /// Secrets Manager secret (name or ARN) with this provider's tokens.
    pub secret_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Provider names appear in URLs and secret names.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a provider name: use 1-64 lowercase letters, digits, - or _, starting with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_split_out_of_the_configuration() {
        let (config, secrets) = ProviderConfig::split(json!({
            "bot_token": "xoxb-1",
            "signing_secret": "abc",
            "default_channel": "C1",
            "notification_channels": {"SEV-1": "C_CRIT", "default": "C_ALL"}
        }))
        .expect("splits");
        assert_eq!(secrets.get("bot_token").map(String::as_str), Some("xoxb-1"));
        assert!(!config.contains_key("bot_token") && !config.contains_key("signing_secret"));
        let parsed = ProviderConfig::from_map(config).expect("valid");
        assert_eq!(parsed.default_channel.as_deref(), Some("C1"));
        assert!(parsed.enable_notifications && parsed.enable_slash_commands);
        assert_eq!(parsed.channel_count(), 3);
    }

    #[test]
    fn typos_and_bad_keys_are_refused_with_the_key_named() {
        let err =
            |v: Value| ProviderConfig::from_map(ProviderConfig::split(v).expect("object").0).expect_err("refused");
        assert!(
            err(json!({"notifcation_channels": {}}))
                .to_string()
                .contains("notifcation_channels")
        );
        assert!(
            err(json!({"notification_channels": {"SEV-9": "C"}}))
                .to_string()
                .contains("SEV-9")
        );
        assert!(
            err(json!({"notification_channels": {"sev1": "C"}}))
                .to_string()
                .contains("sev1")
        );
        assert!(
            err(json!({"escalation_channels": {"ceo": "C"}}))
                .to_string()
                .contains("ceo")
        );
        assert!(ProviderConfig::split(json!({"bot_token": 5})).is_err());
        assert!(ProviderConfig::split(json!([1])).is_err());
    }

    #[test]
    fn templates_are_checked_when_configured() {
        let bad = json!({"templates": {"incident_created": {"slack": "🚨 {{.Title}}\n{{.Sevrity}}"}}});
        let err = ProviderConfig::from_map(ProviderConfig::split(bad).expect("object").0).expect_err("refused");
        assert!(err.to_string().contains("line 2: unknown field `.Sevrity`"), "{err}");
        let good =
            json!({"templates": {"incident_created": {"slack": "🚨 *{{.Title}}*"}}, "archive_war_room_on_close": true});
        let config = ProviderConfig::from_map(ProviderConfig::split(good).expect("object").0).expect("valid");
        assert!(config.archive_war_room_on_close);
        assert!(
            config
                .templates
                .get(crate::EventKind::IncidentCreated, "slack")
                .is_some()
        );
    }

    #[test]
    fn provider_names() {
        assert!(validate_name("company-slack").is_ok());
        for bad in ["", "Company", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
