//! The actions an incident card offers and what each one does, once for every platform.
//!
//! A platform adapter turns a click or a menu choice into an [`ActionRef`] (action key, incident,
//! choice); [`ActionRef::resolve`] turns that into what to do: a command through the same use
//! cases, RBAC and timeline as the slash commands, a read, a form, or the war room.
//!
//! Wire form: the key's id (`im:ack`) plus the incident (`INC-2026-001`) and, for menus, the
//! choice (`INC-2026-001|SEV-2`). [`ActionRef::encode`] packs all three in one string of at most
//! 100 characters for platforms with one custom id per element (Discord, Teams, Mattermost).

use std::fmt;

use crate::command::{Assignee, Command, MAX_SERVICE, valid_service};
use crate::custom::CustomAction;
use crate::incident::{Action, Incident, IncidentId, Severity, Status, UserRef};
use crate::message::{Choice, Element, Style};

/// Every built-in action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionKey {
    Ack,
    WarRoom,
    Details,
    Escalate,
    StatusUpdate,
    Severity,
    Service,
    Assign,
    Transition,
    /// `im chatops interact-test`'s button: proves a click arrives and is verified; the
    /// "incident" it carries is the test's nonce, never a stored incident. Not on cards.
    Test,
    /// A choice in the bot's answer to a mention (which incident; yes, do it): completes the
    /// person's pending request with the incident it carries. Not on cards.
    Answer,
    /// One of the provider's own buttons or menus ([`crate::custom`]); the choice names it
    /// (`rollback`, `runbook:restart`).
    Custom,
    /// The card's "More…" menu: each choice is another action, `<key id>|<choice>`
    /// (`im:transition|resolve`, `im:custom|rollback`), see [`ActionRef::unfold`].
    More,
}

impl ActionKey {
    pub const ALL: [ActionKey; 9] = [
        ActionKey::Ack,
        ActionKey::WarRoom,
        ActionKey::Details,
        ActionKey::Escalate,
        ActionKey::StatusUpdate,
        ActionKey::Severity,
        ActionKey::Service,
        ActionKey::Assign,
        ActionKey::Transition,
    ];

    /// The id platforms carry (`im:ack`).
    pub fn id(self) -> &'static str {
        match self {
            ActionKey::Ack => "im:ack",
            ActionKey::WarRoom => "im:war_room",
            ActionKey::Details => "im:details",
            ActionKey::Escalate => "im:escalate",
            ActionKey::StatusUpdate => "im:status_update",
            ActionKey::Severity => "im:severity",
            ActionKey::Service => "im:service",
            ActionKey::Assign => "im:assign",
            ActionKey::Transition => "im:transition",
            ActionKey::Test => "im:test",
            ActionKey::Answer => "im:answer",
            ActionKey::Custom => "im:custom",
            ActionKey::More => "im:more",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain([ActionKey::Test, ActionKey::Answer, ActionKey::Custom, ActionKey::More])
            .find(|k| k.id() == id)
    }

    /// What a person sees (and the timeline records: `[Acknowledge] INC-2026-001`).
    pub fn label(self) -> &'static str {
        match self {
            ActionKey::Ack => "Acknowledge",
            ActionKey::WarRoom => "Join War Room",
            ActionKey::Details => "View Details",
            ActionKey::Escalate => "Escalate",
            ActionKey::StatusUpdate => "Status Update",
            ActionKey::Severity => "Severity",
            ActionKey::Service => "Service",
            ActionKey::Assign => "Assign",
            ActionKey::Transition => "Status",
            ActionKey::Test => "Interactivity test",
            ActionKey::Answer => "Answer",
            ActionKey::Custom => "Custom",
            ActionKey::More => "More…",
        }
    }

    /// The RBAC name of the action: the command it amounts to.
    pub fn policy_name(self) -> &'static str {
        match self {
            ActionKey::Ack => "ack",
            ActionKey::WarRoom => "war_room",
            ActionKey::Details => "status",
            ActionKey::Escalate | ActionKey::Severity => "escalate",
            ActionKey::StatusUpdate => "update",
            ActionKey::Service => "service",
            ActionKey::Assign => "assign",
            ActionKey::Transition => "transition",
            // What the answer completes is checked as that command when it runs; a custom
            // action and a "More…" choice are checked as what they run.
            ActionKey::Test | ActionKey::Answer | ActionKey::More => "status",
            ActionKey::Custom => "custom",
        }
    }

    /// Whether using it changes the incident (RBAC default: responder rather than viewer).
    pub fn changes(self) -> bool {
        !matches!(self, ActionKey::Details | ActionKey::Test | ActionKey::Answer)
    }
}

impl fmt::Display for ActionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A used element: which action, on which incident, with which choice (menus).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionRef {
    pub key: ActionKey,
    pub incident: IncidentId,
    pub choice: Option<String>,
}

