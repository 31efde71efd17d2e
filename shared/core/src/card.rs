//! The incident card and the other documents the product sends, built once in the neutral
//! model ([`crate::message`]) for every platform: the notification card (headline, facts,
//! description, buttons and menus, version footer), timeline lines and summaries.

use serde_json::Value;
use time::OffsetDateTime;

use crate::action;
use crate::incident::{Incident, Severity, Status, UserRef};
use crate::message::{Block, CardMeta, Doc, Fact, Markup, Span, Text, relative};
use crate::provider::ProviderConfig;
use crate::template::{TemplateSet, TemplateValues, human_duration};
use crate::timeline::{EventKind, TimelineEntry};

/// An incident as a notification: each platform renders [`IncidentMessage::card`] (headline from
/// the provider's template for that platform when it has one, buttons, menus).
#[derive(Clone, Copy, Debug)]
pub struct IncidentMessage<'a> {
    pub incident: &'a Incident,
    pub kind: EventKind,
    pub note: Option<&'a str>,
    pub previous_severity: Option<Severity>,
    pub templates: &'a TemplateSet,
    pub services: &'a [String],
    pub now: OffsetDateTime,
    /// The owning team's members on this platform (empty: the platform's people picker).
    pub assignees: &'a [crate::message::Choice],
    /// The provider's own buttons and menus.
    pub custom: &'a [crate::custom::CustomAction],
}

impl<'a> IncidentMessage<'a> {
    /// The message for `incident` on a provider, with that provider's templates and services.
    pub fn new(incident: &'a Incident, kind: EventKind, config: &'a ProviderConfig, now: OffsetDateTime) -> Self {
        Self {
            incident,
            kind,
            note: None,
            previous_severity: None,
            templates: &config.templates,
            services: &config.services,
            now,
            assignees: &[],
            custom: &config.actions,
        }
    }

    /// The card for a platform, its Assign menu offering the members of the team that owns
    /// the incident's service there (the platform's people picker otherwise).
    pub fn card_with_teams(self, platform: &str, teams: &crate::team::Teams) -> Doc {
        let assignees = teams.assignees(self.incident.service.as_deref(), platform);
        IncidentMessage {
            assignees: &assignees,
            ..self
        }
        .card(platform)
    }

    /// The card for a platform (`platform` picks the operator's template and the room its
    /// controls have).
    pub fn card(&self, platform: &str) -> Doc {
        let incident = self.incident;
        let values = TemplateValues::new(incident, self.kind, self.note, self.previous_severity);
        let headline = match self.templates.get(self.kind, platform) {
            Some(template) => Block::Markup(Markup { template, values }),
            None => Block::Paragraph(default_headline(self.kind, incident, self.previous_severity)),
        };
        let mut doc = Doc::new(summary(incident));
        doc.push(headline);
        doc.push(facts(incident, self.now));
        doc.blocks.extend(details(incident));
        if matches!(incident.status, Status::Resolved | Status::Closed) {
            let tta = incident
                .time_to_acknowledge()
                .map(human_duration)
                .unwrap_or_else(|| "not acknowledged".into());
            let ttr = incident
                .time_to_resolve()
                .map(human_duration)
                .unwrap_or_else(|| "—".into());
            doc.push(Block::Facts(vec![vec![
                Fact::new("Time to acknowledge", tta),
                Fact::new("Time to resolve", ttr),
            ]]));
        }
        let room = crate::provider::spec(platform).map_or(action::AMPLE, |s| s.room);
        let (buttons, menus) = action::controls(incident, self.services, self.assignees, self.custom, room);
        if !buttons.is_empty() {
            doc.push(Block::Buttons(buttons));
        }
        if !menus.is_empty() {
            doc.push(Block::Menus(menus));
        }
        doc.push(Block::Context(footer(incident)));
        doc.card = Some(CardMeta {
            incident: incident.id.clone(),
            version: incident.version,
        });
        doc
    }
}

/// `INC-2026-001: Checkout down (SEV-1, Open)`: the one-line form of an incident.
pub fn summary(incident: &Incident) -> Text {
    Text::new().plain(format!(
        "{}: {} ({}, {})",
        incident.id, incident.title, incident.severity, incident.status
    ))
}

/// `INC-2026-001 · version 3 · Open`
pub fn footer(incident: &Incident) -> Text {
    Text::new().plain(format!(
        "{} · version {} · {}",
        incident.id, incident.version, incident.status
    ))
}

