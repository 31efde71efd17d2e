//! Platform-neutral replies. [`Reply::doc`] builds the message in the neutral model, which each
//! platform renders (Block Kit, Adaptive Cards, embeds …); [`Reply::text`] is the plain-text form
//! every platform uses as its fallback.

use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::card::{id_and_title, incident_blocks, timeline_line};
use crate::command::Verb;
use crate::incident::{Incident, Severity};
use crate::message::{Block, Doc, Text, relative};
use crate::timeline::TimelineEntry;

/// What happened, for the headline of an incident card.
#[derive(Clone, Debug, PartialEq)]
pub enum CardKind {
    Declared,
    Acknowledged,
    Resolved,
    Closed,
    Escalated { from: Severity },
    Assigned,
    Updated,
}

impl CardKind {
    pub fn headline(&self) -> String {
        match self {
            CardKind::Declared => "🚨 New Incident Declared".into(),
            CardKind::Acknowledged => "👀 Incident Acknowledged".into(),
            CardKind::Resolved => "✅ Incident Resolved".into(),
            CardKind::Closed => "🔒 Incident Closed".into(),
            CardKind::Escalated { from } => format!("⚠️ Severity Changed from {from}"),
            CardKind::Assigned => "👤 Incident Assigned".into(),
            CardKind::Updated => "📝 Incident Updated".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HelpEntry {
    pub usage: String,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// A change was made: shown to the whole channel.
    Card {
        kind: CardKind,
        incident: Incident,
        note: Option<String>,
    },
    /// `status`: the incident and its latest timeline entries.
    Status {
        incident: Incident,
        recent: Vec<TimelineEntry>,
    },
    List {
        incidents: Vec<Incident>,
    },
    Timeline {
        incident: Incident,
        entries: Vec<TimelineEntry>,
    },
    Help {
        entries: Vec<HelpEntry>,
    },
    /// A command that could not be understood: the usage line of that command.
    Usage {
        usage: String,
        problem: String,
    },
    /// A valid command that cannot be done (wrong state, not found, not permitted).
    Refused {
        message: String,
    },
    /// The person may not do this here (role, channel, identity, limit); says what is needed.
    Denied {
        denied: crate::rbac::Denied,
    },
    /// Something on our side failed; `reference` finds it in the logs.
    Unavailable {
        reference: String,
    },
    Text {
        text: String,
        in_channel: bool,
    },
}

impl Reply {
    /// Shown to the whole channel (state changes) or only to the person who asked.
    pub fn in_channel(&self) -> bool {
        match self {
            Reply::Card { .. } => true,
            Reply::Text { in_channel, .. } => *in_channel,
            _ => false,
        }
    }

    pub fn help(prefix: &str, topic: Option<Verb>, custom: &[(String, String)]) -> Reply {
        let verbs: Vec<Verb> = match topic {
            Some(v) => vec![v],
            None => Verb::ALL.to_vec(),
        };
        let mut entries: Vec<HelpEntry> = verbs
            .into_iter()
            .map(|v| HelpEntry {
                usage: v.usage(prefix),
                summary: v.summary().to_string(),
            })
            .collect();
        if topic.is_none() {
            entries.extend(custom.iter().map(|(name, summary)| HelpEntry {
                usage: format!("{prefix} {name}"),
                summary: summary.clone(),
            }));
        }
        Reply::Help { entries }
    }

    /// Plain text: the notification fallback and the whole reply on text-only surfaces.
    pub fn text(&self) -> String {
        match self {
            Reply::Card { kind, incident, note } => {
                let mut s = format!(
                    "{}: {} {} ({}, {})",
                    kind.headline(),
                    incident.id,
                    incident.title,
                    incident.severity,
                    incident.status
                );
                if let Some(note) = note {
                    let _ = write!(s, " — {note}");
                }
                s
            }
            Reply::Status { incident, .. } => format!(
                "{} {} — {}, {}{}",
                incident.id,
                incident.title,
                incident.severity,
                incident.status,
                incident
                    .assignee
                    .as_ref()
                    .map(|a| format!(", assigned to {}", a.display()))
                    .unwrap_or_default()
            ),
            Reply::List { incidents } if incidents.is_empty() => "No open incidents. 🎉".into(),
            Reply::List { incidents } => {
                let mut s = format!("{} open incident{}:", incidents.len(), plural(incidents.len()));
                for i in incidents {
                    let _ = write!(s, "\n• {} [{}] {} — {}", i.id, i.severity, i.title, i.status);
                }
                s
            }
            Reply::Timeline { incident, entries } => {
                let mut s = format!(
                    "Timeline of {} ({} entr{}):",
                    incident.id,
                    entries.len(),
                    if entries.len() == 1 { "y" } else { "ies" }
                );
                for e in entries {
                    let _ = write!(s, "\n{} {}", e.timestamp.date(), e.summary());
                }
                s
            }
            Reply::Help { entries } => {
                let mut s = String::from("Incident commands:");
                for e in entries {
                    let _ = write!(s, "\n{} — {}", e.usage, e.summary);
                }
                s
            }
            Reply::Usage { usage, problem } => format!("{problem}. Usage: {usage}"),
            Reply::Refused { message } => message.clone(),
            Reply::Denied { denied } => denied.to_string(),
            Reply::Unavailable { reference } => {
                format!(
                    "Something went wrong on our side, so the command may not have been applied. Please check and try again (ref {reference})."
                )
            }
            Reply::Text { text, .. } => text.clone(),
        }
    }
}

impl Reply {
    /// The reply as a message in the neutral model.
    pub fn doc(&self, now: OffsetDateTime) -> Doc {
        let mut doc = Doc::new(self.text());
        match self {
            Reply::Card { kind, incident, note } => {
                doc.push(Block::Header(kind.headline()));
                doc.blocks.extend(incident_blocks(incident, now));
                if let Some(note) = note {
                    doc.push(Block::Context(Text::new().plain("📝 ").plain(note.clone())));
                }
            }
            Reply::Status { incident, recent } => {
                doc.push(Block::Header(format!("{} — {}", incident.id, incident.status)));
                doc.blocks.extend(incident_blocks(incident, now));
                if !recent.is_empty() {
                    doc.push(Block::Context("Latest timeline entries".into()));
                    doc.push(Block::Lines(recent.iter().map(timeline_line).collect()));
                }
            }
            Reply::List { incidents } if incidents.is_empty() => {
                doc.push(Block::Paragraph("No open incidents. 🎉".into()))
            }
            Reply::List { incidents } => {
                doc.push(Block::Header(format!("Open incidents ({})", incidents.len())));
                let lines = incidents
                    .iter()
                    .map(|i| {
                        let mut line = Text::new()
                            .bold(i.id.as_str())
                            .plain(" ")
                            .code(i.severity.as_str())
                            .plain(" ")
                            .plain(i.title.clone())
                            .plain(format!(" — {} · {}", i.status, relative(i.declared_at, now)));
                        if let Some(a) = &i.assignee {
                            line = line.plain(" · ").user(a);
                        }
                        line
                    })
                    .collect();
                doc.push(Block::Lines(lines));
            }
            Reply::Timeline { incident, entries } => {
                doc.push(Block::Header(format!("Timeline of {}", incident.id)));
                doc.push(Block::Paragraph(id_and_title(incident)));
                if entries.is_empty() {
                    doc.push(Block::Paragraph("No entries yet.".into()));
                } else {
                    doc.push(Block::Lines(entries.iter().map(timeline_line).collect()));
                }
            }
            Reply::Help { entries } => {
                doc.push(Block::Paragraph(Text::new().bold("Incident commands")));
                doc.push(Block::Lines(
                    entries
                        .iter()
                        .map(|e| {
                            Text::new()
                                .code(e.usage.clone())
                                .plain("\n      ")
                                .plain(e.summary.clone())
                        })
                        .collect(),
                ));
            }
            Reply::Usage { usage, problem } => doc.push(Block::Paragraph(
                Text::new()
                    .plain("⚠️ ")
                    .plain(problem.clone())
                    .plain("\nUsage: ")
                    .code(usage.clone()),
            )),
            Reply::Refused { message } => doc.push(Block::Paragraph(Text::new().plain("⛔ ").plain(message.clone()))),
            Reply::Denied { denied } => doc.push(Block::Paragraph(Text::new().plain("⛔ ").extend(denied.text()))),
            Reply::Unavailable { .. } | Reply::Text { .. } => doc.push(Block::Paragraph(self.text().into())),
        }
        doc
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
