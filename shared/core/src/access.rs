//! Whether a person may do what they ask: the one gate every command, click, form and mention
//! passes, on every platform.
//!
//! In order: the channel restriction; the role the action needs; the person's role (a service
//! account's mapping, the external policy endpoint where one is configured, else the local
//! mapping); for anything above viewer, the person's identity as the platform knows it (active,
//! not a guest unless allowed, e-mail domain), cached; the declare limit; and for closing or
//! downgrading an incident declared through another provider, that provider's policy too.

use std::sync::Arc;

use hmac::{KeyInit, Mac};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::warn;

use crate::chat::{BoxFuture, People, Person};
use crate::conversation::Memo;
use crate::directory::ProviderSource;
use crate::incident::{Incident, Severity, UserRef};
use crate::ports::Clock;
use crate::provider::{Provider, ProviderSecrets};
use crate::rbac::{AccessPolicy, DECLARE_WINDOW_SECONDS, Denied, Member, Role};
use crate::timeline::TimelineEntry;

/// A fresh identity verification is trusted this long.
pub const IDENTITY_FRESH_SECONDS: i64 = 600;
/// When the platform's API fails, a successful verification this recent still stands.
pub const IDENTITY_STALE_SECONDS: i64 = 86_400;
/// How many refusals of one person per hour are written to the audit trail (each is logged).
pub const DENIED_ENTRIES_PER_HOUR: u64 = 20;
/// The header carrying the policy endpoint's (and workflow receivers') HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-im-signature-256";
/// The provider secret key the policy endpoint's requests are signed with.
pub const POLICY_SECRET_KEY: &str = "policy_secret";

/// `sha256=<hex HMAC-SHA256 of body>` (GitHub's webhook scheme).
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is `body`'s signature under `secret` (constant time).
pub fn signature_matches(secret: &str, body: &[u8], header: &str) -> bool {
    use subtle::ConstantTimeEq;
    let expected = signature(secret, body);
    !expected.is_empty() && expected.as_bytes().ct_eq(header.trim().as_bytes()).into()
}

/// An external policy endpoint: `POST {"input": …}` → `{"result": {"role": …}}`.
pub trait RoleSource: Send + Sync {
    /// The role the endpoint gives (`None`: it gives none, the local mapping decides); an
    /// error if it could not be asked (down, slow, malformed), the local mapping decides too.
    fn role<'a>(
        &'a self,
        url: &'a str,
        secret: Option<&'a str>,
        input: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Role>, String>>;
}

/// The answer a policy endpoint sends.
pub fn read_policy_answer(body: &[u8]) -> Result<Option<Role>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let Some(result) = value.get("result") else {
        return Err("the answer has no `result`".into());
    };
    match result.get("role") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(role)) => role.parse().map(Some),
        Some(other) => Err(format!("`result.role` is {other}, not a role name")),
    }
}

/// What is asked: who, where, what, on which incident.
pub struct Ask<'a> {
    pub provider: &'a Provider,
    pub secrets: &'a ProviderSecrets,
    /// The platform's people directory (`None`: the platform has none; identity is the
    /// signature's word).
    pub people: Option<&'a dyn People>,
    pub user: &'a UserRef,
    pub channel: Option<&'a str>,
    /// The policy name (`ack`, `close`, `custom:deploy` …).
    pub command: &'a str,
    pub changes: bool,
    /// The incident acted on, when there is one.
    pub incident: Option<&'a Incident>,
    /// An escalation's new severity.
    pub to_severity: Option<Severity>,
    /// Only whether it would be allowed (opening a form): nothing is counted.
    pub preview: bool,
}

impl Ask<'_> {
    /// `downgrade` for an escalation to a lower severity, else the command.
    pub fn policy_name(&self) -> &str {
        match (self.command, self.incident, self.to_severity) {
            ("escalate", Some(incident), Some(to)) if to > incident.severity => "downgrade",
            (name, _, _) => name,
        }
    }
}

/// What the gate let through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Granted {
    pub role: Role,
    /// The automation a service account is.
    pub automation: Option<String>,
}

/// What the platform said about a person, and when (`person: None`: no such user). The
/// platform's word is cached, not the verdict, so a policy change applies at once.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Looked {
    at: i64,
    person: Option<Person>,
}

pub fn identity_key(provider: &str, user: &str) -> String {
    format!("ident:{provider}:{user}")
}

pub struct Gate {
    memo: Arc<dyn Memo>,
    roles: Arc<dyn RoleSource>,
    providers: Arc<dyn ProviderSource>,
    clock: Arc<dyn Clock>,
}