/// Longest custom id a platform allows (Discord's is the smallest: 100).
pub const MAX_CUSTOM_ID: usize = 100;

/// Longest menu value we accept back.
const MAX_CHOICE: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("unknown action `{0}`")]
    UnknownAction(String),
    #[error("the action does not name an incident")]
    NoIncident,
    #[error("`{0}` is not a valid choice here")]
    BadChoice(String),
    #[error("`{0}` is not offered on this incident (any more)")]
    NotOffered(String),
    #[error("{0} has no service yet; set one first")]
    NoService(IncidentId),
}

impl ActionRef {
    pub fn new(key: ActionKey, incident: IncidentId, choice: Option<String>) -> Self {
        Self { key, incident, choice }
    }

    /// `im:ack|INC-2026-001` or `im:severity|INC-2026-001|SEV-2`: one string for platforms
    /// with one id per element; at most [`MAX_CUSTOM_ID`] characters for every built-in value.
    pub fn encode(&self) -> String {
        match &self.choice {
            Some(c) => format!("{}|{}|{c}", self.key.id(), self.incident),
            None => format!("{}|{}", self.key.id(), self.incident),
        }
    }

    /// Reads [`Self::encode`]'s form.
    pub fn decode(s: &str) -> Result<Self, ActionError> {
        let mut parts = s.splitn(3, '|');
        let key = parts.next().unwrap_or("");
        let key = ActionKey::from_id(key).ok_or_else(|| ActionError::UnknownAction(key.chars().take(40).collect()))?;
        let incident = parts
            .next()
            .and_then(|i| IncidentId::parse(i).ok())
            .ok_or(ActionError::NoIncident)?;
        Ok(Self::new(key, incident, parts.next().map(str::to_string)))
    }

    /// From an action id and a value that is `INC-…` or `INC-…|choice` (Slack's shape), with a
    /// fallback place for the incident (a block id such as `im:menus:INC-…`) and a chosen user
    /// for people pickers.
    pub fn from_parts(action_id: &str, value: Option<&str>, container: Option<&str>) -> Result<Self, ActionError> {
        let key = ActionKey::from_id(action_id)
            .ok_or_else(|| ActionError::UnknownAction(action_id.chars().take(40).collect()))?;
        let (incident, choice) = match value.map(|v| v.split_once('|').unwrap_or((v, ""))) {
            Some((first, rest)) if IncidentId::parse(first).is_ok() => {
                (first.to_string(), (!rest.is_empty()).then(|| rest.to_string()))
            }
            // A user picker's value is the person; the incident comes from the container.
            Some((_, _)) => (
                container.and_then(|c| c.rsplit(':').next()).unwrap_or("").to_string(),
                value.map(str::to_string),
            ),
            None => (
                container.and_then(|c| c.rsplit(':').next()).unwrap_or("").to_string(),
                None,
            ),
        };
        let incident = IncidentId::parse(&incident).map_err(|_| ActionError::NoIncident)?;
        Ok(Self::new(key, incident, choice))
    }

    /// A choice of the "More…" menu as the action it stands for (anything else as it is).
    pub fn unfold(self) -> Result<Self, ActionError> {
        if self.key != ActionKey::More {
            return Ok(self);
        }
        let choice = self.choice.as_deref().unwrap_or("");
        let (key, inner) = choice.split_once('|').unwrap_or((choice, ""));
        let key = ActionKey::from_id(key)
            .filter(|k| !matches!(k, ActionKey::More | ActionKey::Test | ActionKey::Answer))
            .ok_or_else(|| ActionError::BadChoice(choice.chars().take(MAX_CHOICE).collect()))?;
        Ok(Self::new(
            key,
            self.incident,
            (!inner.is_empty()).then(|| inner.to_string()),
        ))
    }

    /// `[Acknowledge] INC-2026-001`, `[Service: payments] INC-2026-001`, `[rollback]
    /// INC-2026-001` (a custom action): what the timeline records as the command.
    pub fn command_line(&self) -> String {
        let choice = self.choice.as_deref().filter(|c| !c.is_empty());
        if let (ActionKey::Custom, Some(choice)) = (self.key, choice) {
            return format!("[{choice}] {}", self.incident);
        }
        match choice {
            Some(choice) => format!("[{}: {choice}] {}", self.key.label(), self.incident),
            None => format!("[{}] {}", self.key.label(), self.incident),
        }
    }

