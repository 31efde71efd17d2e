//! The incident aggregate: identity, severity, lifecycle and the rules for changing it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `INC-<year>-<seq>` (at least three digits), or a legacy `INC-<number>` typed by a person.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IncidentId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an incident id (they look like INC-2026-001)")]
pub struct InvalidIncidentId(pub String);

impl IncidentId {
    /// The id the counter hands out: `INC-2026-001`, `INC-2026-1234`.
    pub fn new(year: i32, seq: u64) -> Self {
        Self(format!("INC-{year}-{seq:03}"))
    }

    /// Accepts what people type: any case, with or without leading zeros (`inc-2026-7`
    /// is `INC-2026-007`), and the short `INC-123` form.
    pub fn parse(input: &str) -> Result<Self, InvalidIncidentId> {
        let bad = || InvalidIncidentId(input.to_string());
        let trimmed = input.trim().trim_start_matches('#');
        let rest = trimmed
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("INC-"))
            .map(|_| &trimmed[4..])
            .ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split('-').collect();
        let all_digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
        match parts.as_slice() {
            [year, seq] if year.len() == 4 && all_digits(year) && all_digits(seq) => {
                let year: i32 = year.parse().map_err(|_| bad())?;
                let seq: u64 = seq.parse().map_err(|_| bad())?;
                Ok(Self::new(year, seq))
            }
            [number] if all_digits(number) => Ok(Self(format!("INC-{number}"))),
            _ => Err(bad()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IncidentId {
    type Error = InvalidIncidentId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IncidentId> for String {
    fn from(value: IncidentId) -> Self {
        value.0
    }
}

/// SEV-1 is the most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    #[serde(rename = "SEV-1")]
    Sev1,
    #[serde(rename = "SEV-2")]
    Sev2,
    #[serde(rename = "SEV-3")]
    Sev3,
    #[serde(rename = "SEV-4")]
    Sev4,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a severity (use SEV-1, SEV-2, SEV-3 or SEV-4)")]
pub struct InvalidSeverity(pub String);

impl Severity {
    pub const ALL: [Severity; 4] = [Self::Sev1, Self::Sev2, Self::Sev3, Self::Sev4];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sev1 => "SEV-1",
            Self::Sev2 => "SEV-2",
            Self::Sev3 => "SEV-3",
            Self::Sev4 => "SEV-4",
        }
    }

    pub fn level(self) -> u8 {
        match self {
            Self::Sev1 => 1,
            Self::Sev2 => 2,
            Self::Sev3 => 3,
            Self::Sev4 => 4,
        }
    }

    /// `SEV-1`, `sev1`, `Sev_1`, `1`, `P1`, and the words `critical`, `major`, `minor`, `low`.
    pub fn parse(input: &str) -> Result<Self, InvalidSeverity> {
        let lower = input.trim().to_ascii_lowercase();
        let digits = lower
            .strip_prefix("sev")
            .or_else(|| lower.strip_prefix('p'))
            .unwrap_or(&lower)
            .trim_start_matches(['-', '_', ' ']);
        match digits {
            "1" | "critical" => Ok(Self::Sev1),
            "2" | "major" | "high" => Ok(Self::Sev2),
            "3" | "minor" | "medium" => Ok(Self::Sev3),
            "4" | "low" | "info" => Ok(Self::Sev4),
            _ => Err(InvalidSeverity(input.to_string())),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = InvalidSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    Open,
    Acknowledged,
    Resolved,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Acknowledged => "Acknowledged",
            Self::Resolved => "Resolved",
            Self::Closed => "Closed",
        }
    }

    /// Still needs people: shown by `list`.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Open | Self::Acknowledged)
    }

    /// The lifecycle actions allowed from this state, in the words the commands use.
    pub fn allowed_actions(self) -> &'static [Action] {
        match self {
            Self::Open => &[Action::Acknowledge, Action::Resolve],
            Self::Acknowledged => &[Action::Resolve],
            Self::Resolved => &[Action::Close],
            Self::Closed => &[],
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lifecycle transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Resolve,
    Close,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Resolve => "resolve",
            Self::Close => "close",
        }
    }