/// `INC-2026-001: Checkout down` with the id in bold.
pub fn id_and_title(incident: &Incident) -> Text {
    Text::new()
        .bold(incident.id.as_str())
        .plain(": ")
        .plain(incident.title.clone())
}

fn line_break() -> Span {
    Span::Plain("\n".into())
}

/// The headline of a change when the provider has no template for it.
pub fn default_headline(kind: EventKind, incident: &Incident, previous: Option<Severity>) -> Text {
    let mut first = match kind {
        EventKind::IncidentCreated => Text::new().plain("🚨 ").bold("New Incident Declared"),
        EventKind::IncidentAcknowledged => {
            let mut t = Text::new().plain("👀 ").bold("Incident Acknowledged");
            if let Some(who) = incident.assignee.as_ref().or(incident.acknowledged_by.as_ref()) {
                t = t.plain(" by ").user(who);
            }
            t
        }
        EventKind::IncidentResolved => Text::new().plain("✅ ").bold("Incident Resolved"),
        EventKind::IncidentClosed => Text::new().plain("🔒 ").bold("Incident Closed"),
        EventKind::IncidentEscalated => {
            let change = match previous {
                Some(from) => format!("Severity changed {from} → {}", incident.severity),
                None => format!("Severity changed to {}", incident.severity),
            };
            Text::new().plain("⚠️ ").bold(change)
        }
        EventKind::IncidentAssigned => {
            let mut t = Text::new().plain("👤 ");
            match &incident.assignee {
                Some(who) => {
                    t = t.bold("Incident assigned to ");
                    t.push(Span::User(who.clone()));
                }
                None => t = t.bold("Incident unassigned"),
            }
            t
        }
        EventKind::IncidentUpdated => Text::new().plain("📝 ").bold("Incident Updated"),
        EventKind::SlaBreach => Text::new().plain("⏰ ").bold("SLA breached"),
        EventKind::Unknown => Text::new(),
    };
    if !first.is_empty() {
        first.push(line_break());
    }
    first.extend(id_and_title(incident))
}

/// Severity, status, service; started, assignee, commander.
pub fn facts(incident: &Incident, now: OffsetDateTime) -> Block {
    let mut second = vec![Fact::new(
        "Started",
        Text::new()
            .plain(format!("{} (", relative(incident.declared_at, now)))
            .time(incident.declared_at)
            .plain(")"),
    )];
    if let Some(assignee) = &incident.assignee {
        second.push(Fact::new("Assignee", Text::new().user(assignee)));
    }
    if let Some(commander) = &incident.commander {
        second.push(Fact::new("Commander", Text::new().user(commander)));
    }
    Block::Facts(vec![
        vec![
            Fact::new("Severity", incident.severity.as_str()),
            Fact::new("Status", incident.status.as_str()),
            Fact::new("Service", incident.service.clone().unwrap_or_else(|| "—".into())),
        ],
        second,
    ])
}

/// The description and resolution, where present.
pub fn details(incident: &Incident) -> Vec<Block> {
    let mut out = Vec::new();
    if let Some(description) = incident.description.as_deref().filter(|d| !d.is_empty()) {
        out.push(Block::Paragraph(Text::new().italic(description)));
    }
    if let Some(resolution) = &incident.resolution {
        out.push(Block::Paragraph(
            Text::new().bold("Resolution:").plain(" ").plain(resolution.clone()),
        ));
    }
    out
}

/// The incident as shown in command replies: id and title, facts, description, resolution.
pub fn incident_blocks(incident: &Incident, now: OffsetDateTime) -> Vec<Block> {
    let mut blocks = vec![Block::Paragraph(id_and_title(incident)), facts(incident, now)];
    blocks.extend(details(incident));
    blocks
}

/// Who made a timeline entry: a person of the provider it came through where the entry says so
/// (`chatops:U123` from `slack:acme`), else the actor as written (`sla:monitor`).
pub fn entry_actor(entry: &TimelineEntry) -> Span {
    let person = entry
        .actor
        .split_once(':')
        .filter(|(interface, _)| *interface == "chatops");
    let provider = entry.source.split_once(':').map(|(_, p)| p);
    match (person, provider) {
        (Some((_, id)), Some(provider)) => Span::User(UserRef::new(id, None).on(provider)),
        _ => Span::Plain(entry.actor.clone()),
    }
}