    /// What the action does, checked like a typed command: menu values are validated (length,
    /// characters, the provider's `services` list when it has one), and a choice the incident
    /// does not offer is refused. `current` is the incident as stored (for Escalate).
    /// `provider` is the provider the person acted through: a picked user belongs to it;
    /// `custom` its own actions.
    pub fn resolve(
        &self,
        current: Option<&Incident>,
        services: &[String],
        custom: &[CustomAction],
        provider: &str,
    ) -> Result<Resolved, ActionError> {
        let id = self.incident.clone();
        let bad = |c: &str| ActionError::BadChoice(c.chars().take(MAX_CHOICE).collect());
        let choice = self.choice.as_deref().map(str::trim).filter(|c| !c.is_empty());
        if let Some(c) = choice
            && (c.chars().count() > MAX_CHOICE || c.chars().any(char::is_control))
        {
            return Err(bad(c));
        }
        Ok(match self.key {
            ActionKey::Ack => Resolved::Command(Command::Ack { id, note: None }),
            ActionKey::Details => Resolved::Command(Command::Status { id }),
            ActionKey::StatusUpdate => Resolved::StatusForm(id),
            ActionKey::WarRoom => Resolved::WarRoom(id),
            ActionKey::Escalate => match current {
                None => Resolved::NotFound(id),
                Some(incident) => match next_severity(incident.severity) {
                    Some(severity) => Resolved::Command(Command::Escalate { id, severity }),
                    None => Resolved::AlreadyTop(id),
                },
            },
            ActionKey::Severity => {
                let c = choice.ok_or_else(|| bad(""))?;
                let severity = Severity::parse(c).map_err(|_| bad(c))?;
                Resolved::Command(Command::Escalate { id, severity })
            }
            ActionKey::Service => {
                let c = choice.ok_or_else(|| bad(""))?;
                let offered = services.is_empty() || services.iter().any(|s| s == c);
                if !offered || c.chars().count() > MAX_SERVICE || !valid_service(c) {
                    return Err(bad(c));
                }
                Resolved::Command(Command::SetService {
                    id,
                    service: c.to_string(),
                })
            }
            ActionKey::Assign => {
                let c = choice.ok_or_else(|| bad(""))?;
                if !c
                    .chars()
                    .all(|ch| ch.is_alphanumeric() || matches!(ch, '-' | '_' | '.' | ':' | '@'))
                {
                    return Err(bad(c));
                }
                Resolved::Command(Command::Assign {
                    id,
                    assignee: Assignee::User(UserRef::new(c, None).on(provider)),
                })
            }
            ActionKey::Transition => match choice {
                Some("acknowledge") => Resolved::Command(Command::Ack { id, note: None }),
                Some("resolve") => Resolved::Command(Command::Resolve { id, note: None }),
                Some("close") => Resolved::Command(Command::Close { id }),
                other => return Err(bad(other.unwrap_or(""))),
            },
            ActionKey::Test => Resolved::Test(id),
            ActionKey::Answer => Resolved::Answer(id),
            ActionKey::Custom => match current {
                None => Resolved::NotFound(id),
                Some(incident) => Resolved::Command(crate::custom::resolve(custom, choice.unwrap_or(""), incident)?),
            },
            ActionKey::More => return self.clone().unfold()?.resolve(current, services, custom, provider),
        })
    }
}

/// The marker the gateway sets when a click on `im chatops interact-test`'s button for
/// `provider` arrives and passes every gate; the command waits for it.
pub fn interact_test_mark(provider: &str, nonce: &IncidentId) -> String {
    format!("interact-test:{provider}:{nonce}")
}

/// What a used element amounts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Run through the use cases like a typed command.
    Command(Command),
    /// Open the Status Update form (a modal where the platform has one).
    StatusForm(IncidentId),
    /// Create or join the incident's war room (slow: done by the interaction worker).
    WarRoom(IncidentId),
    /// Escalate on a SEV-1.
    AlreadyTop(IncidentId),
    NotFound(IncidentId),
    /// `interact-test`'s button, carrying the test's nonce.
    Test(IncidentId),
    /// An answer to the bot's question: complete the pending request with this incident.
    Answer(IncidentId),
}

/// The one-level-more-severe severity for the Escalate button.
pub fn next_severity(current: Severity) -> Option<Severity> {
    match current {
        Severity::Sev1 => None,
        Severity::Sev2 => Some(Severity::Sev1),
        Severity::Sev3 => Some(Severity::Sev2),
        Severity::Sev4 => Some(Severity::Sev3),
    }
}

fn transition_label(a: Action) -> &'static str {
    match a {
        Action::Acknowledge => "Acknowledge",
        Action::Resolve => "Resolve",
        Action::Close => "Close",
    }
}

/// The buttons an incident offers in its current state (none once closed).
pub fn buttons(incident: &Incident) -> Vec<Element> {
    if incident.status == Status::Closed {
        return Vec::new();
    }
    let button = |action: ActionKey, style: Style| Element::Button {
        action,
        label: action.label().to_string(),
        style,
        incident: incident.id.clone(),
        value: None,
    };
    let mut out = Vec::new();
    if incident.status == Status::Open {
        out.push(button(ActionKey::Ack, Style::Primary));
    }
    out.push(button(ActionKey::WarRoom, Style::Default));
    out.push(button(ActionKey::Details, Style::Default));
    if incident.severity > Severity::Sev1 && incident.status.is_active() {
        out.push(button(ActionKey::Escalate, Style::Danger));
    }
    out.push(button(ActionKey::StatusUpdate, Style::Default));
    out
}