    fn target(self) -> Status {
        match self {
            Self::Acknowledge => Status::Acknowledged,
            Self::Resolve => Status::Resolved,
            Self::Close => Status::Closed,
        }
    }
}

/// A person on a chat platform. `id` is the platform's user id where we know it
/// (`U123ABC` on Slack), otherwise the name as typed. `provider` is the connected workspace the
/// id belongs to: a renderer mentions the person only in that workspace, and shows the name
/// everywhere else (a Slack id means nothing in Discord).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl UserRef {
    pub fn new(id: impl Into<String>, name: Option<String>) -> Self {
        Self {
            id: id.into(),
            name,
            provider: None,
        }
    }

    /// The same person, as a user of `provider`.
    pub fn on(mut self, provider: &str) -> Self {
        self.provider = Some(provider.to_string());
        self
    }

    /// Whether the id is a user id of `provider` (a mention can be rendered there).
    pub fn belongs_to(&self, provider: &str) -> bool {
        self.provider.as_deref() == Some(provider)
    }

    /// What to show a person: the name if we have it, else the id.
    pub fn display(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// Where an incident was declared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub platform: String,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// A dedicated incident channel on one provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarRoom {
    pub provider: String,
    pub channel: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub severity: Severity,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<UserRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commander: Option<UserRef>,
    pub declared_by: UserRef,
    #[serde(with = "time::serde::rfc3339")]
    pub declared_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub acknowledged_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<UserRef>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub resolved_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_by: Option<UserRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<UserRef>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub origin: Origin,
    /// The incident's own channel, once someone joined the war room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub war_room: Option<WarRoom>,
    /// SLA targets already breached (`ack`, `resolve`): each is reported once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sla_breaches: Vec<String>,
    /// Bumped by every change; writes are conditional on it.
    pub version: u64,
}

/// Why a change was refused. The message says what is allowed instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{id} is already acknowledged{by}.")]
    AlreadyAcknowledged { id: IncidentId, by: ByWhom },
    #[error("{id} is already resolved{by}.{hint}")]
    AlreadyResolved { id: IncidentId, by: ByWhom, hint: Hint },
    #[error("{id} is already closed.")]
    AlreadyClosed { id: IncidentId },
    #[error("Cannot {action} {id}: it is {status}.{hint}")]
    NotAllowed {
        id: IncidentId,
        action: &'static str,
        status: Status,
        hint: Hint,
    },
    #[error("{id} is already {severity}.")]
    SameSeverity { id: IncidentId, severity: Severity },
    #[error("{id} is already assigned to {who}.")]
    SameAssignee { id: IncidentId, who: String },
    #[error("{id} is already on service {service}.")]
    SameService { id: IncidentId, service: String },
    #[error("{id} already has a war room: #{name}.")]
    WarRoomExists { id: IncidentId, name: String },
    #[error("{id}: the {target} SLA breach is already recorded.")]
    AlreadyBreached { id: IncidentId, target: String },
    #[error("{id} no longer breaches its SLA.")]
    NoLongerBreaching { id: IncidentId },
}

/// " by alice" or nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ByWhom(pub Option<String>);

impl fmt::Display for ByWhom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(who) => write!(f, " by {who}"),
            None => Ok(()),
        }
    }
}

/// " It can be acknowledged or resolved." — the allowed next steps, or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint(pub Status);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed: Vec<&str> = self
            .0
            .allowed_actions()
            .iter()
            .map(|a| match a {
                Action::Acknowledge => "acknowledged",
                Action::Resolve => "resolved",
                Action::Close => "closed",
            })
            .collect();
        match allowed.as_slice() {
            [] => write!(f, " Closed incidents cannot change."),
            [one] => write!(f, " It can only be {one}."),
            [first, second] => write!(f, " It can be {first} or {second}."),
            _ => Ok(()),
        }
    }
}