/// One timeline entry as a line: time, event type, who, and the note or response.
pub fn timeline_line(entry: &TimelineEntry) -> Text {
    let when = entry
        .timestamp
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .unwrap_or_default();
    let mut line = Text::new()
        .code(when)
        .plain(" ")
        .bold(entry.event_type.clone())
        .plain(" by ");
    line.push(entry_actor(entry));
    if let Some(detail) = ["note", "response"]
        .iter()
        .find_map(|k| entry.data.get(*k).and_then(Value::as_str))
    {
        line = line.plain(" — ").plain(detail);
    }
    line
}

/// The thread reply for one timeline entry.
pub fn timeline_reply(entry: &TimelineEntry) -> Doc {
    Doc::text(timeline_line(entry))
}

/// A war room's name: `inc-<id>-<slug>` in lowercase letters, digits and dashes, at most `max`
/// characters (Slack 80, Discord 100, Mattermost 64); `attempt` > 0 adds `-2`, `-3` … for a name
/// that is taken.
pub fn war_room_name(incident: &Incident, attempt: u32, max: usize) -> String {
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
    let mut name = if slug.is_empty() { id } else { format!("{id}-{slug}") };
    let room = max.saturating_sub(suffix.len());
    if name.len() > room {
        name.truncate(room);
    }
    let name = name.trim_end_matches('-');
    format!("{name}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::ActionKey;
    use crate::incident::IncidentId;
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

    fn card(inc: &Incident, services: &[String]) -> Doc {
        let config = ProviderConfig {
            services: services.to_vec(),
            ..ProviderConfig::default()
        };
        IncidentMessage::new(
            inc,
            EventKind::IncidentCreated,
            &config,
            datetime!(2026-11-27 10:02 UTC),
        )
        .card("slack")
    }

    fn actions(doc: &Doc) -> Vec<&'static str> {
        doc.elements().map(|e| e.action().id()).collect()
    }

    #[test]
    fn open_card_has_every_action_and_its_version() {
        let inc = incident(Status::Open, Severity::Sev3);
        let doc = card(&inc, &["checkout".into(), "payments".into()]);
        assert_eq!(
            actions(&doc),
            ActionKey::ALL.map(|k| k.id()),
            "every action, buttons first"
        );
        assert_eq!(
            doc.card,
            Some(CardMeta {
                incident: IncidentId::new(2026, 1),
                version: 3
            })
        );
        let text = doc.plain_text();
        assert!(text.starts_with("🚨 New Incident Declared\nINC-2026-001: Database connection timeout!! (EU)"));
        assert!(
            text.contains("Severity: SEV-3 | Status: Open | Service: checkout"),
            "{text}"
        );
        assert!(text.contains("Started: 2 minutes ago (2026-11-27T10:00:00Z)"), "{text}");
        assert!(text.contains("Multiple users reporting payment failures"));
        assert!(text.ends_with("INC-2026-001 · version 3 · Open"), "{text}");
        assert_eq!(
            doc.summary.plain_text(),
            "INC-2026-001: Database connection timeout!! (EU) (SEV-3, Open)"
        );
    }

    #[test]
    fn resolved_cards_show_response_times_and_closed_cards_no_actions() {
        let resolved = card(&incident(Status::Resolved, Severity::Sev2), &[]);
        assert!(
            resolved
                .plain_text()
                .contains("Time to acknowledge: 4m 10s | Time to resolve: 1h 2m"),
            "{}",
            resolved.plain_text()
        );
        assert!(!actions(&resolved).contains(&ActionKey::Severity.id()));
        let closed = card(&incident(Status::Closed, Severity::Sev2), &[]);
        assert!(actions(&closed).is_empty());
        assert!(
            !closed
                .blocks
                .iter()
                .any(|b| matches!(b, Block::Buttons(_) | Block::Menus(_)))
        );
    }

    #[test]
    fn operator_templates_are_used_for_their_platform_only() {
        let inc = incident(Status::Open, Severity::Sev3);
        let (map, _) = ProviderConfig::split(serde_json::json!({
            "templates": {"incident_created": {"discord": "**{{.Title}}** on {{.Service}}"}}
        }))
        .expect("object");
        let config = ProviderConfig::from_map(map).expect("valid");
        let message = IncidentMessage::new(&inc, EventKind::IncidentCreated, &config, inc.declared_at);
        let discord = message.card("discord");
        assert!(
            matches!(&discord.blocks[0], Block::Markup(m) if m.render(str::to_string) == "**Database connection timeout!! (EU)** on checkout")
        );
        assert!(matches!(&message.card("slack").blocks[0], Block::Paragraph(_)));
    }

    #[test]
    fn headlines_name_the_change() {
        let mut inc = incident(Status::Acknowledged, Severity::Sev2);
        inc.assignee = Some(UserRef::new("U9", Some("bob".into())));
        let line = |kind, prev| default_headline(kind, &inc, prev).plain_text();
        assert_eq!(
            line(EventKind::IncidentEscalated, Some(Severity::Sev3)),
            "⚠️ Severity changed SEV-3 → SEV-2\nINC-2026-001: Database connection timeout!! (EU)"
        );
        assert!(line(EventKind::IncidentEscalated, None).starts_with("⚠️ Severity changed to SEV-2"));
        assert!(line(EventKind::IncidentAcknowledged, None).starts_with("👀 Incident Acknowledged by @bob"));
        assert!(line(EventKind::IncidentAssigned, None).starts_with("👤 Incident assigned to @bob"));
        for (kind, start) in [
            (EventKind::IncidentResolved, "✅ Incident Resolved"),
            (EventKind::IncidentClosed, "🔒 Incident Closed"),
            (EventKind::IncidentUpdated, "📝 Incident Updated"),
            (EventKind::SlaBreach, "⏰ SLA breached"),
        ] {
            assert!(line(kind, None).starts_with(start), "{kind:?}");
        }
        assert_eq!(
            line(EventKind::Unknown, None),
            "INC-2026-001: Database connection timeout!! (EU)"
        );
        let unassigned = Incident {
            assignee: None,
            ..inc.clone()
        };
        assert!(
            default_headline(EventKind::IncidentAssigned, &unassigned, None)
                .plain_text()
                .starts_with("👤 Incident unassigned")
        );
    }

    #[test]
    fn timeline_lines_name_people_on_their_own_provider() {
        let entry = TimelineEntry {
            event_type: "chatops.acknowledge".into(),
            timestamp: datetime!(2026-11-27 15:30 UTC),
            actor: "chatops:U123".into(),
            source: "slack:acme".into(),
            data: serde_json::from_value(serde_json::json!({"response": "Incident acknowledged", "note": "on it"}))
                .expect("map"),
        };
        let line = timeline_line(&entry);
        assert_eq!(
            line.plain_text(),
            "2026-11-27 15:30 chatops.acknowledge by @U123 — on it"
        );
        assert!(
            line.spans()
                .contains(&Span::User(UserRef::new("U123", None).on("acme")))
        );
        let system = TimelineEntry {
            actor: "sla:monitor".into(),
            source: "system:sla-monitor".into(),
            ..entry
        };
        assert!(
            timeline_line(&system)
                .spans()
                .contains(&Span::Plain("sla:monitor".into()))
        );
    }

    #[test]
    fn war_room_names() {
        let inc = incident(Status::Open, Severity::Sev1);
        assert_eq!(
            war_room_name(&inc, 0, 80),
            "inc-2026-001-database-connection-timeout-eu"
        );
        assert_eq!(
            war_room_name(&inc, 2, 80),
            "inc-2026-001-database-connection-timeout-eu-3"
        );
        let mut long = inc.clone();
        long.title = "word ".repeat(40);
        let name = war_room_name(&long, 9, 80);
        assert!(name.len() <= 80 && name.ends_with("-10"), "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert!(war_room_name(&long, 0, 64).len() <= 64);
        long.title = "!!!".into();
        assert_eq!(war_room_name(&long, 0, 80), "inc-2026-001");
    }

    #[test]
    fn command_replies_show_the_incident_as_the_card_does() {
        let inc = incident(Status::Resolved, Severity::Sev2);
        let text = Doc {
            blocks: incident_blocks(&inc, datetime!(2026-11-27 12:00 UTC)),
            ..Doc::new("")
        }
        .plain_text();
        assert_eq!(
            text,
            "INC-2026-001: Database connection timeout!! (EU)\n\
             Severity: SEV-2 | Status: Resolved | Service: checkout\n\
             Started: 2 hours ago (2026-11-27T10:00:00Z)\n\
             Multiple users reporting payment failures\n\
             Resolution: restarted",
        );
    }
}
