//! A provider is one connected chat workspace (a Slack workspace, a Teams tenant …).
//! Its record holds non-secret configuration; tokens live in a secret named by the record.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::incident::Severity;
use crate::rbac::AccessPolicy;
use crate::template::TemplateSet;

/// A chat platform, by name (`slack`, `discord` …). Open: a platform adapter registered at run
/// time (through [`PlatformSpec`]) is as much a platform as the built-in four.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Platform(Cow<'static, str>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a platform (slack, teams, discord, mattermost)")]
pub struct UnknownPlatform(pub String);

impl Platform {
    pub const SLACK: Platform = Platform(Cow::Borrowed("slack"));
    pub const TEAMS: Platform = Platform(Cow::Borrowed("teams"));
    pub const DISCORD: Platform = Platform(Cow::Borrowed("discord"));
    pub const MATTERMOST: Platform = Platform(Cow::Borrowed("mattermost"));

    /// A platform named by an adapter (lowercase letters, digits and `-`).
    pub fn named(name: &str) -> Result<Self, UnknownPlatform> {
        let ok = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(Cow::Owned(name.to_string())))
        } else {
            Err(UnknownPlatform(name.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// One of the built-in platforms, by name or alias.
    pub fn parse(s: &str) -> Result<Self, UnknownPlatform> {
        match s.trim().to_ascii_lowercase().as_str() {
            "slack" => Ok(Self::SLACK),
            "teams" | "msteams" | "microsoft-teams" => Ok(Self::TEAMS),
            "discord" => Ok(Self::DISCORD),
            "mattermost" => Ok(Self::MATTERMOST),
            _ => Err(UnknownPlatform(s.to_string())),
        }
    }

    /// The built-in platform's configuration table, if it is one.
    pub fn spec(&self) -> Option<&'static PlatformSpec> {
        SPECS.iter().find(|s| s.name == self.as_str())
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which inbound field a configuration key binds a provider to (tenant binding: a validly signed
/// request from another workspace, server or app is refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantField {
    /// Slack team, Discord guild, Teams tenant, Mattermost team.
    Workspace,
    /// Slack app, Discord application, Teams bot app id.
    App,
}

/// A platform's own check of its configuration keys (`Err` says what is wrong).
pub type ConfigCheck = fn(&ProviderConfig) -> Result<(), String>;

/// A platform's configuration keys and secret keys: one table per platform, used to check
/// configurations, split secrets out of them, and bind inbound requests to their provider.
#[derive(Debug)]
pub struct PlatformSpec {
    pub name: &'static str,
    /// How people write it: `Slack`, `Microsoft Teams`.
    pub title: &'static str,
    /// Non-secret keys of this platform, with what they mean.
    pub config_keys: &'static [(&'static str, &'static str)],
    /// Keys stored only in the provider's secret, with what they mean.
    pub secret_keys: &'static [(&'static str, &'static str)],
    /// Secrets (or config keys) a provider must have to verify inbound requests.
    pub inbound_keys: &'static [&'static str],
    /// Configuration keys that bind inbound requests to the provider, when set.
    pub tenant_keys: &'static [(&'static str, TenantField)],
    /// Further checks of the platform's own keys, at configuration time.
    pub check: Option<ConfigCheck>,
    /// Whether the platform tells a bot people's e-mail addresses (`rbac.email_domains`).
    pub shares_email: bool,
    /// How many controls a card carries there (the rest waits behind "More…").
    pub room: crate::action::Room,
}

impl PlatformSpec {
    pub fn is_secret(&self, key: &str) -> bool {
        self.secret_keys.iter().any(|(k, _)| *k == key)
    }

    pub fn is_config_key(&self, key: &str) -> bool {
        self.config_keys.iter().any(|(k, _)| *k == key)
    }
}

