//! Who may do what, for operators (`im rbac …` and `/api/v1/rbac/…`): mappings of chat
//! identities (`<provider>:<user-id>`) to roles, people and automations, default roles, a policy
//! file kept in a repository, and "may this person do that here?" answered by the same gate the
//! webhooks use. Every change is written to the day's audit partition.

use std::collections::BTreeMap;
use std::sync::Arc;

use im_aws::{DynamoStore, ProviderDirectory};
use im_core::access::{Ask, Gate};
use im_core::command::Verb;
use im_core::invocation::Actor;
use im_core::ports::IncidentStore;
use im_core::provider::Provider;
use im_core::rbac::{AccessPolicy, Member, Role};
use im_core::timeline::TimelineEntry;
use im_core::{IncidentId, UserRef};
use serde_json::{Value, json};

use crate::ops::{Failure, Sender};

/// `acme:U123` → (`acme`, `U123`).
pub fn identity(text: &str) -> Result<(&str, &str), Failure> {
    match text.split_once(':') {
        Some((provider, user)) if !provider.trim().is_empty() && !user.trim().is_empty() => {
            Ok((provider.trim(), user.trim()))
        }
        _ => Err(Failure(format!(
            "`{text}` is not a chat identity: write <provider>:<user-id>, e.g. company-slack:U0123ABCD"
        ))),
    }
}

/// Whether a policy name changes anything (its default role is responder rather than viewer).
fn changes(command: &str) -> bool {
    match Verb::from_word(command) {
        Some(verb) => verb.is_change(),
        None => command != "details",
    }
}

/// One row of `im rbac list`.
fn row(provider: &Provider, user: &str, member: &Member) -> Value {
    json!({
        "identity": format!("{}:{user}", provider.name),
        "provider": provider.name,
        "user": user,
        "role": member.role,
        "person": member.person,
        "automation": member.automation,
    })
}

impl Sender {
    fn store(&self) -> DynamoStore {
        DynamoStore::new(self.clients.clone())
    }

    /// Changes a provider's policy and records who changed what.
    async fn edit(
        &self,
        provider: &str,
        what: String,
        edit: impl FnOnce(&mut AccessPolicy) -> Result<(), String>,
    ) -> Result<Provider, Failure> {
        let updated = self
            .directory
            .set_rbac(provider, edit)
            .await
            .map_err(|e| Failure(e.to_string()))?;
        self.audit("chatops.rbac_changed", provider, json!({ "change": what }))
            .await;
        Ok(updated)
    }

    /// An operator's action in the day's audit partition (a failure to record it is reported
    /// on stderr, never silently dropped, but does not undo the action).
    pub(crate) async fn audit(&self, event_type: &str, provider: &str, data: Value) {
        let entry = TimelineEntry::record(
            event_type,
            self.clock.now(),
            format!("operator:{}", crate::ops::operator()),
            format!("cli:{provider}"),
            data,
        );
        if let Err(e) = self.store().audit(None, &entry).await {
            eprintln!("warning: the audit entry could not be written: {e}");
        }
    }

    /// `im rbac set <provider>:<user> <role> [--person P | --automation A]`.
    pub async fn rbac_set(
        &self,
        who: &str,
        role: Role,
        person: Option<String>,
        automation: Option<String>,
    ) -> Result<Value, Failure> {
        let (provider, user) = identity(who)?;
        let member = Member {
            role,
            person: person.filter(|p| !p.trim().is_empty()),
            automation: automation.filter(|a| !a.trim().is_empty()),
        };
        let kept = member.clone();
        let updated = self
            .edit(provider, format!("set {who} to {role}"), move |policy| {
                policy.users.insert(user.to_string(), kept);
                Ok(())
            })
            .await?;
        Ok(row(&updated, user, &member))
    }

    /// `im rbac remove <provider>:<user>`; `false` if there was no mapping.
    pub async fn rbac_remove(&self, who: &str) -> Result<bool, Failure> {
        let (provider, user) = identity(who)?;
        let record = self.record(provider).await?;
        if !record.config.rbac.users.contains_key(user) {
            return Ok(false);
        }
        self.edit(provider, format!("removed {who}"), |policy| {
            policy.users.remove(user);
            Ok(())
        })
        .await?;
        Ok(true)
    }

