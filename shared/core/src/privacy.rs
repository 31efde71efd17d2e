//! A chat user's personal data: what is stored about `<platform>:<user-id>` (export) and how it
//! is pseudonymised (forget). The rules are here; the store walks its items with them.
//!
//! A person appears as: the people of incidents (declared by, commander, assignee, acknowledged,
//! resolved, closed by), the actor of timeline and audit entries (and the people those entries
//! name), conversation context and open questions, identity checks and limit counters, on-call
//! rotations and overrides, and role mappings.

use serde_json::Value;

use crate::incident::{Incident, UserRef};
use crate::timeline::TimelineEntry;

/// Who a request is about: `slack:U0123ABCD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub platform: String,
    pub user: String,
    /// The providers of that platform (a user id means this person only there).
    pub providers: Vec<String>,
}

impl Subject {
    /// `slack:U0123ABCD`, with the names of that platform's providers.
    pub fn parse(text: &str, providers: Vec<String>) -> Result<Self, String> {
        match text.split_once(':') {
            Some((platform, user)) if !platform.trim().is_empty() && !user.trim().is_empty() => Ok(Self {
                platform: platform.trim().to_lowercase(),
                user: user.trim().to_string(),
                providers,
            }),
            _ => Err(format!(
                "`{text}` is not a chat user: write <platform>:<user-id>, e.g. slack:U0123ABCD"
            )),
        }
    }

    pub fn identity(&self) -> String {
        format!("{}:{}", self.platform, self.user)
    }

    fn is(&self, who: &UserRef, origin_platform: &str) -> bool {
        who.id == self.user
            && match &who.provider {
                Some(p) => self.providers.contains(p),
                None => origin_platform == self.platform,
            }
    }

    /// The roles the person has in an incident (`declared_by`, `assignee` …).
    pub fn roles_in(&self, incident: &Incident) -> Vec<&'static str> {
        let platform = incident.origin.platform.as_str();
        [
            ("declared_by", Some(&incident.declared_by)),
            ("commander", incident.commander.as_ref()),
            ("assignee", incident.assignee.as_ref()),
            ("acknowledged_by", incident.acknowledged_by.as_ref()),
            ("resolved_by", incident.resolved_by.as_ref()),
            ("closed_by", incident.closed_by.as_ref()),
        ]
        .into_iter()
        .filter(|(_, who)| who.is_some_and(|w| self.is(w, platform)))
        .map(|(role, _)| role)
        .collect()
    }

    /// The names the person goes by in an incident (to take out of entries too).
    pub fn names_in(&self, incident: &Incident) -> Vec<String> {
        let platform = incident.origin.platform.as_str();
        [
            Some(&incident.declared_by),
            incident.commander.as_ref(),
            incident.assignee.as_ref(),
            incident.acknowledged_by.as_ref(),
            incident.resolved_by.as_ref(),
            incident.closed_by.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter(|w| self.is(w, platform))
        .filter_map(|w| w.name.clone())
        .filter(|n| !n.trim().is_empty())
        .collect()
    }

    /// Replaces the person in an incident by `pseudonym`; whether anything changed.
    pub fn pseudonymise_incident(&self, incident: &mut Incident, pseudonym: &str) -> bool {
        let platform = incident.origin.platform.clone();
        let mut changed = false;
        let mut swap = |who: &mut UserRef| {
            if self.is(who, &platform) {
                who.id = pseudonym.to_string();
                who.name = None;
                changed = true;
            }
        };
        swap(&mut incident.declared_by);
        for who in [
            &mut incident.commander,
            &mut incident.assignee,
            &mut incident.acknowledged_by,
            &mut incident.resolved_by,
            &mut incident.closed_by,
        ]
        .into_iter()
        .flatten()
        {
            swap(who);
        }
        changed
    }

    fn came_through(&self, source: &str) -> bool {
        source.split_once(':').is_some_and(|(platform, provider)| {
            platform == self.platform || self.providers.iter().any(|p| p == provider)
        })
    }

    /// Whether an entry is the person's or names them.
    pub fn in_entry(&self, entry: &TimelineEntry) -> bool {
        let actor = entry.actor.strip_prefix("chatops:").unwrap_or(&entry.actor);
        (actor == self.user && self.came_through(&entry.source))
            || mentions(&Value::Object(entry.data.clone()), &self.user)
    }

    /// Replaces the person in an entry (actor, and any text or person in its data) by
    /// `pseudonym`; `names` are the display names they went by.
    pub fn pseudonymise_entry(&self, entry: &mut TimelineEntry, names: &[String], pseudonym: &str) {
        let actor = entry.actor.strip_prefix("chatops:").unwrap_or(&entry.actor);
        if actor == self.user && self.came_through(&entry.source) {
            entry.actor = format!("chatops:{pseudonym}");
        }
        let mut data = Value::Object(std::mem::take(&mut entry.data));
        replace(&mut data, &self.user, names, pseudonym);
        if let Value::Object(map) = data {
            entry.data = map;
        }
    }

    /// Whether a memo key is the person's (context, questions, identity checks, counters).
    pub fn owns_memo(&self, key: &str) -> bool {
        let parts: Vec<&str> = key.split(':').collect();
        let provider_ok = |p: &str| self.providers.iter().any(|x| x == p);
        match parts.as_slice() {
            ["ctx" | "ask", provider, _channel, user] => provider_ok(provider) && *user == self.user,
            ["ident", provider, user] => provider_ok(provider) && *user == self.user,
            ["limit", _what, provider, user, _window] => provider_ok(provider) && *user == self.user,
            _ => false,
        }
    }
}