/// The selection menus an incident offers: severity (while active), service (when the provider
/// lists services), assignee (the owning team's members where given, else anyone), and the
/// allowed next status.
pub fn menus(incident: &Incident, services: &[String], assignees: &[Choice]) -> Vec<Element> {
    if incident.status == Status::Closed {
        return Vec::new();
    }
    let id = &incident.id;
    let mut out = Vec::new();
    if incident.status.is_active() {
        out.push(Element::Select {
            action: ActionKey::Severity,
            placeholder: "Severity".into(),
            options: Severity::ALL
                .iter()
                .map(|s| Choice {
                    label: s.as_str().into(),
                    value: s.as_str().into(),
                })
                .collect(),
            selected: Some(incident.severity.as_str().into()),
            incident: id.clone(),
        });
    }
    if !services.is_empty() {
        out.push(Element::Select {
            action: ActionKey::Service,
            placeholder: "Service".into(),
            options: services
                .iter()
                .take(25)
                .map(|s| Choice {
                    label: s.clone(),
                    value: s.clone(),
                })
                .collect(),
            selected: incident.service.clone().filter(|s| services.contains(s)),
            incident: id.clone(),
        });
    }
    if assignees.is_empty() {
        out.push(Element::UserSelect {
            action: ActionKey::Assign,
            placeholder: "Assign to…".into(),
            selected: incident.assignee.clone(),
            incident: id.clone(),
        });
    } else {
        out.push(Element::Select {
            action: ActionKey::Assign,
            placeholder: "Assign to…".into(),
            options: assignees.to_vec(),
            selected: incident
                .assignee
                .as_ref()
                .map(|a| a.id.clone())
                .filter(|a| assignees.iter().any(|c| &c.value == a)),
            incident: id.clone(),
        });
    }
    let next: Vec<Choice> = incident
        .status
        .allowed_actions()
        .iter()
        .map(|a| Choice {
            label: transition_label(*a).into(),
            value: a.verb().into(),
        })
        .collect();
    if !next.is_empty() {
        out.push(Element::Select {
            action: ActionKey::Transition,
            placeholder: "Change status…".into(),
            options: next,
            selected: None,
            incident: id.clone(),
        });
    }
    out
}

/// How many controls a platform's card carries: buttons, selection menus, options in a menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Room {
    pub buttons: usize,
    pub menus: usize,
    pub options: usize,
}

/// Room for whatever a card offers (Slack: 25 elements per actions block).
pub const AMPLE: Room = Room {
    buttons: 25,
    menus: 25,
    options: 100,
};

/// The card's buttons and menus: the built-in ones ([`buttons`], [`menus`]), then the
/// provider's own ([`crate::custom`]) where the platform has `room`. Whatever does not fit waits
/// behind one "More…" menu, which takes the last menu's place when the menus are full and then
/// offers that menu's choices too (on Discord: the status choices, beside the custom actions).
pub fn controls(
    incident: &Incident,
    services: &[String],
    assignees: &[Choice],
    custom: &[CustomAction],
    room: Room,
) -> (Vec<Element>, Vec<Element>) {
    let mut buttons = buttons(incident);
    let mut menus = menus(incident, services, assignees);
    let mut more = Vec::new();
    for element in custom
        .iter()
        .filter(|a| a.offered(incident))
        .map(|a| a.element(&incident.id))
    {
        match element {
            Element::Button { .. } if buttons.len() < room.buttons => buttons.push(element),
            Element::Select { .. } if menus.len() < room.menus => menus.push(element),
            other => more.push(other),
        }
    }
    if more.is_empty() {
        return (buttons, menus);
    }
    // Make room: the last menu that can be written as choices moves into "More…" (an active
    // incident always has one: the status menu).
    if menus.len() >= room.menus
        && let Some(last) = menus.iter().rposition(|m| matches!(m, Element::Select { .. }))
    {
        more.insert(0, menus.remove(last));
    }
    let options: Vec<Choice> = more.iter().flat_map(more_choices).take(room.options).collect();
    menus.push(Element::Select {
        action: ActionKey::More,
        placeholder: ActionKey::More.label().into(),
        options,
        selected: None,
        incident: incident.id.clone(),
    });
    (buttons, menus)
}

