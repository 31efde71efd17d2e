//! Who may run which command, per provider (`rbac` in the provider config).
//!
//! ```json
//! {"rbac": {
//!   "default_role": "viewer",
//!   "users": {"U123": "commander", "U456": {"role": "responder", "person": "alice"},
//!             "B0DEPLOY": {"role": "responder", "automation": "deploy-bot"}},
//!   "commands": {"close": "commander", "downgrade": "commander"},
//!   "channels": {"close": ["C_INCIDENTS"]},
//!   "allow_guests": false, "email_domains": ["example.com"], "declare_limit": 5,
//!   "policy_url": "https://policy.example.com/v1/data/chatops/allow"
//! }}
//! ```
//! Reading commands need `viewer`, changing commands `responder`, unless `commands` says
//! otherwise; `downgrade` is the role an escalation to a *lower* severity also needs. Whether a
//! person really holds a role is decided by [`crate::access::Gate`] (identity, policy endpoint,
//! origin provider); this module is the configuration and the pure rules.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::command::Verb;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Responder,
    Commander,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Responder, Role::Commander, Role::Admin];
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Commander => "commander",
            Role::Admin => "admin",
        })
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.to_string().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("`{s}` is not a role (viewer, responder, commander, admin)"))
    }
}

/// One mapped chat identity: its role, the person behind it (the same person on several
/// providers), or the automation it is (a service account: a bot user or workflow).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "MemberRepr", into = "MemberRepr")]
pub struct Member {
    pub role: Role,
    pub person: Option<String>,
    pub automation: Option<String>,
}

impl Member {
    pub fn role(role: Role) -> Self {
        Self {
            role,
            person: None,
            automation: None,
        }
    }
}

/// `"commander"` or `{"role": "commander", "person": "alice"}`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum MemberRepr {
    Role(Role),
    Full {
        role: Role,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        person: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        automation: Option<String>,
    },
}

impl From<MemberRepr> for Member {
    fn from(r: MemberRepr) -> Self {
        match r {
            MemberRepr::Role(role) => Member::role(role),
            MemberRepr::Full {
                role,
                person,
                automation,
            } => Member {
                role,
                person,
                automation,
            },
        }
    }
}

impl From<Member> for MemberRepr {
    fn from(m: Member) -> Self {
        if m.person.is_none() && m.automation.is_none() {
            MemberRepr::Role(m.role)
        } else {
            MemberRepr::Full {
                role: m.role,
                person: m.person,
                automation: m.automation,
            }
        }
    }
}

/// Declares one person may make per [`DECLARE_WINDOW_SECONDS`] unless `declare_limit` says.
pub const DEFAULT_DECLARE_LIMIT: u32 = 5;
pub const DECLARE_WINDOW_SECONDS: i64 = 600;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicy {
    /// The role of a person with no mapping. Records written before roles were configurable
    /// read as `responder` (what they behaved as); `im chatops add` writes `viewer`.
    #[serde(default = "AccessPolicy::default_role")]
    pub default_role: Role,
    /// Platform user id → role (and person or automation).
    #[serde(default)]
    pub users: BTreeMap<String, Member>,
    /// Command name (or `custom:<name>`, or `downgrade`) → the least role that may run it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub commands: BTreeMap<String, Role>,
    /// Command name → the only channels it may run in (sensitive commands).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<String, Vec<String>>,
    /// Whether guest accounts (Slack single- and multi-channel guests) may hold a role above
    /// viewer.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_guests: bool,
    /// Only people whose verified e-mail address is in one of these domains hold a role above
    /// viewer (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_domains: Vec<String>,
    /// Declares per person per 10 minutes (0: no limit).
    #[serde(default = "AccessPolicy::default_declare_limit")]
    pub declare_limit: u32,
    /// An external policy endpoint deciding roles (`{"input": …}` → `{"result": {"role": …}}`),
    /// the mapping above as its fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_url: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Default for AccessPolicy {
    fn default() -> Self {
        Self {
            default_role: Self::default_role(),
            users: BTreeMap::new(),
            commands: BTreeMap::new(),
            channels: BTreeMap::new(),
            allow_guests: false,
            email_domains: Vec::new(),
            declare_limit: DEFAULT_DECLARE_LIMIT,
            policy_url: None,
        }
    }
}

