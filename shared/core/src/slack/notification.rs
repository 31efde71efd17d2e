//! Incident notifications for Slack: the message posted to channels and edited as the incident
//! changes, with buttons and selection menus.
//!
//! Action ids (handled by the interactivity endpoint): `im:ack`, `im:war_room`, `im:details`,
//! `im:escalate`, `im:status_update`, `im:severity`, `im:service`, `im:assign`, `im:transition`.
//! Every element's `value` (or option value) carries the incident id.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::render::{escape, incident_blocks, mention, truncate};
use crate::incident::{Action, Incident, Severity, Status};
use crate::template::{Template, TemplateSet, TemplateValues, default_source, human_duration};
use crate::timeline::{EventKind, TimelineEntry};

/// A message ready for `chat.postMessage` / `chat.update`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackNotification {
    pub text: String,
    pub blocks: Vec<Value>,
    /// Slack message metadata: which incident and which version this message renders.
    pub metadata: Value,
}

/// The headline text of a change: the provider's template for this event, else the default.
pub fn headline(templates: &TemplateSet, kind: EventKind, values: &TemplateValues) -> String {
    let template = templates
        .get(kind, "slack")
        .or_else(|| Template::parse(default_source(kind)).ok());
    match template {
        Some(t) => t.render(values, escape),
        None => escape(values.get("Title")),
    }
}

fn button(text: &str, action: &str, value: &str, style: Option<&str>) -> Value {
    let mut b = json!({
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": true},
        "action_id": action,
        "value": value,
    });
    if let Some(style) = style {
        b["style"] = json!(style);
    }
    b
}

fn option(text: &str, value: &str) -> Value {
    json!({"text": {"type": "plain_text", "text": truncate(text, 75)}, "value": truncate(value, 150)})
}

/// `INC-2026-001|SEV-2`: the incident id and the chosen value in one option value.
pub fn option_value(id: &str, choice: &str) -> String {
    format!("{id}|{choice}")
}

fn severity_menu(incident: &Incident) -> Value {
    let id = incident.id.as_str();
    let options: Vec<Value> = Severity::ALL
        .iter()
        .map(|s| option(s.as_str(), &option_value(id, s.as_str())))
        .collect();
    let initial = option(
        incident.severity.as_str(),
        &option_value(id, incident.severity.as_str()),
    );
    json!({
        "type": "static_select",
        "action_id": "im:severity",
        "placeholder": {"type": "plain_text", "text": "Severity"},
        "options": options,
        "initial_option": initial,
    })
}

fn service_menu(incident: &Incident, services: &[String]) -> Option<Value> {
    if services.is_empty() {
        return None;
    }
    let id = incident.id.as_str();
    let options: Vec<Value> = services
        .iter()
        .take(100)
        .map(|s| option(s, &option_value(id, s)))
        .collect();
    let mut menu = json!({
        "type": "static_select",
        "action_id": "im:service",
        "placeholder": {"type": "plain_text", "text": "Service"},
        "options": options,
    });
    if let Some(current) = incident.service.as_ref().filter(|s| services.contains(s)) {
        menu["initial_option"] = option(current, &option_value(id, current));
    }
    Some(menu)
}

fn assignee_menu(incident: &Incident) -> Value {
    let mut menu = json!({
        "type": "users_select",
        "action_id": "im:assign",
        "placeholder": {"type": "plain_text", "text": "Assign to…"},
    });
    if let Some(a) = &incident.assignee
        && mention(a).starts_with("<@")
    {
        menu["initial_user"] = json!(a.id);
    }
    menu
}

fn transition_menu(incident: &Incident) -> Option<Value> {
    let id = incident.id.as_str();
    let options: Vec<Value> = incident
        .status
        .allowed_actions()
        .iter()
        .map(|a| {
            let label = match a {
                Action::Acknowledge => "Acknowledge",
                Action::Resolve => "Resolve",
                Action::Close => "Close",
            };
            option(label, &option_value(id, a.verb()))
        })
        .collect();
    if options.is_empty() {
        return None;
    }
    Some(json!({
        "type": "static_select",
        "action_id": "im:transition",
        "placeholder": {"type": "plain_text", "text": "Change status…"},
        "options": options,
    }))
}

/// The notification for an incident as of `incident.version`.
pub fn notification(
    incident: &Incident,
    headline_text: &str,
    services: &[String],
    now: OffsetDateTime,
) -> SlackNotification {
    let mut blocks = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(headline_text, 3000)},
    })];
    // The incident facts, without repeating the id/title line the headline already has.
    blocks.extend(incident_blocks(incident, now).into_iter().skip(1));
    if matches!(incident.status, Status::Resolved | Status::Closed) {
        let tta = incident
            .time_to_acknowledge()
            .map(human_duration)
            .unwrap_or_else(|| "not acknowledged".into());
        let ttr = incident
            .time_to_resolve()
            .map(human_duration)
            .unwrap_or_else(|| "—".into());
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!("*Time to acknowledge:* {tta}  |  *Time to resolve:* {ttr}")},
        }));
    }
    if incident.status != Status::Closed {
        let id = incident.id.as_str();
        let mut buttons = Vec::new();
        if incident.status == Status::Open {
            buttons.push(button("Acknowledge", "im:ack", id, Some("primary")));
        }
        buttons.push(button("Join War Room", "im:war_room", id, None));
        buttons.push(button("View Details", "im:details", id, None));
        if incident.severity > Severity::Sev1 && incident.status.is_active() {
            buttons.push(button("Escalate", "im:escalate", id, Some("danger")));
        }
        buttons.push(button("Status Update", "im:status_update", id, None));
        blocks.push(json!({"type": "actions", "block_id": format!("im:buttons:{id}"), "elements": buttons}));
        let mut menus = Vec::new();
        if incident.status.is_active() {
            menus.push(severity_menu(incident));
        }
        menus.extend(service_menu(incident, services));
        menus.push(assignee_menu(incident));
        menus.extend(transition_menu(incident));
        blocks.push(json!({"type": "actions", "block_id": format!("im:menus:{id}"), "elements": menus}));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": format!("{} · version {} · {}", incident.id, incident.version, incident.status)}],
    }));
    let text = format!(
        "{}: {} ({}, {})",
        incident.id, incident.title, incident.severity, incident.status
    );
    SlackNotification {
        text: truncate(&text, 4000),
        blocks,
        metadata: json!({
            "event_type": "im_incident",
            "event_payload": {"incident_id": incident.id.as_str(), "version": incident.version},
        }),
    }
}

