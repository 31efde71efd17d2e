//! Timeline entries and the incident events that carry them to the notification pipeline.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::incident::{Incident, Severity};

/// One line of an incident's audit trail, in the documented shape:
/// `{"event_type": "chatops.acknowledge", "timestamp": "2025-08-23T15:30:00Z", "actor": "chatops:user123",
///   "source": "slack:company-slack", "data": {"channel": …, "command": …, "response": …}}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    pub actor: String,
    pub source: String,
    #[serde(default)]
    pub data: Map<String, Value>,
}

impl TimelineEntry {
    /// An entry whose `data` is the JSON object `data` (anything else: no data).
    pub fn record(event_type: &str, timestamp: OffsetDateTime, actor: String, source: String, data: Value) -> Self {
        Self {
            event_type: event_type.to_string(),
            timestamp,
            actor,
            source,
            data: match data {
                Value::Object(map) => map,
                _ => Map::new(),
            },
        }
    }

    /// A short human line: "chatops.acknowledge by chatops:U1 — Investigating".
    pub fn summary(&self) -> String {
        let detail = ["note", "response"]
            .iter()
            .find_map(|k| self.data.get(*k).and_then(Value::as_str))
            .unwrap_or("");
        if detail.is_empty() {
            format!("{} by {}", self.event_type, self.actor)
        } else {
            format!("{} by {}: {detail}", self.event_type, self.actor)
        }
    }
}

/// What happened to an incident, as the notification templates name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    IncidentCreated,
    IncidentAcknowledged,
    IncidentResolved,
    IncidentClosed,
    IncidentEscalated,
    IncidentAssigned,
    IncidentUpdated,
    SlaBreach,
    /// A kind this build does not know (sent by a newer version): carried, never a parse failure.
    #[serde(other)]
    Unknown,
}

impl EventKind {
    /// The kind whose headline fits an incident in this state (for renders not tied to one event).
    pub fn for_status(status: crate::incident::Status) -> Self {
        use crate::incident::Status;
        match status {
            Status::Open => Self::IncidentCreated,
            Status::Acknowledged => Self::IncidentAcknowledged,
            Status::Resolved => Self::IncidentResolved,
            Status::Closed => Self::IncidentClosed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::IncidentCreated => "incident_created",
            Self::IncidentAcknowledged => "incident_acknowledged",
            Self::IncidentResolved => "incident_resolved",
            Self::IncidentClosed => "incident_closed",
            Self::IncidentEscalated => "incident_escalated",
            Self::IncidentAssigned => "incident_assigned",
            Self::IncidentUpdated => "incident_updated",
            Self::SlaBreach => "sla_breach",
            Self::Unknown => "unknown",
        }
    }
}

/// A committed change, written to the outbox in the same transaction and published to
/// `incident-events`. It carries the incident as of this change, so consumers need no read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentEvent {
    pub event_id: String,
    pub kind: EventKind,
    pub incident: Incident,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_severity: Option<Severity>,
    pub entry: TimelineEntry,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// `--source` of `im timeline`: an interface (`chatops` matches `chatops.*` event types), a
/// platform (`slack` matches every `slack:*` source) or one provider (`slack:company-slack`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceFilter {
    Interface(String),
    Platform(String),
    Provider(String),
}

impl SourceFilter {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(
                "--source is empty: use chatops, api, sla, system, a platform (slack) or platform:provider".into(),
            );
        }
        if text.contains(':') {
            return Ok(Self::Provider(text.to_string()));
        }
        Ok(match text {
            "chatops" | "api" | "sla" | "system" => Self::Interface(text.to_string()),
            platform => Self::Platform(platform.to_string()),
        })
    }

    pub fn matches(&self, entry: &TimelineEntry) -> bool {
        match self {
            Self::Interface(i) => entry.event_type.starts_with(&format!("{i}.")),
            Self::Platform(p) => entry.source.starts_with(&format!("{p}:")),
            Self::Provider(s) => entry.source == *s,
        }
    }
}

#[cfg(test)]
mod source_tests {
    use super::*;

    fn entry(event_type: &str, source: &str) -> TimelineEntry {
        TimelineEntry {
            event_type: event_type.into(),
            timestamp: OffsetDateTime::UNIX_EPOCH,
            actor: "chatops:U1".into(),
            source: source.into(),
            data: Map::new(),
        }
    }

    #[test]
    fn an_entry_summary_names_what_who_and_the_note() {
        let mut e = entry("chatops.acknowledge", "slack:acme");
        assert_eq!(e.summary(), "chatops.acknowledge by chatops:U1");
        e.data.insert("response".into(), Value::from("Incident acknowledged"));
        assert_eq!(e.summary(), "chatops.acknowledge by chatops:U1: Incident acknowledged");
        e.data.insert("note".into(), Value::from("Looking"));
        assert_eq!(
            e.summary(),
            "chatops.acknowledge by chatops:U1: Looking",
            "the note wins"
        );
    }

    #[test]
    fn sources_filter_by_interface_platform_or_provider() {
        let slack = entry("chatops.acknowledge", "slack:company-slack");
        let sla = entry("sla.breach", "system:sla-monitor");
        let chatops = SourceFilter::parse("chatops").expect("ok");
        assert!(chatops.matches(&slack) && !chatops.matches(&sla));
        assert!(SourceFilter::parse("sla").expect("ok").matches(&sla));
        let platform = SourceFilter::parse("slack").expect("ok");
        assert!(platform.matches(&slack) && !platform.matches(&sla));
        assert!(
            !SourceFilter::parse("slac").expect("ok").matches(&slack),
            "a prefix of a platform is not it"
        );
        assert!(SourceFilter::parse("slack:company-slack").expect("ok").matches(&slack));
        assert!(!SourceFilter::parse("slack:other").expect("ok").matches(&slack));
        assert!(SourceFilter::parse(" ").is_err());
    }
}
