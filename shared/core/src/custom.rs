//! Buttons and menus an organisation adds to its incident cards (the provider's `actions`), each
//! running one of its own commands: a command registered in code
//! ([`crate::IncidentService::register_command`]) or a workflow ([`crate::workflow`]).
//!
//! ```json
//! {"actions": [
//!   {"id": "rollback", "label": "Roll back", "style": "danger", "command": "deploy",
//!    "args": ["{service}", "rollback"], "severities": ["SEV-1", "SEV-2"]},
//!   {"id": "runbook", "label": "Runbook", "command": "runbook",
//!    "options": [{"label": "Restart pods", "value": "restart"}, {"label": "Fail over", "value": "failover"}]}
//! ]}
//! ```
//! A click runs `<command> <args…> <incident> [<chosen value>]` as the person who clicked, through
//! the same gate as typing it (checked as `custom:<command>`): Roll back on INC-2026-007 of
//! service checkout runs `deploy checkout rollback INC-2026-007`. `{service}` in `args` is the
//! incident's service. A card offers an action while the incident is not closed and, where
//! given, has one of its `severities` and `services`. Where a platform's rows are full, the
//! actions wait behind the card's "More…" menu ([`crate::action::controls`]).

use serde::{Deserialize, Serialize};

use crate::action::{ActionError, ActionKey};
use crate::command::{Command, custom_name, valid_service};
use crate::incident::{Incident, IncidentId, Severity, Status};
use crate::message::{Choice, Element, Style};

/// At most this many actions per provider.
pub const MAX_ACTIONS: usize = 10;
/// At most this many options per menu.
pub const MAX_OPTIONS: usize = 10;
/// Buttons plus menu options of all actions: what a "More…" menu may have to hold (with the
/// status choices it also takes, within Discord's 25 options).
pub const MAX_CHOICES: usize = 20;
/// Longest label (a button's text, a menu's placeholder, an option's text).
pub const MAX_LABEL: usize = 40;
/// Longest option value (letters, digits, `- _ .`).
pub const MAX_VALUE: usize = 32;
/// The placeholder in `args` for the incident's service.
pub const SERVICE_ARG: &str = "{service}";

/// One custom button (no `options`) or menu.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomAction {
    /// Its id on the card and in the timeline (`[rollback] INC-2026-007`).
    pub id: String,
    /// A button's text, a menu's placeholder.
    pub label: String,
    /// Buttons only.
    #[serde(default, skip_serializing_if = "is_default")]
    pub style: Style,
    /// The command it runs: registered in code, or one of the provider's `workflows`.
    pub command: String,
    /// Arguments before the incident's id (`{service}`: the incident's service).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// A menu's choices; the chosen value follows the incident's id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    /// Only on incidents of these severities (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severities: Vec<Severity>,
    /// Only on incidents of these services (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
}

fn is_default(style: &Style) -> bool {
    *style == Style::Default
}

fn valid_value(v: &str) -> bool {
    !v.is_empty()
        && v.chars().count() <= MAX_VALUE
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn valid_label(l: &str) -> bool {
    !l.trim().is_empty() && l.chars().count() <= MAX_LABEL && !l.chars().any(char::is_control)
}

impl CustomAction {
    pub fn is_menu(&self) -> bool {
        !self.options.is_empty()
    }

    /// Whether a card of `incident` offers it.
    pub fn offered(&self, incident: &Incident) -> bool {
        incident.status != Status::Closed
            && (self.severities.is_empty() || self.severities.contains(&incident.severity))
            && (self.services.is_empty() || incident.service.as_ref().is_some_and(|s| self.services.contains(s)))
    }

    /// Its element on the card of `incident`: a button carrying its id, or a menu whose values
    /// are `<id>:<value>`.
    pub fn element(&self, incident: &IncidentId) -> Element {
        if self.is_menu() {
            Element::Select {
                action: ActionKey::Custom,
                placeholder: self.label.clone(),
                options: self
                    .options
                    .iter()
                    .map(|o| Choice {
                        label: o.label.clone(),
                        value: format!("{}:{}", self.id, o.value),
                    })
                    .collect(),
                selected: None,
                incident: incident.clone(),
            }
        } else {
            Element::Button {
                action: ActionKey::Custom,
                label: self.label.clone(),
                style: self.style,
                incident: incident.clone(),
                value: Some(self.id.clone()),
            }
        }
    }

    /// Buttons and menu options together (what a "More…" menu would have to hold).
    fn choices(&self) -> usize {
        self.options.len().max(1)
    }
}

/// What a used custom element runs: `choice` is `<id>` (a button) or `<id>:<value>` (a menu),
/// `current` the incident as stored. Refused when the provider no longer has the action, the
/// incident no longer offers it, or the value is not one of its options.
pub fn resolve(actions: &[CustomAction], choice: &str, current: &Incident) -> Result<Command, ActionError> {
    let (id, value) = match choice.split_once(':') {
        Some((id, value)) => (id, Some(value)),
        None => (choice, None),
    };
    let action = actions
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ActionError::NotOffered(id.chars().take(MAX_VALUE).collect()))?;
    if !action.offered(current) {
        return Err(ActionError::NotOffered(action.label.clone()));
    }
    let value = match (action.is_menu(), value) {
        (false, None) => None,
        (true, Some(v)) if action.options.iter().any(|o| o.value == v) => Some(v.to_string()),
        (_, v) => {
            return Err(ActionError::BadChoice(
                v.unwrap_or("").chars().take(MAX_VALUE).collect(),
            ));
        }
    };
    let mut args = Vec::with_capacity(action.args.len() + 2);
    for arg in &action.args {
        if arg == SERVICE_ARG {
            match &current.service {
                Some(service) => args.push(service.clone()),
                None => return Err(ActionError::NoService(current.id.clone())),
            }
        } else {
            args.push(arg.clone());
        }
    }
    args.push(current.id.to_string());
    args.extend(value);
    Ok(Command::Custom {
        name: action.command.clone(),
        args,
    })
}