impl Gate {
    pub fn new(
        memo: Arc<dyn Memo>,
        roles: Arc<dyn RoleSource>,
        providers: Arc<dyn ProviderSource>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            memo,
            roles,
            providers,
            clock,
        }
    }

    pub async fn admit(&self, ask: &Ask<'_>) -> Result<Granted, Denied> {
        let policy = &ask.provider.config.rbac;
        let command = ask.policy_name().to_string();
        policy.channel_allows(&command, ask.channel)?;
        let needed = policy.needed(&command, ask.changes);
        let member = policy.member(&ask.user.id);
        let automation = member.and_then(|m| m.automation.clone());
        if needed == Role::Viewer {
            return Ok(Granted {
                role: policy.role_of(&ask.user.id),
                automation,
            });
        }
        let role = self.role(ask, &command, member).await;
        policy.check_role(role, &command, ask.changes)?;
        if automation.is_none()
            && let Err(reason) = self.verify(ask).await
        {
            return Err(Denied::Identity {
                command,
                platform: platform_title(ask.provider).into(),
                reason,
            });
        }
        if command == "declare" && automation.is_none() && !ask.preview {
            self.within_declare_limit(ask, policy).await?;
        }
        if command == "close" || command == "downgrade" {
            self.origin_allows(ask, &command, member).await?;
        }
        Ok(Granted { role, automation })
    }

    /// The person's role: the policy endpoint's where it answers, else the local mapping.
    async fn role(&self, ask: &Ask<'_>, command: &str, member: Option<&Member>) -> Role {
        let policy = &ask.provider.config.rbac;
        let local = policy.role_of(&ask.user.id);
        let Some(url) = &policy.policy_url else {
            return local;
        };
        let input = json!({"input": {
            "identity": format!("{}:{}", ask.provider.name, ask.user.id),
            "provider": ask.provider.name,
            "platform": ask.provider.platform.as_str(),
            "user": {"id": ask.user.id, "name": ask.user.name, "person": member.and_then(|m| m.person.clone())},
            "command": command,
            "channel": ask.channel,
            "incident": ask.incident.map(|i| json!({"id": i.id, "severity": i.severity, "service": i.service, "status": i.status})),
            "local_role": local,
        }});
        let secret = ask.secrets.get(POLICY_SECRET_KEY).map(|s| s.expose_secret());
        match self.roles.role(url, secret, &input).await {
            Ok(Some(role)) => role,
            Ok(None) => local,
            Err(e) => {
                warn!(provider = %ask.provider.name, error = %e, "policy endpoint unavailable; the local mapping decides");
                local
            }
        }
    }

    /// Whether the platform knows the person as allowed to hold a role above viewer.
    async fn verify(&self, ask: &Ask<'_>) -> Result<(), String> {
        let Some(people) = ask.people else {
            return Ok(());
        };
        let policy = &ask.provider.config.rbac;
        let key = identity_key(&ask.provider.name, &ask.user.id);
        let now = self.clock.now().unix_timestamp();
        let cached: Option<Looked> = match self.memo.get(&key, now).await {
            Ok(found) => found.and_then(|v| serde_json::from_str(&v).ok()),
            Err(e) => {
                warn!(error = %e, "reading the identity cache");
                None
            }
        };
        let judged = |looked: &Looked| match &looked.person {
            Some(person) => judge(policy, person),
            None => Some("the workspace has no such user".to_string()),
        };
        if let Some(looked) = &cached
            && now - looked.at < IDENTITY_FRESH_SECONDS
        {
            return judged(looked).map_or(Ok(()), Err);
        }
        let looked = match people.person(&ask.user.id).await {
            Ok(person) => Looked { at: now, person },
            Err(e) => {
                // In an outage, a successful verification still stands: the memo keeps one
                // for a day ([`IDENTITY_STALE_SECONDS`]).
                return match cached {
                    Some(old) if judged(&old).is_none() => Ok(()),
                    _ => Err(format!(
                        "{} did not answer the identity check ({e}); please try again in a minute",
                        platform_title(ask.provider)
                    )),
                };
            }
        };
        if let Ok(text) = serde_json::to_string(&looked)
            && let Err(e) = self.memo.put(&key, &text, Some(now + IDENTITY_STALE_SECONDS)).await
        {
            warn!(error = %e, "caching the identity check");
        }
        judged(&looked).map_or(Ok(()), Err)
    }

    async fn within_declare_limit(&self, ask: &Ask<'_>, policy: &AccessPolicy) -> Result<(), Denied> {
        if policy.declare_limit == 0 {
            return Ok(());
        }
        let now = self.clock.now().unix_timestamp();
        let window = now.div_euclid(DECLARE_WINDOW_SECONDS);
        let key = format!("limit:declare:{}:{}:{window}", ask.provider.name, ask.user.id);
        match self.memo.count(&key, (window + 1) * DECLARE_WINDOW_SECONDS + 60).await {
            Ok(n) if n > u64::from(policy.declare_limit) => Err(Denied::Limit {
                limit: policy.declare_limit,
            }),
            Ok(_) => Ok(()),
            Err(e) => {
                // A limit that cannot be counted does not stop an incident being declared.
                warn!(error = %e, "counting declares");
                Ok(())
            }
        }
    }

    /// Closing or downgrading an incident declared through another provider: that provider's
    /// policy must allow it too (the person's role there is their mapping there, by person).
    async fn origin_allows(&self, ask: &Ask<'_>, command: &str, member: Option<&Member>) -> Result<(), Denied> {
        let Some(incident) = ask.incident else {
            return Ok(());
        };
        let origin = &incident.origin.provider;
        if origin.is_empty() || *origin == ask.provider.name {
            return Ok(());
        }
        let provider = match self.providers.provider(origin).await {
            Ok(Some(p)) => p,
            // A removed provider has no policy left to consult.
            Ok(None) => return Ok(()),
            Err(e) => {
                warn!(error = %e, "reading the origin provider's policy");
                return Err(Denied::Origin {
                    command: command.to_string(),
                    origin_incident: incident.id.to_string(),
                    origin: origin.clone(),
                    needed: Role::Admin,
                    have: Role::Viewer,
                });
            }
        };
        let theirs = &provider.config.rbac;
        let have = theirs.role_of_person(member.and_then(|m| m.person.as_deref()));
        let needed = theirs.needed(command, true);
        if have >= needed {
            Ok(())
        } else {
            Err(Denied::Origin {
                command: if command == "downgrade" {
                    "downgrade".into()
                } else {
                    command.to_string()
                },
                origin_incident: incident.id.to_string(),
                origin: origin.clone(),
                needed,
                have,
            })
        }
    }

    /// Whether this refusal goes on the audit trail (at most [`DENIED_ENTRIES_PER_HOUR`] per
    /// person and hour; the rest are only logged).
    pub async fn record_refusal(&self, provider: &str, user: &str) -> bool {
        let now = self.clock.now().unix_timestamp();
        let hour = now.div_euclid(3600);
        let key = format!("limit:denied:{provider}:{user}:{hour}");
        match self.memo.count(&key, (hour + 1) * 3600 + 60).await {
            Ok(n) => n <= DENIED_ENTRIES_PER_HOUR,
            Err(e) => {
                warn!(error = %e, "counting refusals");
                true
            }
        }
    }
}