/// Why an action was refused; the text is what the person is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("You need the {needed} role to run `{command}` (you are {have}). Ask an admin of this integration.")]
    Role { command: String, needed: Role, have: Role },
    #[error("`{command}` can only be run in {}.", channel_list(.allowed))]
    Channel { command: String, allowed: Vec<String> },
    #[error(
        "{origin_incident} was declared through {origin}, whose policy needs the {needed} role to {command} it (you are {have} there)."
    )]
    Origin {
        command: String,
        origin_incident: String,
        origin: String,
        needed: Role,
        have: Role,
    },
    #[error("Your {platform} account could not be verified for `{command}`: {reason}.")]
    Identity {
        command: String,
        platform: String,
        reason: String,
    },
    #[error(
        "You have declared {limit} incidents in the last 10 minutes, the most this workspace allows; try again in a few minutes or ask a colleague."
    )]
    Limit { limit: u32 },
}

fn channel_list(channels: &[String]) -> String {
    let named: Vec<String> = channels.iter().map(|c| format!("#{c}")).collect();
    match named.len() {
        1 => named[0].clone(),
        _ => format!("one of {}", named.join(", ")),
    }
}

impl Denied {
    /// The command that was refused.
    pub fn command(&self) -> &str {
        match self {
            Denied::Role { command, .. }
            | Denied::Channel { command, .. }
            | Denied::Origin { command, .. }
            | Denied::Identity { command, .. } => command,
            Denied::Limit { .. } => "declare",
        }
    }

    /// What the person is told, channels as the platform links them.
    pub fn text(&self) -> crate::message::Text {
        use crate::message::Text;
        match self {
            Denied::Channel { command, allowed } => {
                let mut text = Text::new().code(command.clone()).plain(" can only be run in ");
                if allowed.len() > 1 {
                    text = text.plain("one of ");
                }
                for (i, channel) in allowed.iter().enumerate() {
                    if i > 0 {
                        text = text.plain(", ");
                    }
                    text = text.channel(channel.clone(), None);
                }
                text.plain(".")
            }
            other => Text::new().plain(other.to_string()),
        }
    }

    /// The role that would have been enough, where a role is what was missing.
    pub fn needed(&self) -> Option<Role> {
        match self {
            Denied::Role { needed, .. } | Denied::Origin { needed, .. } => Some(*needed),
            _ => None,
        }
    }
}

impl AccessPolicy {
    fn default_role() -> Role {
        Role::Responder
    }

    fn default_declare_limit() -> u32 {
        DEFAULT_DECLARE_LIMIT
    }

    /// A new provider's policy: unmapped people are viewers until someone maps them.
    pub fn for_new_provider() -> Self {
        Self {
            default_role: Role::Viewer,
            ..Self::default()
        }
    }

    pub fn member(&self, user_id: &str) -> Option<&Member> {
        self.users.get(user_id)
    }

    /// The role the local mapping gives.
    pub fn role_of(&self, user_id: &str) -> Role {
        self.users.get(user_id).map_or(self.default_role, |m| m.role)
    }

    /// The role this policy gives a person known elsewhere as `person`: their mapping here,
    /// else the default role.
    pub fn role_of_person(&self, person: Option<&str>) -> Role {
        person
            .and_then(|p| {
                self.users
                    .values()
                    .filter(|m| m.person.as_deref() == Some(p))
                    .map(|m| m.role)
                    .max()
            })
            .unwrap_or(self.default_role)
    }

    /// The least role `command` needs (`downgrade`: an escalation to a lower severity, which
    /// needs both what `escalate` and what `downgrade` need).
    pub fn needed(&self, command: &str, changes: bool) -> Role {
        let base = |name: &str, changes: bool| {
            self.commands
                .get(name)
                .copied()
                .unwrap_or(if changes { Role::Responder } else { Role::Viewer })
        };
        if command == "downgrade" {
            base("escalate", true).max(base("downgrade", true))
        } else {
            base(command, changes)
        }
    }