/// Whether `value` names `user` (as a person's id, or inside text).
fn mentions(value: &Value, user: &str) -> bool {
    match value {
        Value::String(s) => contains_id(s, user),
        Value::Array(items) => items.iter().any(|v| mentions(v, user)),
        Value::Object(map) => map.values().any(|v| mentions(v, user)),
        _ => false,
    }
}

/// `user` as a whole word (ids like `U0ANN` inside `U0ANNA` are someone else).
fn contains_id(text: &str, user: &str) -> bool {
    text.match_indices(user).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + user.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric()) && !after.is_some_and(|c| c.is_alphanumeric())
    })
}

fn replace_id(text: &str, user: &str, pseudonym: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(user) {
        let before = rest[..i].chars().next_back().or_else(|| out.chars().next_back());
        let after = rest[i + user.len()..].chars().next();
        out.push_str(&rest[..i]);
        if !before.is_some_and(|c| c.is_alphanumeric()) && !after.is_some_and(|c| c.is_alphanumeric()) {
            out.push_str(pseudonym);
        } else {
            out.push_str(user);
        }
        rest = &rest[i + user.len()..];
    }
    out.push_str(rest);
    out
}

fn replace(value: &mut Value, user: &str, names: &[String], pseudonym: &str) {
    match value {
        Value::String(s) => {
            if names.iter().any(|n| n == s) {
                *s = pseudonym.to_string();
            } else if contains_id(s, user) {
                *s = replace_id(s, user, pseudonym);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace(v, user, names, pseudonym)),
        Value::Object(map) => {
            // A person object: its name goes with its id.
            if map.get("id").and_then(Value::as_str) == Some(user) {
                map.remove("name");
            }
            map.values_mut().for_each(|v| replace(v, user, names, pseudonym));
        }
        _ => {}
    }
}

/// A rotation without the person (`platform:user` identities); whether it changed.
pub fn leave_rotation(rotation: &mut crate::oncall::Rotation, identity: &str) -> bool {
    let before = (rotation.participants.len(), rotation.overrides.len());
    rotation.participants.retain(|p| p != identity);
    rotation.overrides.retain(|o| o.user != identity);
    before != (rotation.participants.len(), rotation.overrides.len())
}

/// A fresh pseudonym for one forget request.
pub fn pseudonym() -> String {
    format!("forgotten-{}", ulid::Ulid::generate().to_string().to_lowercase())
}

#[cfg(test)]
#[path = "privacy_test.rs"]
mod tests;