/// Why the platform's word about a person does not allow a role above viewer.
fn judge(policy: &AccessPolicy, person: &Person) -> Option<String> {
    if !person.active {
        return Some("the account is deactivated or no longer in the workspace".into());
    }
    if person.bot {
        return Some("bot accounts act only as a mapped service account (`rbac.users.<id>.automation`)".into());
    }
    if person.guest && !policy.allow_guests {
        return Some("guest accounts cannot act here (an admin can set `rbac.allow_guests`)".into());
    }
    if !policy.email_domains.is_empty() {
        let Some(email) = &person.email else {
            return Some("the platform did not share your e-mail address, which this workspace requires".into());
        };
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_lowercase())
            .unwrap_or_default();
        if !policy
            .email_domains
            .iter()
            .any(|d| d.trim_start_matches('@').eq_ignore_ascii_case(&domain))
        {
            return Some(format!(
                "your e-mail domain is not one this workspace allows ({})",
                policy.email_domains.join(", ")
            ));
        }
    }
    None
}

/// How people write the provider's platform (`Slack`, `Microsoft Teams`).
fn platform_title(provider: &Provider) -> &str {
    provider
        .platform
        .spec()
        .map_or(provider.platform.as_str(), |spec| spec.title)
}

/// The `chatops.denied` entry: who, what, where, and why.
pub fn denied_entry(
    actor: &crate::invocation::Actor,
    command_line: &str,
    denied: &Denied,
    at: time::OffsetDateTime,
) -> TimelineEntry {
    let mut data = json!({
        "channel": actor.channel,
        "command": command_line,
        "policy": denied.command(),
        "response": denied.to_string(),
    });
    if let Some(needed) = denied.needed() {
        data["needed"] = json!(needed);
    }
    TimelineEntry::record(
        "chatops.denied",
        at,
        format!("chatops:{}", actor.user.id),
        actor.source(),
        data,
    )
}

#[cfg(test)]
#[path = "access_test.rs"]
mod tests;