    /// Whether `command` may run in `channel` (`channels` lists the only ones for it).
    pub fn channel_allows(&self, command: &str, channel: Option<&str>) -> Result<(), Denied> {
        let lookup = if command == "downgrade" { "escalate" } else { command };
        for name in [command, lookup] {
            if let Some(allowed) = self.channels.get(name)
                && !channel.is_some_and(|c| allowed.iter().any(|a| a == c))
            {
                return Err(Denied::Channel {
                    command: name.to_string(),
                    allowed: allowed.clone(),
                });
            }
        }
        Ok(())
    }

    /// The local rules alone (mapping, commands, channels): what a person with `have` may do.
    pub fn check_role(&self, have: Role, command: &str, changes: bool) -> Result<(), Denied> {
        let needed = self.needed(command, changes);
        if have >= needed {
            Ok(())
        } else {
            Err(Denied::Role {
                command: command.to_string(),
                needed,
                have,
            })
        }
    }

    /// `command` is a verb name or `custom:<name>`; the local mapping's role.
    pub fn check(&self, user_id: &str, command: &str, changes: bool) -> Result<(), Denied> {
        self.check_role(self.role_of(user_id), command, changes)
    }

    pub fn check_verb(&self, user_id: &str, verb: Verb) -> Result<(), Denied> {
        self.check(user_id, verb.name(), verb.is_change())
    }

    /// Problems a person configuring this policy should hear about (unknown command names,
    /// e-mail domains on a platform that shares no e-mail addresses …).
    pub fn problems(&self, shares_email: bool) -> Vec<String> {
        let mut out = Vec::new();
        for name in self.commands.keys().chain(self.channels.keys()) {
            let known = Verb::from_word(name).is_some()
                || name == "downgrade"
                || ["service", "war_room", "transition"].contains(&name.as_str())
                || name.starts_with("custom:");
            if !known {
                out.push(format!(
                    "rbac: `{name}` is not a command (a built-in command, `downgrade`, `service`, `war_room`, `transition` or `custom:<name>`)"
                ));
            }
        }
        if let Some((name, _)) = self.channels.iter().find(|(_, list)| list.is_empty()) {
            out.push(format!("rbac.channels.{name}: list at least one channel"));
        }
        if !self.email_domains.is_empty() && !shares_email {
            out.push("rbac.email_domains: this platform does not share e-mail addresses with bots".into());
        }
        if let Some(url) = &self.policy_url
            && !crate::provider::https_or_local(url)
        {
            out.push(format!("rbac.policy_url `{url}` must be an https:// URL"));
        }
        for (user, m) in &self.users {
            if m.person.is_some() && m.automation.is_some() {
                out.push(format!("rbac.users.{user}: a person or an automation, not both"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_let_everyone_respond_and_overrides_restrict() {
        let open = AccessPolicy::default();
        assert!(open.check_verb("U1", Verb::Close).is_ok());

        let policy: AccessPolicy = serde_json::from_value(serde_json::json!({
            "default_role": "viewer",
            "users": {"U_LEAD": "commander", "U_ONCALL": "responder"},
            "commands": {"close": "commander"}
        }))
        .expect("policy parses");
        assert!(policy.check_verb("U_RANDOM", Verb::List).is_ok());
        let denied = policy.check_verb("U_RANDOM", Verb::Ack).expect_err("viewer cannot ack");
        assert_eq!(
            denied.to_string(),
            "You need the responder role to run `ack` (you are viewer). Ask an admin of this integration."
        );
        assert!(policy.check_verb("U_ONCALL", Verb::Ack).is_ok());
        assert!(policy.check_verb("U_ONCALL", Verb::Close).is_err());
        assert!(policy.check_verb("U_LEAD", Verb::Close).is_ok());
    }

    #[test]
    fn unknown_roles_and_keys_are_refused() {
        assert!(serde_json::from_value::<AccessPolicy>(serde_json::json!({"default_role": "boss"})).is_err());
        assert!(serde_json::from_value::<AccessPolicy>(serde_json::json!({"user": {}})).is_err());
    }
}