/// The built-in platforms' tables (shown in the README's "Provider configuration").
pub const SPECS: &[PlatformSpec] = &[
    PlatformSpec {
        name: "slack",
        title: "Slack",
        config_keys: &[
            (
                "team_id",
                "the workspace id (T…); learned through auth.test at add when not given",
            ),
            (
                "api_app_id",
                "the Slack app's id (A…); learned through auth.test at add when not given",
            ),
        ],
        secret_keys: &[
            ("bot_token", "Bot User OAuth Token (xoxb-…)"),
            ("signing_secret", "the app's Signing Secret (Basic Information)"),
        ],
        inbound_keys: &["signing_secret"],
        tenant_keys: &[("team_id", TenantField::Workspace), ("api_app_id", TenantField::App)],
        check: None,
        shares_email: true,
        room: crate::action::AMPLE,
    },
    PlatformSpec {
        name: "discord",
        title: "Discord",
        config_keys: &[
            ("application_id", "the application's id"),
            ("guild_id", "the server (guild) the bot serves"),
            ("public_key", "the application's public key (64 hex characters)"),
        ],
        secret_keys: &[("bot_token", "the bot's token")],
        inbound_keys: &["public_key"],
        tenant_keys: &[
            ("guild_id", TenantField::Workspace),
            ("application_id", TenantField::App),
        ],
        check: Some(check_discord),
        shares_email: false,
        // Five action rows: one of buttons (five at most), four selection menus.
        room: crate::action::Room {
            buttons: 5,
            menus: 4,
            options: 25,
        },
    },
    PlatformSpec {
        name: "teams",
        title: "Microsoft Teams",
        config_keys: &[
            ("app_id", "the bot's Microsoft App ID"),
            ("tenant_id", "the Microsoft 365 tenant the bot serves"),
        ],
        secret_keys: &[("app_password", "the bot's client secret")],
        inbound_keys: &["app_id"],
        tenant_keys: &[("tenant_id", TenantField::Workspace), ("app_id", TenantField::App)],
        check: None,
        shares_email: true,
        room: crate::action::AMPLE,
    },
    PlatformSpec {
        name: "mattermost",
        title: "Mattermost",
        config_keys: &[
            ("server_url", "the Mattermost server, https://chat.example.com"),
            ("team_id", "the team the commands come from"),
        ],
        secret_keys: &[
            ("bot_token", "a bot account's access token"),
            ("command_token", "the slash command's token"),
            (
                "action_secret",
                "the secret our buttons carry (generated when not given)",
            ),
            ("webhook_url", "an incoming webhook URL (notifications without a bot)"),
        ],
        inbound_keys: &["command_token"],
        tenant_keys: &[("team_id", TenantField::Workspace)],
        check: None,
        shares_email: true,
        room: crate::action::AMPLE,
    },
];

/// Discord: the public key is exactly 64 hex characters; ids are snowflakes.
fn check_discord(config: &ProviderConfig) -> Result<(), String> {
    if let Some(key) = config.platform_key("public_key")
        && (key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(format!(
            "public_key must be exactly 64 hex characters (the application's Public Key); got {} characters",
            key.chars().count()
        ));
    }
    for key in ["application_id", "guild_id"] {
        if let Some(id) = config.platform_key(key)
            && (id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("{key} must be a Discord id (digits), got `{id}`"));
        }
    }
    Ok(())
}

/// The built-in table of `platform`.
pub fn spec(platform: &str) -> Option<&'static PlatformSpec> {
    SPECS.iter().find(|s| s.name == platform)
}

/// The key/value pairs of one provider's secret. `Debug` shows the keys only.
#[derive(Clone, Default)]
pub struct ProviderSecrets {
    values: BTreeMap<String, SecretString>,
}