/// The thread reply for one timeline entry.
pub fn timeline_reply(entry: &TimelineEntry) -> String {
    super::render::entry_line(entry)
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

/// The Status Update modal (`views.open`).
pub fn status_update_modal(incident: &Incident) -> Value {
    json!({
        "type": "modal",
        "callback_id": "im:status_update",
        "private_metadata": incident.id.as_str(),
        "title": {"type": "plain_text", "text": "Status update"},
        "submit": {"type": "plain_text", "text": "Add to timeline"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*: {}", incident.id, escape(&incident.title))}},
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "What changed?"},
                "element": {"type": "plain_text_input", "action_id": "note", "multiline": true, "max_length": 3000}
            }
        ]
    })
}

/// A war room name: `inc-<id>-<slug>`, lowercase letters, digits and dashes, at most 80 chars.
pub fn war_room_name(incident: &Incident, attempt: u32) -> String {
    let mut slug = String::new();
    for c in incident.title.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    let id = incident.id.as_str().to_lowercase();
    let suffix = if attempt > 0 {
        format!("-{}", attempt + 1)
    } else {
        String::new()
    };
    let mut name = format!("{id}-{slug}");
    let max = 80 - suffix.len();
    if name.len() > max {
        name.truncate(max);
    }
    let name = name.trim_end_matches('-');
    format!("{name}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn incident(status: Status, severity: Severity) -> Incident {
        let mut incident = crate::memory::incident(1, severity, status);
        incident.title = "Database connection timeout!! (EU)".into();
        incident.description = Some("Multiple users reporting payment failures".into());
        incident.service = Some("checkout".into());
        incident.commander = None;
        incident.acknowledged_at = Some(datetime!(2026-11-27 10:04:10 UTC));
        incident.resolved_at = Some(datetime!(2026-11-27 11:02 UTC));
        incident.resolution = Some("restarted".into());
        incident.version = 3;
        incident
    }

    fn actions(n: &SlackNotification) -> Vec<String> {
        n.blocks
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
            .map(|e| e["action_id"].as_str().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn open_incident_has_every_button_and_menu() {
        let inc = incident(Status::Open, Severity::Sev3);
        let n = notification(
            &inc,
            "🚨 *New Incident Declared*",
            &["checkout".into(), "payments".into()],
            datetime!(2026-11-27 10:02 UTC),
        );
        assert_eq!(
            actions(&n),
            [
                "im:ack",
                "im:war_room",
                "im:details",
                "im:escalate",
                "im:status_update",
                "im:severity",
                "im:service",
                "im:assign",
                "im:transition"
            ]
        );
        assert_eq!(n.metadata["event_payload"]["version"], 3);
        let all = serde_json::to_string(&n.blocks).expect("json");
        assert!(all.contains("*Severity:* SEV-3  |  *Status:* Open  |  *Service:* checkout"));
        assert!(all.contains("INC-2026-001|SEV-1"), "severity options carry the id");
    }

    #[test]
    fn states_change_the_actions() {
        let ack = incident(Status::Acknowledged, Severity::Sev1);
        let a = actions(&notification(&ack, "x", &[], datetime!(2026-11-27 10:02 UTC)));
        assert!(!a.contains(&"im:ack".to_string()) && !a.contains(&"im:escalate".to_string()));
        let resolved = notification(
            &incident(Status::Resolved, Severity::Sev2),
            "x",
            &[],
            datetime!(2026-11-27 12:00 UTC),
        );
        let text = serde_json::to_string(&resolved.blocks).expect("json");
        assert!(
            text.contains("*Time to acknowledge:* 4m 10s  |  *Time to resolve:* 1h 2m"),
            "{text}"
        );
        assert!(!actions(&resolved).contains(&"im:severity".to_string()));
        let closed = notification(
            &incident(Status::Closed, Severity::Sev2),
            "x",
            &[],
            datetime!(2026-11-27 12:00 UTC),
        );
        assert!(actions(&closed).is_empty());
    }

    #[test]
    fn war_room_names() {
        let inc = incident(Status::Open, Severity::Sev1);
        assert_eq!(war_room_name(&inc, 0), "inc-2026-001-database-connection-timeout-eu");
        assert_eq!(war_room_name(&inc, 2), "inc-2026-001-database-connection-timeout-eu-3");
        let mut long = inc.clone();
        long.title = "word ".repeat(40);
        let name = war_room_name(&long, 9);
        assert!(name.len() <= 80 && name.ends_with("-10"), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
}