/// An element as choices of the "More…" menu: its value is `<key id>|<choice>`; a custom
/// menu's options are labelled with its name (`Runbook: Restart pods`).
fn more_choices(element: &Element) -> Vec<Choice> {
    let choice = |label: String, value: &str| Choice {
        label,
        value: format!("{}|{value}", element.action().id()),
    };
    match element {
        Element::Button { label, value, .. } => vec![choice(label.clone(), value.as_deref().unwrap_or(""))],
        Element::Select {
            action,
            placeholder,
            options,
            ..
        } => options
            .iter()
            .map(|o| match action {
                ActionKey::Custom => choice(format!("{placeholder}: {}", o.label), &o.value),
                _ => choice(o.label.clone(), &o.value),
            })
            .collect(),
        Element::UserSelect { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_teams_members_replace_the_people_picker() {
        let mut inc = crate::memory::incident(1, Severity::Sev3, Status::Open);
        let members = vec![
            Choice {
                label: "Ann".into(),
                value: "U0ANN".into(),
            },
            Choice {
                label: "U0BOB".into(),
                value: "U0BOB".into(),
            },
        ];
        let assign = |inc: &Incident, members: &[Choice]| {
            menus(inc, &[], members)
                .into_iter()
                .find(|e| e.action() == ActionKey::Assign)
                .expect("an assignee menu")
        };
        assert!(matches!(assign(&inc, &[]), Element::UserSelect { .. }));
        let Element::Select { options, selected, .. } = assign(&inc, &members) else {
            panic!("a menu of the team's members")
        };
        assert_eq!((options, selected), (members.clone(), None));
        inc.assignee = Some(UserRef::new("U0BOB", None));
        assert!(matches!(assign(&inc, &members), Element::Select { selected: Some(s), .. } if s == "U0BOB"));
        inc.assignee = Some(UserRef::new("U0EVE", None));
        assert!(
            matches!(assign(&inc, &members), Element::Select { selected: None, .. }),
            "someone outside the team is not shown as chosen"
        );
    }

    #[test]
    fn the_interact_test_marker_names_provider_and_nonce() {
        let nonce = IncidentId::new(2026, 1_234_567);
        assert_eq!(
            interact_test_mark("acme", &nonce),
            "interact-test:acme:INC-2026-1234567"
        );
        assert_ne!(interact_test_mark("acme", &nonce), interact_test_mark("beta", &nonce));
        assert_eq!(ActionKey::from_id("im:test"), Some(ActionKey::Test));
        assert!(!ActionKey::ALL.contains(&ActionKey::Test), "never on a card");
        assert!(!ActionKey::Test.changes());
    }

    use super::*;

    fn id() -> IncidentId {
        IncidentId::new(2026, 1)
    }

    fn incident(status: Status, severity: Severity) -> Incident {
        crate::memory::incident(1, severity, status)
    }

    fn keys(elements: &[Element]) -> Vec<&'static str> {
        elements.iter().map(|e| e.action().id()).collect()
    }

    #[test]
    fn open_incident_offers_every_button_and_menu() {
        let inc = incident(Status::Open, Severity::Sev3);
        assert_eq!(
            keys(&buttons(&inc)),
            ["im:ack", "im:war_room", "im:details", "im:escalate", "im:status_update"]
        );
        let services = ["checkout".to_string(), "payments".to_string()];
        assert_eq!(
            keys(&menus(&inc, &services, &[])),
            ["im:severity", "im:service", "im:assign", "im:transition"]
        );
        assert_eq!(
            keys(&menus(&inc, &[], &[])),
            ["im:severity", "im:assign", "im:transition"]
        );
    }

    #[test]
    fn state_decides_the_actions() {
        let ack = incident(Status::Acknowledged, Severity::Sev1);
        assert_eq!(keys(&buttons(&ack)), ["im:war_room", "im:details", "im:status_update"]);
        let sev2 = incident(Status::Acknowledged, Severity::Sev2);
        assert!(keys(&buttons(&sev2)).contains(&"im:escalate"));
        let resolved = incident(Status::Resolved, Severity::Sev2);
        assert!(!keys(&buttons(&resolved)).contains(&"im:escalate"));
        assert_eq!(keys(&menus(&resolved, &[], &[])), ["im:assign", "im:transition"]);
        let closed = incident(Status::Closed, Severity::Sev2);
        assert!(buttons(&closed).is_empty() && menus(&closed, &["x".into()], &[]).is_empty());
    }

    #[test]
    fn encode_decode_round_trip_within_discords_limit() {
        let a = ActionRef::new(
            ActionKey::Severity,
            IncidentId::new(2026, 123_456),
            Some("SEV-1".into()),
        );
        assert_eq!(a.encode(), "im:severity|INC-2026-123456|SEV-1");
        assert_eq!(ActionRef::decode(&a.encode()), Ok(a));
        let long = ActionRef::new(
            ActionKey::Transition,
            IncidentId::new(9999, 999_999_999_999),
            Some("x".repeat(64)),
        );
        assert!(long.encode().chars().count() <= MAX_CUSTOM_ID);
        assert_eq!(
            ActionRef::decode("im:nope|INC-2026-001"),
            Err(ActionError::UnknownAction("im:nope".into()))
        );
        assert_eq!(ActionRef::decode("im:ack|garbage"), Err(ActionError::NoIncident));
        assert_eq!(ActionRef::decode("im:ack"), Err(ActionError::NoIncident));
    }

    #[test]
    fn slack_shaped_parts() {
        let a = ActionRef::from_parts("im:severity", Some("INC-2026-001|SEV-2"), None).expect("ok");
        assert_eq!((a.incident, a.choice.as_deref()), (id(), Some("SEV-2")));
        let user = ActionRef::from_parts("im:assign", Some("U9"), Some("im:menus:INC-2026-001")).expect("ok");
        assert_eq!((user.incident, user.choice.as_deref()), (id(), Some("U9")));
        let plain = ActionRef::from_parts("im:ack", Some("INC-2026-001"), None).expect("ok");
        assert_eq!(plain.choice, None);
        assert_eq!(plain.command_line(), "[Acknowledge] INC-2026-001");
        assert_eq!(
            ActionRef::from_parts("im:ack", None, Some("im:buttons:INC-2026-001"))
                .expect("ok")
                .incident,
            id()
        );
        assert!(ActionRef::from_parts("im:ack", None, None).is_err());
        assert!(ActionRef::from_parts("x", Some("INC-2026-001"), None).is_err());
    }

    #[test]
    fn menu_values_are_checked_like_typed_fields() {
        let inc = incident(Status::Open, Severity::Sev3);
        let act = |key, choice: &str| ActionRef::new(key, id(), Some(choice.to_string()));
        let services = ["checkout".to_string()];
        assert!(matches!(
            act(ActionKey::Service, "checkout").resolve(Some(&inc), &services, &[], "acme"),
            Ok(Resolved::Command(Command::SetService { .. }))
        ));
        assert!(
            act(ActionKey::Service, "payments")
                .resolve(Some(&inc), &services, &[], "acme")
                .is_err(),
            "not offered"
        );
        assert!(
            act(ActionKey::Service, "<!channel>")
                .resolve(Some(&inc), &[], &[], "acme")
                .is_err()
        );
        assert!(
            act(ActionKey::Service, &"s".repeat(65))
                .resolve(Some(&inc), &[], &[], "acme")
                .is_err()
        );
        assert!(
            act(ActionKey::Severity, "SEV-9")
                .resolve(Some(&inc), &[], &[], "acme")
                .is_err()
        );
        assert!(
            act(ActionKey::Assign, "<@U1> hi")
                .resolve(Some(&inc), &[], &[], "acme")
                .is_err()
        );
        assert!(
            act(ActionKey::Assign, "line\nbreak")
                .resolve(Some(&inc), &[], &[], "acme")
                .is_err()
        );
        assert!(
            act(ActionKey::Transition, "explode")
                .resolve(Some(&inc), &[], &[], "acme")
                .is_err()
        );
        assert!(
            ActionRef::new(ActionKey::Severity, id(), None)
                .resolve(Some(&inc), &[], &[], "acme")
                .is_err()
        );
        assert_eq!(
            act(ActionKey::Transition, "close").resolve(Some(&inc), &[], &[], "acme"),
            Ok(Resolved::Command(Command::Close { id: id() }))
        );
        assert_eq!(
            act(ActionKey::Assign, "U0CAROL").resolve(Some(&inc), &[], &[], "acme"),
            Ok(Resolved::Command(Command::Assign {
                id: id(),
                assignee: Assignee::User(UserRef::new("U0CAROL", None).on("acme"))
            }))
        );
    }

    #[test]
    fn every_action_has_a_policy_name_and_only_details_is_a_read() {
        let viewer: crate::rbac::AccessPolicy =
            serde_json::from_value(serde_json::json!({"default_role": "viewer"})).expect("policy");
        let allowed: Vec<&str> = ActionKey::ALL
            .into_iter()
            .filter(|k| viewer.check("U1", k.policy_name(), k.changes()).is_ok())
            .map(ActionKey::id)
            .collect();
        assert_eq!(allowed, ["im:details"], "a viewer may only look");
        let names: Vec<&str> = ActionKey::ALL.into_iter().map(ActionKey::policy_name).collect();
        assert_eq!(
            names,
            [
                "ack",
                "war_room",
                "status",
                "escalate",
                "update",
                "escalate",
                "service",
                "assign",
                "transition"
            ]
        );
        let strict: crate::rbac::AccessPolicy =
            serde_json::from_value(serde_json::json!({"commands": {"service": "commander"}})).expect("policy");
        assert!(strict.check("U1", ActionKey::Service.policy_name(), true).is_err());
        assert!(strict.check("U1", ActionKey::Assign.policy_name(), true).is_ok());
        assert_eq!(ActionKey::Transition.to_string(), "im:transition");
    }

    #[test]
    fn choices_are_bounded() {
        let inc = incident(Status::Open, Severity::Sev3);
        let act = |key, choice: String| ActionRef::new(key, id(), Some(choice));
        assert!(
            act(ActionKey::Assign, "u".repeat(80))
                .resolve(Some(&inc), &[], &[], "acme")
                .is_ok()
        );
        assert!(
            act(ActionKey::Assign, "u".repeat(81))
                .resolve(Some(&inc), &[], &[], "acme")
                .is_err()
        );
        assert!(
            act(ActionKey::Service, "s".repeat(64))
                .resolve(Some(&inc), &[], &[], "acme")
                .is_ok()
        );
        assert!(
            act(ActionKey::Service, "s".repeat(65))
                .resolve(Some(&inc), &[], &[], "acme")
                .is_err()
        );
        assert!(
            act(ActionKey::Service, "a\u{7}b".into())
                .resolve(Some(&inc), &[], &[], "acme")
                .is_err()
        );
        assert_eq!(
            ActionRef::new(ActionKey::Ack, id(), Some(String::new())).command_line(),
            "[Acknowledge] INC-2026-001",
            "an empty choice is no choice"
        );
        let labels: Vec<String> = menus(&inc, &[], &[])
            .into_iter()
            .filter_map(|m| match m {
                Element::Select {
                    action: ActionKey::Transition,
                    options,
                    ..
                } => Some(
                    options
                        .into_iter()
                        .map(|o| format!("{}={}", o.label, o.value))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                _ => None,
            })
            .collect();
        assert_eq!(labels, ["Acknowledge=acknowledge,Resolve=resolve"]);
        let resolved = incident(Status::Resolved, Severity::Sev3);
        assert!(menus(&resolved, &[], &[]).iter().any(
            |m| matches!(m, Element::Select { action: ActionKey::Transition, options, .. } if options[0].label == "Close")
        ));
    }

    fn custom() -> Vec<CustomAction> {
        serde_json::from_value(serde_json::json!([
            {"id": "rollback", "label": "Roll back", "style": "danger", "command": "deploy", "args": ["{service}"]},
            {"id": "runbook", "label": "Runbook", "command": "runbook",
             "options": [{"label": "Restart pods", "value": "restart"}]},
            {"id": "page", "label": "Page DBA", "command": "page", "severities": ["SEV-1"]}
        ]))
        .expect("actions")
    }

    fn ids(elements: &[Element]) -> Vec<String> {
        elements
            .iter()
            .map(|e| match e {
                Element::Button { value: Some(v), .. } => format!("{}={v}", e.action().id()),
                _ => e.action().id().to_string(),
            })
            .collect()
    }

    fn more_options(menus: &[Element]) -> Vec<String> {
        menus
            .iter()
            .filter_map(|m| match m {
                Element::Select {
                    action: ActionKey::More,
                    options,
                    ..
                } => Some(options.iter().map(|o| format!("{}={}", o.label, o.value))),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[test]
    fn with_room_custom_actions_follow_the_built_in_ones() {
        let mut inc = incident(Status::Open, Severity::Sev3);
        inc.service = Some("checkout".into());
        let (buttons, menus) = controls(&inc, &[], &[], &custom(), AMPLE);
        assert_eq!(
            ids(&buttons),
            [
                "im:ack",
                "im:war_room",
                "im:details",
                "im:escalate",
                "im:status_update",
                "im:custom=rollback"
            ],
            "Page DBA is for SEV-1 only"
        );
        assert_eq!(ids(&menus), ["im:severity", "im:assign", "im:transition", "im:custom"]);
        assert_eq!(
            controls(&inc, &[], &[], &[], AMPLE),
            (super::buttons(&inc), super::menus(&inc, &[], &[]))
        );
    }

    #[test]
    fn where_rows_are_full_the_rest_waits_behind_more() {
        let discord = Room {
            buttons: 5,
            menus: 4,
            options: 25,
        };
        let mut inc = incident(Status::Open, Severity::Sev1);
        inc.service = Some("checkout".into());
        let services = ["checkout".to_string()];
        let (buttons, menus) = controls(&inc, &services, &[], &custom(), discord);
        assert_eq!(
            ids(&buttons),
            [
                "im:ack",
                "im:war_room",
                "im:details",
                "im:status_update",
                "im:custom=rollback"
            ],
            "a SEV-1 has no Escalate: the first custom button takes its place"
        );
        assert_eq!(
            ids(&menus),
            ["im:severity", "im:service", "im:assign", "im:more"],
            "the status menu moved into More…"
        );
        assert_eq!(
            more_options(&menus),
            [
                "Acknowledge=im:transition|acknowledge",
                "Resolve=im:transition|resolve",
                "Runbook: Restart pods=im:custom|runbook:restart",
                "Page DBA=im:custom|page"
            ]
        );
        // With a row free, the custom menu takes it; the button that does not fit needs More…,
        // which takes the last menu's row and its choices: every built-in menu stays.
        let (_, menus) = controls(&inc, &[], &[], &custom(), discord);
        assert_eq!(ids(&menus), ["im:severity", "im:assign", "im:transition", "im:more"]);
        assert_eq!(
            more_options(&menus),
            [
                "Runbook: Restart pods=im:custom|runbook:restart",
                "Page DBA=im:custom|page"
            ]
        );
        let sev3 = incident(Status::Acknowledged, Severity::Sev3);
        let (buttons, menus) = controls(&sev3, &[], &[], &custom(), discord);
        assert_eq!(buttons.len(), 5, "no Ack once acknowledged, Escalate below SEV-1");
        assert_eq!(
            ids(&menus),
            ["im:severity", "im:assign", "im:transition", "im:custom"],
            "everything fits: no More…"
        );
        let tight = Room {
            buttons: 5,
            menus: 3,
            options: 2,
        };
        let (_, menus) = controls(&inc, &[], &[], &custom(), tight);
        assert_eq!(ids(&menus), ["im:severity", "im:assign", "im:more"]);
        assert_eq!(
            more_options(&menus).len(),
            2,
            "options are capped at the platform's limit"
        );
        let closed = incident(Status::Closed, Severity::Sev1);
        assert_eq!(controls(&closed, &[], &[], &custom(), discord), (vec![], vec![]));
    }

    #[test]
    fn a_more_choice_is_the_action_it_names() {
        let more = |choice: &str| ActionRef::new(ActionKey::More, id(), Some(choice.into()));
        assert_eq!(
            more("im:transition|resolve").unfold(),
            Ok(ActionRef::new(ActionKey::Transition, id(), Some("resolve".into())))
        );
        assert_eq!(
            more("im:custom|runbook:restart").unfold(),
            Ok(ActionRef::new(ActionKey::Custom, id(), Some("runbook:restart".into())))
        );
        assert_eq!(more("im:ack").unfold(), Ok(ActionRef::new(ActionKey::Ack, id(), None)));
        for nested in ["im:more|im:ack", "im:test|x", "im:answer", "nope|x", ""] {
            assert!(more(nested).unfold().is_err(), "{nested}");
        }
        let plain = ActionRef::new(ActionKey::Ack, id(), None);
        assert_eq!(plain.clone().unfold(), Ok(plain));
        let inc = incident(Status::Open, Severity::Sev3);
        assert_eq!(
            more("im:transition|close").resolve(Some(&inc), &[], &[], "acme"),
            Ok(Resolved::Command(Command::Close { id: id() }))
        );
        assert_eq!(
            ActionRef::new(ActionKey::Custom, id(), Some("runbook:restart".into())).command_line(),
            "[runbook:restart] INC-2026-001"
        );
        assert_eq!(ActionKey::from_id("im:more"), Some(ActionKey::More));
        assert_eq!(ActionKey::from_id("im:custom"), Some(ActionKey::Custom));
    }

    #[test]
    fn a_custom_action_runs_its_command_on_the_stored_incident() {
        let mut inc = incident(Status::Open, Severity::Sev3);
        inc.service = Some("checkout".into());
        let click = ActionRef::new(ActionKey::Custom, id(), Some("rollback".into()));
        assert_eq!(
            click.resolve(Some(&inc), &[], &custom(), "acme"),
            Ok(Resolved::Command(Command::Custom {
                name: "deploy".into(),
                args: vec!["checkout".into(), "INC-2026-001".into()]
            }))
        );
        assert_eq!(
            click.resolve(None, &[], &custom(), "acme"),
            Ok(Resolved::NotFound(id()))
        );
        assert!(
            click.resolve(Some(&inc), &[], &[], "acme").is_err(),
            "no longer configured"
        );
    }

    #[test]
    fn escalate_goes_one_level_up() {
        let esc = ActionRef::new(ActionKey::Escalate, id(), None);
        let sev3 = incident(Status::Open, Severity::Sev3);
        assert_eq!(
            esc.resolve(Some(&sev3), &[], &[], "acme"),
            Ok(Resolved::Command(Command::Escalate {
                id: id(),
                severity: Severity::Sev2
            }))
        );
        let sev1 = incident(Status::Open, Severity::Sev1);
        assert_eq!(
            esc.resolve(Some(&sev1), &[], &[], "acme"),
            Ok(Resolved::AlreadyTop(id()))
        );
        assert_eq!(esc.resolve(None, &[], &[], "acme"), Ok(Resolved::NotFound(id())));
        assert_eq!(next_severity(Severity::Sev4), Some(Severity::Sev3));
    }
}