impl Incident {
    /// A newly declared incident: open, commanded by whoever declared it, version 1.
    pub fn declared(
        id: IncidentId,
        title: String,
        severity: Severity,
        by: UserRef,
        at: OffsetDateTime,
        origin: Origin,
    ) -> Self {
        Self {
            id,
            title,
            description: None,
            severity,
            status: Status::Open,
            service: None,
            assignee: None,
            commander: Some(by.clone()),
            declared_by: by,
            declared_at: at,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            resolution: None,
            closed_at: None,
            closed_by: None,
            updated_at: at,
            origin,
            war_room: None,
            sla_breaches: Vec::new(),
            version: 1,
        }
    }

    /// Applies a lifecycle transition, or explains why it is not allowed.
    pub fn transition(
        &mut self,
        action: Action,
        by: &UserRef,
        note: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let id = self.id.clone();
        let allowed = self.status.allowed_actions().contains(&action);
        if !allowed {
            let name = |u: &Option<UserRef>| ByWhom(u.as_ref().map(|u| u.display().to_string()));
            return Err(match (action, self.status) {
                (Action::Acknowledge, Status::Acknowledged) => Refusal::AlreadyAcknowledged {
                    id,
                    by: name(&self.acknowledged_by),
                },
                (Action::Acknowledge | Action::Resolve, Status::Resolved) => Refusal::AlreadyResolved {
                    id,
                    by: name(&self.resolved_by),
                    hint: Hint(Status::Resolved),
                },
                (_, Status::Closed) => Refusal::AlreadyClosed { id },
                (action, status) => Refusal::NotAllowed {
                    id,
                    action: action.verb(),
                    status,
                    hint: Hint(status),
                },
            });
        }
        match action {
            Action::Acknowledge => {
                self.acknowledged_at = Some(at);
                self.acknowledged_by = Some(by.clone());
                if self.assignee.is_none() {
                    self.assignee = Some(by.clone());
                }
            }
            Action::Resolve => {
                self.resolved_at = Some(at);
                self.resolved_by = Some(by.clone());
                self.resolution = note.map(str::to_string);
            }
            Action::Close => {
                self.closed_at = Some(at);
                self.closed_by = Some(by.clone());
            }
        }
        self.status = action.target();
        self.touch(at);
        Ok(())
    }

    /// Changes severity (either direction) while the incident is active.
    pub fn set_severity(&mut self, severity: Severity, at: OffsetDateTime) -> Result<Severity, Refusal> {
        self.require_active("change the severity of")?;
        if self.severity == severity {
            return Err(Refusal::SameSeverity {
                id: self.id.clone(),
                severity,
            });
        }
        let previous = std::mem::replace(&mut self.severity, severity);
        self.touch(at);
        Ok(previous)
    }

    /// Assigns the incident; allowed until it is closed.
    pub fn assign(&mut self, who: UserRef, at: OffsetDateTime) -> Result<Option<UserRef>, Refusal> {
        self.require_open_for("assign")?;
        if self.assignee.as_ref().is_some_and(|a| a.id == who.id) {
            return Err(Refusal::SameAssignee {
                id: self.id.clone(),
                who: who.display().to_string(),
            });
        }
        let previous = self.assignee.replace(who);
        self.touch(at);
        Ok(previous)
    }

    /// Adds a note; allowed until the incident is closed.
    pub fn note(&mut self, at: OffsetDateTime) -> Result<(), Refusal> {
        self.require_open_for("update")?;
        self.touch(at);
        Ok(())
    }

    fn require_active(&self, action: &'static str) -> Result<(), Refusal> {
        if self.status.is_active() {
            return Ok(());
        }
        if self.status == Status::Closed {
            return Err(Refusal::AlreadyClosed { id: self.id.clone() });
        }
        Err(Refusal::NotAllowed {
            id: self.id.clone(),
            action,
            status: self.status,
            hint: Hint(self.status),
        })
    }

    fn require_open_for(&self, _action: &'static str) -> Result<(), Refusal> {
        if self.status == Status::Closed {
            return Err(Refusal::AlreadyClosed { id: self.id.clone() });
        }
        Ok(())
    }

