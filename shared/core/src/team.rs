//! Teams of people: a team owns services, has members (chat identities) and a channel. The
//! assignee menu of an incident of a team's service offers that team's members on the card's
//! platform, and the weekly summary of the team's services goes to its channel.
//!
//! Kept as one `MEMO#teams` item (`im team set|list|remove`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::message::Choice;

/// The memo key all teams are kept under.
pub const TEAMS_KEY: &str = "teams";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub name: String,
    #[serde(default)]
    pub services: Vec<String>,
    /// `slack:U0123ABCD`, optionally with a display name: `slack:U0123ABCD=Alice`.
    #[serde(default)]
    pub members: Vec<String>,
    /// `<provider>:<channel-id>`: where the team's weekly summary goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// A member as written: platform, user id, display name.
fn member_parts(member: &str) -> Option<(&str, &str, Option<&str>)> {
    let (identity, name) = match member.split_once('=') {
        Some((identity, name)) => (identity, Some(name.trim()).filter(|n| !n.is_empty())),
        None => (member, None),
    };
    let (platform, user) = identity.split_once(':')?;
    let (platform, user) = (platform.trim(), user.trim());
    (!platform.is_empty() && !user.is_empty()).then_some((platform, user, name))
}

impl Team {
    /// Problems with the team as configured.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if crate::provider::validate_name(&self.name).is_err() {
            out.push(format!(
                "`{}` is not a team name (lowercase letters, digits and -)",
                self.name
            ));
        }
        for service in &self.services {
            if !crate::command::valid_service(service) {
                out.push(format!("`{service}` is not a service name"));
            }
        }
        for member in &self.members {
            match member_parts(member) {
                Some((_, user, name)) => {
                    let safe = |s: &str| s.chars().all(|c| c.is_alphanumeric() || " ._-:'".contains(c));
                    if user.len() > 80 || !safe(user) || name.is_some_and(|n| n.chars().count() > 80 || !safe(n)) {
                        out.push(format!("member `{member}` has characters a chat id or name does not"));
                    }
                }
                None => out.push(format!(
                    "member `{member}` is not <platform>:<user-id>[=Name], e.g. slack:U0123ABCD=Alice"
                )),
            }
        }
        if let Some(channel) = &self.channel
            && !channel
                .split_once(':')
                .is_some_and(|(p, c)| !p.trim().is_empty() && !c.trim().is_empty())
        {
            out.push(format!("channel `{channel}` is not <provider>:<channel-id>"));
        }
        out
    }

    /// The members on `platform`, as assignee menu choices (label: the name, else the id).
    pub fn choices_on(&self, platform: &str) -> Vec<Choice> {
        self.members
            .iter()
            .filter_map(|m| member_parts(m))
            .filter(|(p, _, _)| p.eq_ignore_ascii_case(platform))
            .map(|(_, user, name)| Choice {
                label: name.unwrap_or(user).to_string(),
                value: user.to_string(),
            })
            .take(25)
            .collect()
    }

    /// `(provider, channel)` of the team's channel.
    pub fn channel(&self) -> Option<(&str, &str)> {
        self.channel
            .as_deref()
            .and_then(|c| c.split_once(':'))
            .map(|(p, c)| (p.trim(), c.trim()))
    }
}

/// Every team, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Teams(pub BTreeMap<String, Team>);