    /// `im rbac default <provider> <role>`.
    pub async fn rbac_default(&self, provider: &str, role: Role) -> Result<(), Failure> {
        self.edit(provider, format!("default role {role}"), move |policy| {
            policy.default_role = role;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Every mapping (of one provider), and each provider's default role.
    pub async fn rbac_list(&self, provider: Option<&str>) -> Result<Value, Failure> {
        let providers = match provider {
            Some(name) => vec![self.record(name).await?],
            None => self.directory.list().await?.into_iter().map(Arc::new).collect(),
        };
        let mut mappings = Vec::new();
        let mut defaults = BTreeMap::new();
        for p in &providers {
            defaults.insert(p.name.clone(), json!(p.config.rbac.default_role));
            for (user, member) in &p.config.rbac.users {
                mappings.push(row(p, user, member));
            }
        }
        Ok(json!({"mappings": mappings, "default_roles": defaults}))
    }

    /// `im rbac apply <file>`: each provider named in the file gets the file's policy, as a
    /// whole (`{"<provider>": {"default_role": …, "users": …, …}}`): a policy kept in a
    /// repository and applied from CI. All are checked before any is written.
    pub async fn rbac_apply(&self, file: &Value) -> Result<Vec<String>, Failure> {
        let Some(entries) = file.as_object() else {
            return Err(Failure(
                "the policy file must be a JSON object of provider → rbac".into(),
            ));
        };
        let mut parsed = Vec::new();
        for (name, policy) in entries {
            let record = self.record(name).await?;
            let policy: AccessPolicy =
                serde_json::from_value(policy.clone()).map_err(|e| Failure(format!("{name}: {e}")))?;
            let shares = self
                .directory
                .spec(record.platform.as_str())
                .is_none_or(|s| s.shares_email);
            if let Some(problem) = policy.problems(shares).into_iter().next() {
                return Err(Failure(format!("{name}: {problem}")));
            }
            parsed.push((name.clone(), policy));
        }
        let mut lines = Vec::new();
        for (name, policy) in parsed {
            let summary = format!(
                "{name}: default {}, {} mapping{}",
                policy.default_role,
                policy.users.len(),
                if policy.users.len() == 1 { "" } else { "s" }
            );
            self.edit(&name, format!("applied a policy file ({summary})"), move |current| {
                *current = policy;
                Ok(())
            })
            .await?;
            lines.push(summary);
        }
        Ok(lines)
    }

    /// `im rbac check <provider>:<user> <command> [--channel C] [--incident ID]`: what the gate
    /// would answer, with the platform's identity check and the policy endpoint, counting
    /// nothing.
    pub async fn rbac_check(
        &self,
        who: &str,
        command: &str,
        channel: Option<&str>,
        incident: Option<&str>,
    ) -> Result<Value, Failure> {
        let (provider, user) = identity(who)?;
        let crate::ops::Resolved {
            provider: record,
            adapter,
            secrets,
        } = self.resolve(provider).await?;
        let messenger = adapter.and_then(|a| a.messenger(&record, &secrets).ok());
        let incident = match incident {
            Some(id) => {
                let id = IncidentId::parse(id).map_err(|e| Failure(e.to_string()))?;
                Some(
                    self.store()
                        .get(&id)
                        .await?
                        .ok_or_else(|| Failure(format!("{id} was not found")))?,
                )
            }
            None => None,
        };
        let gate = Gate::new(
            Arc::new(im_aws::deliveries::DeliveryStore::new(self.clients.clone())),
            Arc::new(crate::policy::HttpRoleSource::new()),
            Arc::new(ProviderDirectory::new(self.clients.clone())),
            self.clock.clone(),
        );
        let person = UserRef::new(user, None);
        let verdict = gate
            .admit(&Ask {
                provider: &record,
                secrets: &secrets,
                people: messenger.as_deref().and_then(|m| m.people()),
                user: &person,
                channel,
                command,
                changes: changes(command),
                incident: incident.as_ref(),
                to_severity: None,
                preview: true,
            })
            .await;
        let actor = Actor {
            platform: record.platform.to_string(),
            provider: record.name.clone(),
            user: person.clone(),
            channel: channel.map(str::to_string),
        };
        Ok(match verdict {
            Ok(granted) => json!({
                "identity": who, "command": command, "allowed": true, "role": granted.role,
                "automation": granted.automation, "source": actor.source(),
            }),
            Err(denied) => json!({
                "identity": who, "command": command, "allowed": false, "reason": denied.to_string(),
                "needed": denied.needed(), "source": actor.source(),
            }),
        })
    }
}

impl Sender {
    /// Every team.
    pub async fn teams(&self) -> Result<im_core::team::Teams, Failure> {
        Ok(self.directory.read_teams().await?)
    }

    /// `im team set`: adds or replaces a team (refused when it would share a service).
    pub async fn team_set(&self, team: im_core::team::Team) -> Result<im_core::team::Team, Failure> {
        let mut teams = self.teams().await?;
        let name = team.name.clone();
        teams.set(team).map_err(Failure)?;
        self.directory.write_teams(&teams).await?;
        let set = teams.0.get(&name).cloned().unwrap_or_default();
        self.audit(
            "chatops.team_changed",
            "teams",
            json!({"change": format!("set team {name}"), "services": set.services, "members": set.members.len()}),
        )
        .await;
        Ok(set)
    }

    /// `im team remove`; `false` if there was no such team.
    pub async fn team_remove(&self, name: &str) -> Result<bool, Failure> {
        let mut teams = self.teams().await?;
        if teams.0.remove(name).is_none() {
            return Ok(false);
        }
        self.directory.write_teams(&teams).await?;
        self.audit(
            "chatops.team_changed",
            "teams",
            json!({"change": format!("removed team {name}")}),
        )
        .await;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_name_a_provider_and_a_user() {
        assert_eq!(identity("acme:U1"), Ok(("acme", "U1")));
        assert_eq!(identity("ops:80351110224678912"), Ok(("ops", "80351110224678912")));
        assert_eq!(
            identity("teams:29:1abc"),
            Ok(("teams", "29:1abc")),
            "Teams ids contain colons"
        );
        for bad in ["acme", ":U1", "acme:", ""] {
            assert!(identity(bad).is_err(), "{bad}");
        }
        assert!(changes("close") && changes("custom:deploy") && changes("downgrade"));
        assert!(!changes("list") && !changes("status") && !changes("details"));
    }
}