    /// Something was recorded about the incident without changing it (a notification sent):
    /// its version moves on, so the timeline entry commits with it.
    pub fn record_activity(&mut self, at: OffsetDateTime) {
        self.touch(at);
    }

    fn touch(&mut self, at: OffsetDateTime) {
        self.updated_at = at;
        self.version += 1;
    }

    /// The channel the incident lives in on `provider`: its war room there, else the channel it
    /// was declared in (if declared on that provider).
    pub fn home_channel(&self, provider: &str) -> Option<&str> {
        if let Some(room) = self.war_room.as_ref().filter(|w| w.provider == provider) {
            return Some(&room.channel);
        }
        (self.origin.provider == provider)
            .then_some(self.origin.channel.as_deref())
            .flatten()
    }

    /// Records the war room; `false` if it already had this one.
    pub fn set_war_room(&mut self, room: WarRoom, at: OffsetDateTime) -> Result<bool, Refusal> {
        self.require_open_for("open a war room for")?;
        if self.war_room.as_ref() == Some(&room) {
            return Ok(false);
        }
        self.war_room = Some(room);
        self.touch(at);
        Ok(true)
    }

    /// Changes the service while the incident is not closed.
    pub fn set_service(&mut self, service: String, at: OffsetDateTime) -> Result<Option<String>, Refusal> {
        self.require_open_for("change the service of")?;
        if self.service.as_deref() == Some(service.as_str()) {
            return Err(Refusal::SameService {
                id: self.id.clone(),
                service,
            });
        }
        let previous = self.service.replace(service);
        self.touch(at);
        Ok(previous)
    }

    /// Records an SLA breach once; `false` if it was already recorded.
    pub fn record_breach(&mut self, target: &str, at: OffsetDateTime) -> bool {
        if self.sla_breaches.iter().any(|t| t == target) {
            return false;
        }
        self.sla_breaches.push(target.to_string());
        self.touch(at);
        true
    }

    /// Seconds from declaration to acknowledgement, if acknowledged.
    pub fn time_to_acknowledge(&self) -> Option<time::Duration> {
        self.acknowledged_at.map(|t| t - self.declared_at)
    }