impl fmt::Debug for ProviderSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSecrets")
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ProviderSecrets {
    /// From the secret's JSON object of strings.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let map: BTreeMap<String, String> =
            serde_json::from_str(json).map_err(|_| "a provider secret must be a JSON object of strings".to_string())?;
        Ok(Self::from_map(map))
    }

    pub fn from_map(map: BTreeMap<String, String>) -> Self {
        Self {
            values: map.into_iter().map(|(k, v)| (k, SecretString::from(v))).collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.values.get(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
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

/// Keys that are secrets on some platform: accepted in `--config` for convenience, stored only in
/// Secrets Manager (whatever the provider's platform, so a token never lands in the table).
pub const SECRET_KEYS: &[&str] = &[
    "bot_token",
    "signing_secret",
    "app_password",
    "command_token",
    "action_secret",
    "webhook_url",
    // Signs requests to `rbac.policy_url`.
    "policy_secret",
];

fn yes() -> bool {
    true
}

/// An outbound URL a configuration may name: `https://`, or this machine (local receivers).
pub fn https_or_local(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost")
}

/// Keys [`ProviderConfig`] understands on every platform; each platform adds its own
/// ([`PlatformSpec::config_keys`]). Input with any other key is refused (a typo is caught when
/// the provider is configured, not when a notification goes nowhere); stored records are read
/// leniently so a key added by a newer version never makes a provider unreadable.
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
    "timezone",
    "service_channels",
    "workflows",
    "actions",
    "redact_patterns",
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
    /// Service → channel: an incident of that service also goes there, beside its severity's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_channels: BTreeMap<String, String>,
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
    /// IANA time zone for "today" and "this week" (weeks start on Monday); UTC when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Custom commands that start an external workflow ([`crate::workflow`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub workflows: crate::workflow::Workflows,
    /// The provider's own buttons and menus on incident cards ([`crate::custom`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<crate::custom::CustomAction>,
    /// Regular expressions redacted from what people type, beside the built-in ones
    /// ([`crate::redact`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact_patterns: Vec<String>,
    /// The platform's own keys (`team_id`, `guild_id` …), see [`PlatformSpec::config_keys`].
    #[serde(flatten)]
    pub platform: BTreeMap<String, Value>,
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
            service_channels: BTreeMap::new(),
            default_severity: Self::default_severity(),
            rbac: AccessPolicy::default(),
            templates: TemplateSet::default(),
            archive_war_room_on_close: false,
            timezone: None,
            workflows: BTreeMap::new(),
            actions: Vec::new(),
            redact_patterns: Vec::new(),
            platform: BTreeMap::new(),
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
        let mut secrets = crate::workflow::take_secrets(&mut map).map_err(ConfigError::Invalid)?;
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

    /// [`Self::split`], plus the platform's own secret keys.
    pub fn split_for(value: Value, spec: &PlatformSpec) -> Result<(Map<String, Value>, Secrets), ConfigError> {
        let (mut map, mut secrets) = Self::split(value)?;
        for (key, _) in spec.secret_keys {
            match map.remove(*key) {
                Some(Value::String(s)) => {
                    secrets.insert((*key).to_string(), s);
                }
                Some(Value::Null) | None => {}
                Some(_) => {
                    return Err(ConfigError::SecretNotString {
                        key: (*key).to_string(),
                    });
                }
            }
        }
        Ok((map, secrets))
    }

    /// Parses and checks non-secret configuration with the keys common to every platform.
    pub fn from_map(map: Map<String, Value>) -> Result<Self, ConfigError> {
        Self::for_platform(map, None)
    }

    /// Parses and checks non-secret configuration for a platform (its own keys allowed).
    pub fn for_platform(map: Map<String, Value>, spec: Option<&PlatformSpec>) -> Result<Self, ConfigError> {
        let own = |k: &str| spec.is_some_and(|s| s.is_config_key(k));
        if let Some(key) = map.keys().find(|k| !CONFIG_KEYS.contains(&k.as_str()) && !own(k)) {
            let mut known: Vec<&str> = CONFIG_KEYS.to_vec();
            known.extend(spec.iter().flat_map(|s| s.config_keys.iter().map(|(k, _)| *k)));
            return Err(ConfigError::UnknownKey {
                key: key.clone(),
                known: known.join(", "),
            });
        }
        if let Some((key, _)) = map.iter().find(|(k, v)| own(k) && !v.is_string() && !v.is_null()) {
            return Err(ConfigError::Invalid(format!("`{key}` must be a string")));
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
        if let Some(bad) = config
            .service_channels
            .keys()
            .find(|s| !crate::command::valid_service(s))
        {
            return Err(ConfigError::Invalid(format!(
                "service_channels key `{bad}` is not a service name (letters, digits, spaces and - _ . /)"
            )));
        }
        config.templates.validate().map_err(ConfigError::Template)?;
        if let Some(tz) = &config.timezone
            && jiff::tz::TimeZone::get(tz).is_err()
        {
            return Err(ConfigError::Invalid(format!(
                "timezone `{tz}` is not a known time zone (use an IANA name such as Europe/Berlin)"
            )));
        }
        if let Some(problem) = config
            .rbac
            .problems(spec.is_none_or(|s| s.shares_email))
            .into_iter()
            .chain(crate::workflow::problems(&config.workflows))
            .chain(crate::custom::problems(&config.actions))
            .next()
        {
            return Err(ConfigError::Invalid(problem));
        }
        crate::redact::check_patterns(&config.redact_patterns).map_err(ConfigError::Invalid)?;
        if let Some(check) = spec.and_then(|s| s.check) {
            check(&config).map_err(ConfigError::Invalid)?;
        }
        Ok(config)
    }

    /// A platform key's value (`team_id` …), if set.
    pub fn platform_key(&self, key: &str) -> Option<&str> {
        self.platform.get(key).and_then(Value::as_str).filter(|v| !v.is_empty())
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
    fn time_zones_and_service_channels_are_checked_when_configured() {
        let read = |v: Value| ProviderConfig::from_map(ProviderConfig::split(v).expect("object").0);
        let config =
            read(json!({"timezone": "Europe/Berlin", "service_channels": {"payments": "C_PAY"}})).expect("valid");
        assert_eq!(config.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(
            config.service_channels.get("payments").map(String::as_str),
            Some("C_PAY")
        );
        let err = read(json!({"timezone": "Mars/Base"})).expect_err("refused");
        assert!(
            err.to_string()
                .contains("timezone `Mars/Base` is not a known time zone"),
            "{err}"
        );
        let err = read(json!({"service_channels": {"pay<ments>": "C"}})).expect_err("refused");
        assert!(err.to_string().contains("`pay<ments>` is not a service name"), "{err}");
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
    fn platform_keys_belong_to_their_platform() {
        let map = |v: Value| ProviderConfig::split(v).expect("object").0;
        let slack = spec("slack");
        let config =
            ProviderConfig::for_platform(map(json!({"team_id": "T1", "default_channel": "C1"})), slack).expect("valid");
        assert_eq!(config.platform_key("team_id"), Some("T1"));
        assert_eq!(config.platform_key("api_app_id"), None);
        let err = ProviderConfig::for_platform(map(json!({"guild_id": "1"})), slack).expect_err("not slack's");
        assert!(
            err.to_string().contains("`guild_id`") && err.to_string().contains("team_id"),
            "{err}"
        );
        assert!(
            ProviderConfig::from_map(map(json!({"team_id": "T1"}))).is_err(),
            "no platform, no platform keys"
        );
        assert!(ProviderConfig::for_platform(map(json!({"team_id": 5})), slack).is_err());
        let back: ProviderConfig =
            serde_json::from_value(serde_json::to_value(&config).expect("json")).expect("stored records read back");
        assert_eq!(back, config);
        assert_eq!(Platform::parse("MSTeams"), Ok(Platform::TEAMS));
        assert_eq!(Platform::SLACK.spec().map(|s| s.title), Some("Slack"));
        assert!(Platform::named("echo").is_ok_and(|p| p.spec().is_none()));
        assert!(Platform::named("Echo!").is_err());
        let discord = spec("discord");
        let key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        assert!(ProviderConfig::for_platform(map(json!({"public_key": key, "guild_id": "700"})), discord).is_ok());
        let short = ProviderConfig::for_platform(map(json!({"public_key": &key[..63]})), discord).expect_err("63");
        assert!(short.to_string().contains("exactly 64 hex characters"), "{short}");
        assert!(ProviderConfig::for_platform(map(json!({"public_key": "g".repeat(64)})), discord).is_err());
        assert!(ProviderConfig::for_platform(map(json!({"guild_id": "not-a-snowflake"})), discord).is_err());
        let stored: Platform = serde_json::from_value(json!("discord")).expect("platform");
        assert_eq!(stored, Platform::DISCORD);
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let secrets = ProviderSecrets::from_json(r#"{"bot_token": "xoxb-secret-value"}"#).expect("json");
        let shown = format!("{secrets:?}");
        assert!(
            shown.contains("bot_token") && !shown.contains("xoxb-secret-value"),
            "{shown}"
        );
        assert!(ProviderSecrets::from_json("[1]").is_err());
    }

    #[test]
    fn provider_names() {
        assert!(validate_name("company-slack").is_ok());
        for bad in ["", "Company", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
