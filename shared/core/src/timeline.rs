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