impl Teams {
    pub fn parse(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("the stored teams are unreadable: {e}"))
    }

    /// The teams kept in `memo` (none yet: no teams).
    pub async fn load(memo: &dyn crate::conversation::Memo, now: i64) -> Result<Self, crate::ports::StoreError> {
        match memo.get(TEAMS_KEY, now).await? {
            Some(json) => Self::parse(&json).map_err(crate::ports::StoreError::Corrupt),
            None => Ok(Self::default()),
        }
    }

    /// Adds or replaces a team: checked, and refused when another team owns one of its services.
    pub fn set(&mut self, team: Team) -> Result<(), String> {
        if let Some(problem) = team.problems().into_iter().next() {
            return Err(problem);
        }
        for service in &team.services {
            if let Some(other) = self
                .0
                .values()
                .find(|t| t.name != team.name && t.services.iter().any(|s| s.eq_ignore_ascii_case(service)))
            {
                return Err(format!(
                    "`{service}` is owned by team `{}`; a service has one owning team",
                    other.name
                ));
            }
        }
        self.0.insert(team.name.clone(), team);
        Ok(())
    }

    /// The team owning `service`.
    pub fn owner_of(&self, service: &str) -> Option<&Team> {
        self.0
            .values()
            .find(|t| t.services.iter().any(|s| s.eq_ignore_ascii_case(service)))
    }

    /// The assignee menu's choices for an incident of `service` on `platform` (empty: any
    /// person of the workspace, the platform's people picker).
    pub fn assignees(&self, service: Option<&str>, platform: &str) -> Vec<Choice> {
        service
            .and_then(|s| self.owner_of(s))
            .map(|t| t.choices_on(platform))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(name: &str, services: &[&str], members: &[&str]) -> Team {
        Team {
            name: name.into(),
            services: services.iter().map(|s| s.to_string()).collect(),
            members: members.iter().map(|s| s.to_string()).collect(),
            channel: Some("acme:C0PAY".into()),
        }
    }

    #[test]
    fn teams_own_services_and_offer_their_members_per_platform() {
        let mut teams = Teams::default();
        teams
            .set(team(
                "payments",
                &["payments", "checkout"],
                &["slack:U0ANN=Ann", "slack:U0BOB", "discord:123=Ann"],
            ))
            .expect("set");
        assert_eq!(teams.owner_of("Checkout").map(|t| t.name.as_str()), Some("payments"));
        assert!(teams.owner_of("search").is_none());
        assert_eq!(
            teams.assignees(Some("checkout"), "slack"),
            vec![
                Choice {
                    label: "Ann".into(),
                    value: "U0ANN".into()
                },
                Choice {
                    label: "U0BOB".into(),
                    value: "U0BOB".into()
                }
            ]
        );
        assert_eq!(teams.assignees(Some("checkout"), "discord").len(), 1);
        assert!(teams.assignees(Some("search"), "slack").is_empty());
        assert!(teams.assignees(None, "slack").is_empty());
        assert_eq!(teams.0["payments"].channel(), Some(("acme", "C0PAY")));

        let clash = teams.set(team("web", &["checkout"], &[]));
        assert_eq!(
            clash,
            Err("`checkout` is owned by team `payments`; a service has one owning team".into())
        );
        teams
            .set(team("payments", &["payments"], &["slack:U0ANN"]))
            .expect("a team may change its own services");
        teams.set(team("web", &["checkout"], &[])).expect("now free");
        let back = Teams::parse(&serde_json::to_string(&teams).expect("JSON")).expect("parse");
        assert_eq!(back, teams);
    }

    #[test]
    fn bad_teams_are_refused_with_why() {
        let mut teams = Teams::default();
        for (bad, why) in [
            (team("Pay Ments", &[], &[]), "is not a team name"),
            (team("p", &["bad<service>"], &[]), "is not a service name"),
            (team("p", &[], &["U0ANN"]), "is not <platform>:<user-id>"),
            (team("p", &[], &["slack:<!channel>"]), "has characters"),
            (team("p", &[], &["slack:U1=<@U2>"]), "has characters"),
            (
                Team {
                    channel: Some("C0PAY".into()),
                    ..team("p", &[], &[])
                },
                "is not <provider>:<channel-id>",
            ),
        ] {
            let refused = teams.set(bad.clone()).expect_err("refused");
            assert!(refused.contains(why), "{bad:?}: {refused}");
        }
        assert!(teams.0.is_empty());
        for (bad, why) in [
            (team("p", &[], &["slack:"]), "is not <platform>:<user-id>"),
            (team("p", &[], &[":U1"]), "is not <platform>:<user-id>"),
            (
                team("p", &[], &[&format!("slack:{}", "u".repeat(81))]),
                "has characters",
            ),
            (
                team("p", &[], &[&format!("slack:U1={}", "n".repeat(81))]),
                "has characters",
            ),
            (
                Team {
                    channel: Some("acme:".into()),
                    ..team("p", &[], &[])
                },
                "is not <provider>:<channel-id>",
            ),
            (
                Team {
                    channel: Some(":C1".into()),
                    ..team("p", &[], &[])
                },
                "is not <provider>:<channel-id>",
            ),
        ] {
            let refused = teams.set(bad.clone()).expect_err("refused");
            assert!(refused.contains(why), "{bad:?}: {refused}");
        }
        let longest = team("p", &[], &[&format!("slack:{}={}", "u".repeat(80), "n".repeat(80))]);
        teams.set(longest).expect("80 characters each is fine");
        teams.0.clear();
        let many: Vec<String> = (0..30).map(|n| format!("slack:U{n}")).collect();
        let big = Team {
            members: many,
            ..team("big", &["api"], &[])
        };
        teams.set(big).expect("set");
        assert_eq!(teams.assignees(Some("api"), "slack").len(), 25, "a menu holds 25");
        assert!(Teams::parse("{").is_err());
    }
}