    /// Seconds from declaration to resolution, if resolved.
    pub fn time_to_resolve(&self) -> Option<time::Duration> {
        self.resolved_at.map(|t| t - self.declared_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn incident(status: Status) -> Incident {
        let mut incident = crate::memory::incident(1, Severity::Sev2, status);
        incident.commander = None;
        incident
    }

    fn bob() -> UserRef {
        UserRef::new("U2", Some("bob".into()))
    }

    const AT: OffsetDateTime = datetime!(2026-11-27 10:05 UTC);

    #[test]
    fn ids_are_normalised_from_what_people_type() {
        assert_eq!(IncidentId::new(2026, 1).as_str(), "INC-2026-001");
        assert_eq!(IncidentId::new(2026, 1234).as_str(), "INC-2026-1234");
        assert_eq!(IncidentId::parse("inc-2026-7").map(|i| i.0), Ok("INC-2026-007".into()));
        assert_eq!(
            IncidentId::parse("INC-2024-001").map(|i| i.0),
            Ok("INC-2024-001".into())
        );
        assert_eq!(IncidentId::parse("INC-12345").map(|i| i.0), Ok("INC-12345".into()));
        for bad in [
            "",
            "INC-",
            "INC-abc",
            "2026-001",
            "INC-2026-",
            "INC-26-1",
            "incident",
            "INC-1-2-3",
        ] {
            assert!(IncidentId::parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn severities_parse_in_the_forms_people_type() {
        for (input, want) in [
            ("SEV-1", Severity::Sev1),
            ("sev1", Severity::Sev1),
            ("Sev_2", Severity::Sev2),
            ("3", Severity::Sev3),
            ("p4", Severity::Sev4),
            ("critical", Severity::Sev1),
        ] {
            assert_eq!(Severity::parse(input), Ok(want), "{input}");
        }
        for bad in ["SEV-5", "sev0", "", "urgent", "SEV--1x"] {
            assert!(Severity::parse(bad).is_err(), "{bad}");
        }
        assert!(Severity::Sev1 < Severity::Sev4);
    }

    #[test]
    fn allowed_transitions_apply_and_bump_the_version() {
        let mut inc = incident(Status::Open);
        inc.transition(Action::Acknowledge, &bob(), None, AT)
            .expect("open -> ack");
        assert_eq!(inc.status, Status::Acknowledged);
        assert_eq!(inc.acknowledged_by, Some(bob()));
        assert_eq!(inc.assignee, Some(bob()), "acknowledging takes ownership");
        assert_eq!(inc.version, 2);
        inc.transition(Action::Resolve, &bob(), Some("restarted"), AT)
            .expect("ack -> resolved");
        assert_eq!(inc.resolution.as_deref(), Some("restarted"));
        inc.transition(Action::Close, &bob(), None, AT)
            .expect("resolved -> closed");
        assert_eq!(inc.status, Status::Closed);
        assert_eq!(inc.version, 4);

        let mut direct = incident(Status::Open);
        direct
            .transition(Action::Resolve, &bob(), None, AT)
            .expect("open -> resolved");
        assert_eq!(direct.status, Status::Resolved);
        assert_eq!(direct.time_to_resolve(), Some(time::Duration::minutes(5)));
    }

    #[test]
    fn refused_transitions_say_what_is_allowed() {
        let cases = [
            (
                Status::Open,
                Action::Close,
                "Cannot close INC-2026-001: it is Open. It can be acknowledged or resolved.",
            ),
            (
                Status::Acknowledged,
                Action::Acknowledge,
                "INC-2026-001 is already acknowledged by alice.",
            ),
            (
                Status::Acknowledged,
                Action::Close,
                "Cannot close INC-2026-001: it is Acknowledged. It can only be resolved.",
            ),
            (
                Status::Resolved,
                Action::Acknowledge,
                "INC-2026-001 is already resolved. It can only be closed.",
            ),
            (
                Status::Resolved,
                Action::Resolve,
                "INC-2026-001 is already resolved. It can only be closed.",
            ),
            (Status::Closed, Action::Acknowledge, "INC-2026-001 is already closed."),
            (Status::Closed, Action::Resolve, "INC-2026-001 is already closed."),
            (Status::Closed, Action::Close, "INC-2026-001 is already closed."),
        ];
        for (status, action, message) in cases {
            let mut inc = incident(status);
            if status == Status::Acknowledged {
                inc.acknowledged_by = Some(UserRef::new("U1", Some("alice".into())));
            }
            let before = inc.clone();
            let err = inc.transition(action, &bob(), None, AT).expect_err("refused");
            assert_eq!(err.to_string(), message, "{status:?} {action:?}");
            assert_eq!(inc, before, "a refused transition changes nothing");
        }
    }

    #[test]
    fn severity_assignment_and_notes_follow_the_lifecycle() {
        let mut inc = incident(Status::Open);
        assert_eq!(inc.set_severity(Severity::Sev1, AT), Ok(Severity::Sev2));
        assert_eq!(
            inc.set_severity(Severity::Sev1, AT).map_err(|e| e.to_string()),
            Err("INC-2026-001 is already SEV-1.".into())
        );
        assert_eq!(inc.assign(bob(), AT), Ok(None));
        assert!(inc.assign(bob(), AT).is_err());
        assert!(inc.note(AT).is_ok());

        let mut resolved = incident(Status::Resolved);
        assert_eq!(
            resolved.set_severity(Severity::Sev1, AT).map_err(|e| e.to_string()),
            Err("Cannot change the severity of INC-2026-001: it is Resolved. It can only be closed.".into())
        );
        assert!(resolved.note(AT).is_ok(), "post-incident notes are welcome");
        let mut closed = incident(Status::Closed);
        assert!(closed.note(AT).is_err());
        assert!(closed.assign(bob(), AT).is_err());
    }
}