/// Actions whose command is none of the provider's `workflows`: they work only where a command
/// of that name is registered in code (said when the provider is configured, since the
/// configuration cannot see the code).
pub fn outside_workflows<'a>(
    actions: &'a [CustomAction],
    workflows: &crate::workflow::Workflows,
) -> Vec<&'a CustomAction> {
    actions.iter().filter(|a| !workflows.contains_key(&a.command)).collect()
}

/// Problems with a provider's `actions`, for configuration time.
pub fn problems(actions: &[CustomAction]) -> Vec<String> {
    let mut out = Vec::new();
    if actions.len() > MAX_ACTIONS {
        out.push(format!("actions: at most {MAX_ACTIONS}"));
    }
    let choices: usize = actions.iter().map(CustomAction::choices).sum();
    if choices > MAX_CHOICES {
        out.push(format!(
            "actions: {choices} buttons and menu options in all, at most {MAX_CHOICES} (they must fit one \"More…\" menu)"
        ));
    }
    for (i, a) in actions.iter().enumerate() {
        let at = format!(
            "actions.{}",
            if custom_name(&a.id) {
                a.id.clone()
            } else {
                i.to_string()
            }
        );
        if !custom_name(&a.id) {
            out.push(format!(
                "{at}: id `{}` is not a name (lowercase letters, digits, - and _, at most 32)",
                a.id
            ));
        }
        if actions[..i].iter().any(|b| b.id == a.id) {
            out.push(format!("{at}: the id is used twice"));
        }
        if !valid_label(&a.label) {
            out.push(format!("{at}: label must be 1 to {MAX_LABEL} characters"));
        }
        if !custom_name(&a.command) {
            out.push(format!("{at}: command `{}` is not a command name", a.command));
        } else if crate::command::reserved(&a.command) {
            out.push(format!(
                "{at}: `{}` is a built-in command; actions run custom commands and workflows",
                a.command
            ));
        }
        if a.args.len() > 5 {
            out.push(format!("{at}: at most 5 args"));
        }
        if let Some(bad) = a.args.iter().find(|arg| {
            arg.is_empty() || arg.chars().count() > 64 || arg.chars().any(|c| c.is_whitespace() || c.is_control())
        }) {
            out.push(format!(
                "{at}: argument `{bad}` must be 1 to 64 characters without spaces"
            ));
        }
        if a.is_menu() && a.style != Style::Default {
            out.push(format!("{at}: a menu has no style (only buttons do)"));
        }
        if a.options.len() > MAX_OPTIONS {
            out.push(format!("{at}: at most {MAX_OPTIONS} options"));
        }
        for (j, o) in a.options.iter().enumerate() {
            if !valid_value(&o.value) {
                out.push(format!(
                    "{at}: option value `{}` must be 1 to {MAX_VALUE} letters, digits, - _ .",
                    o.value
                ));
            }
            if !valid_label(&o.label) {
                out.push(format!("{at}: option labels must be 1 to {MAX_LABEL} characters"));
            }
            if a.options[..j].iter().any(|p| p.value == o.value) {
                out.push(format!("{at}: option value `{}` is used twice", o.value));
            }
        }
        if let Some(bad) = a.services.iter().find(|s| !valid_service(s)) {
            out.push(format!("{at}: `{bad}` is not a service name"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn actions(v: serde_json::Value) -> Vec<CustomAction> {
        serde_json::from_value(v).expect("actions")
    }

    fn rollback_and_runbook() -> Vec<CustomAction> {
        actions(json!([
            {"id": "rollback", "label": "Roll back", "style": "danger", "command": "deploy",
             "args": ["{service}", "rollback"], "severities": ["SEV-1", "SEV-2"]},
            {"id": "runbook", "label": "Runbook", "command": "runbook", "services": ["checkout"],
             "options": [{"label": "Restart pods", "value": "restart"}, {"label": "Fail over", "value": "failover"}]}
        ]))
    }

    fn incident(severity: Severity, service: Option<&str>) -> Incident {
        let mut i = crate::memory::incident(7, severity, Status::Open);
        i.service = service.map(str::to_string);
        i
    }

    #[test]
    fn a_click_runs_the_command_with_its_args_the_incident_and_the_choice() {
        let all = rollback_and_runbook();
        let sev1 = incident(Severity::Sev1, Some("checkout"));
        assert_eq!(
            resolve(&all, "rollback", &sev1),
            Ok(Command::Custom {
                name: "deploy".into(),
                args: vec!["checkout".into(), "rollback".into(), "INC-2026-007".into()],
            })
        );
        assert_eq!(
            resolve(&all, "runbook:failover", &sev1),
            Ok(Command::Custom {
                name: "runbook".into(),
                args: vec!["INC-2026-007".into(), "failover".into()],
            })
        );
    }

    #[test]
    fn what_the_card_no_longer_offers_is_refused() {
        let all = rollback_and_runbook();
        let sev1 = incident(Severity::Sev1, Some("checkout"));
        assert_eq!(
            resolve(&all, "gone", &sev1),
            Err(ActionError::NotOffered("gone".into()))
        );
        assert_eq!(
            resolve(&all, "runbook:explode", &sev1),
            Err(ActionError::BadChoice("explode".into()))
        );
        assert_eq!(resolve(&all, "runbook", &sev1), Err(ActionError::BadChoice("".into())));
        assert_eq!(
            resolve(&all, "rollback:restart", &sev1),
            Err(ActionError::BadChoice("restart".into())),
            "a button has no value"
        );
        let sev3 = incident(Severity::Sev3, Some("checkout"));
        assert_eq!(
            resolve(&all, "rollback", &sev3),
            Err(ActionError::NotOffered("Roll back".into()))
        );
        let payments = incident(Severity::Sev1, Some("payments"));
        assert_eq!(
            resolve(&all, "runbook:restart", &payments),
            Err(ActionError::NotOffered("Runbook".into()))
        );
        let unnamed = incident(Severity::Sev1, None);
        assert!(!all[1].offered(&unnamed), "a service filter needs a service");
        assert_eq!(
            resolve(&all, "rollback", &unnamed),
            Err(ActionError::NoService(IncidentId::new(2026, 7)))
        );
        let mut closed = incident(Severity::Sev1, Some("checkout"));
        closed.status = Status::Closed;
        assert!(!all[0].offered(&closed) && !all[1].offered(&closed));
    }

    #[test]
    fn buttons_carry_their_id_and_menus_prefix_their_values() {
        let all = rollback_and_runbook();
        let id = IncidentId::new(2026, 7);
        assert_eq!(
            all[0].element(&id),
            Element::Button {
                action: ActionKey::Custom,
                label: "Roll back".into(),
                style: Style::Danger,
                incident: id.clone(),
                value: Some("rollback".into()),
            }
        );
        let Element::Select {
            action,
            placeholder,
            options,
            ..
        } = all[1].element(&id)
        else {
            panic!("a menu")
        };
        assert_eq!((action, placeholder.as_str()), (ActionKey::Custom, "Runbook"));
        let values: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, ["runbook:restart", "runbook:failover"]);
    }

    #[test]
    fn configuration_problems_are_named() {
        assert!(problems(&rollback_and_runbook()).is_empty());
        let bad = |v: serde_json::Value| problems(&actions(json!([v]))).join("; ");
        assert!(bad(json!({"id": "Roll Back", "label": "x", "command": "deploy"})).contains("is not a name"));
        assert!(bad(json!({"id": "a", "label": "", "command": "deploy"})).contains("label must be 1 to 40"));
        assert!(bad(json!({"id": "a", "label": "x".repeat(41), "command": "deploy"})).contains("label"));
        assert!(bad(json!({"id": "a", "label": "x", "command": "ack"})).contains("built-in command"));
        assert!(bad(json!({"id": "a", "label": "x", "command": "De ploy"})).contains("not a command name"));
        assert!(
            bad(json!({"id": "a", "label": "x", "command": "d", "args": ["two words"]})).contains("without spaces")
        );
        assert!(
            bad(json!({"id": "a", "label": "x", "command": "d", "args": ["1","2","3","4","5","6"]}))
                .contains("at most 5 args")
        );
        assert!(
            bad(json!({"id": "a", "label": "x", "command": "d", "style": "danger",
                       "options": [{"label": "A", "value": "a"}]}))
            .contains("a menu has no style")
        );
        assert!(
            bad(json!({"id": "a", "label": "x", "command": "d", "options": [{"label": "A", "value": "a b"}]}))
                .contains("option value `a b`")
        );
        assert!(bad(json!({"id": "a", "label": "x", "command": "d", "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "a"}]})).contains("used twice"));
        assert!(
            bad(json!({"id": "a", "label": "x", "command": "d", "options": [{"label": "", "value": "a"}]}))
                .contains("option labels")
        );
        assert!(
            bad(json!({"id": "a", "label": "x", "command": "d", "services": ["<!here>"]}))
                .contains("not a service name")
        );
        let options: Vec<_> = (0..11)
            .map(|i| json!({"label": format!("O{i}"), "value": format!("o{i}")}))
            .collect();
        assert!(
            bad(json!({"id": "a", "label": "x", "command": "d", "options": options})).contains("at most 10 options")
        );
        let twice =
            actions(json!([{"id": "a", "label": "x", "command": "d"}, {"id": "a", "label": "y", "command": "d"}]));
        assert!(problems(&twice).join(";").contains("actions.a: the id is used twice"));
        let many: Vec<_> = (0..11)
            .map(|i| json!({"id": format!("b{i}"), "label": "B", "command": "d"}))
            .collect();
        assert!(problems(&actions(json!(many))).join(";").contains("at most 10"));
        let menus: Vec<_> = (0..3)
            .map(|i| {
                let options: Vec<_> = (0..7)
                    .map(|j| json!({"label": "O", "value": format!("o{j}")}))
                    .collect();
                json!({"id": format!("m{i}"), "label": "M", "command": "d", "options": options})
            })
            .collect();
        assert!(
            problems(&actions(json!(menus)))
                .join(";")
                .contains("21 buttons and menu options")
        );
    }

    #[test]
    fn actions_outside_the_workflows_are_named() {
        let all = rollback_and_runbook();
        let workflows: crate::workflow::Workflows =
            serde_json::from_value(json!({"deploy": {"url": "https://hooks.example.com/x"}})).expect("workflows");
        let ids: Vec<&str> = outside_workflows(&all, &workflows)
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(ids, ["runbook"]);
        assert_eq!(outside_workflows(&all, &Default::default()).len(), 2);
    }

    #[test]
    fn the_limits_themselves_are_allowed() {
        let ok = |v: serde_json::Value| problems(&actions(v));
        let ten: Vec<_> = (0..10)
            .map(|i| json!({"id": format!("b{i}"), "label": "B", "command": "d"}))
            .collect();
        assert!(ok(json!(ten)).is_empty(), "ten actions");
        let twenty: Vec<_> = (0..2)
            .map(|i| {
                let options: Vec<_> = (0..10)
                    .map(|j| json!({"label": "O", "value": format!("o{j}")}))
                    .collect();
                json!({"id": format!("m{i}"), "label": "M", "command": "d", "options": options})
            })
            .collect();
        assert!(ok(json!(twenty)).is_empty(), "twenty choices, ten options each");
        let args = json!([{"id": "a", "label": "x", "command": "d", "args": ["1", "2", "3", "4", &"5".repeat(64)]}]);
        assert!(ok(args).is_empty(), "five args, 64 characters");
        let long = json!([{"id": "a", "label": "x", "command": "d", "args": ["5".repeat(65)]}]);
        assert!(ok(long).join(";").contains("1 to 64 characters"));
        let empty = json!([{"id": "a", "label": "x", "command": "d", "args": [""]}]);
        assert!(ok(empty).join(";").contains("1 to 64 characters"));
        let defaulted = actions(json!([{"id": "x", "label": "X", "command": "y", "style": "default"}]));
        assert_eq!(
            serde_json::to_value(&defaulted).expect("json"),
            json!([{"id": "x", "label": "X", "command": "y"}]),
            "the default style is not written out"
        );
    }

    #[test]
    fn unknown_keys_and_styles_are_refused() {
        let parse = |v| serde_json::from_value::<Vec<CustomAction>>(v);
        assert!(parse(json!([{"id": "x", "label": "X", "command": "y", "colour": "red"}])).is_err());
        assert!(parse(json!([{"id": "x", "label": "X", "command": "y", "style": "loud"}])).is_err());
        assert!(parse(json!([{"id": "x", "label": "X", "command": "y", "severities": ["P1"]}])).is_err());
        let round = parse(json!([{"id": "x", "label": "X", "command": "y", "style": "primary"}])).expect("ok");
        assert_eq!(round[0].style, Style::Primary);
        assert_eq!(
            serde_json::to_value(&round).expect("json"),
            json!([{"id": "x", "label": "X", "command": "y", "style": "primary"}])
        );
    }
}
