//! Who may run which command, per provider (`rbac` in the provider config).
//!
//! ```json
//! {"rbac": {"default_role": "responder", "users": {"U123": "commander"}, "commands": {"close": "commander"}}}
//! ```
//! Reading commands need `viewer`, changing commands `responder`, unless `commands` says otherwise.

use std::collections::BTreeMap;
use std::fmt;

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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicy {
    #[serde(default = "AccessPolicy::default_role")]
    pub default_role: Role,
    /// Platform user id → role.
    #[serde(default)]
    pub users: BTreeMap<String, Role>,
    /// Command name (or `custom:<name>`) → the least role that may run it.
    #[serde(default)]
    pub commands: BTreeMap<String, Role>,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        Self {
            default_role: Self::default_role(),
            users: BTreeMap::new(),
            commands: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("You need the {needed} role to run `{command}` (you are {have}). Ask an admin of this integration.")]
pub struct Denied {
    pub command: String,
    pub needed: Role,
    pub have: Role,
}

impl AccessPolicy {
    fn default_role() -> Role {
        Role::Responder
    }

    pub fn role_of(&self, user_id: &str) -> Role {
        self.users.get(user_id).copied().unwrap_or(self.default_role)
    }

    /// `command` is a verb name or `custom:<name>`.
    pub fn check(&self, user_id: &str, command: &str, changes: bool) -> Result<(), Denied> {
        let needed =
            self.commands
                .get(command)
                .copied()
                .unwrap_or(if changes { Role::Responder } else { Role::Viewer });
        let have = self.role_of(user_id);
        if have >= needed {
            Ok(())
        } else {
            Err(Denied {
                command: command.to_string(),
                needed,
                have,
            })
        }
    }

    pub fn check_verb(&self, user_id: &str, verb: Verb) -> Result<(), Denied> {
        self.check(user_id, verb.name(), verb.is_change())
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
