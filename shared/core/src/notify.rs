//! Notification routing and delivery jobs: which channels an incident change reaches, and the
//! job that carries it to one channel.
//!
//! Routing rules, per provider (keys exactly as configured):
//! - the severity's channel: `notification_channels["SEV-n"]`, else `notification_channels["default"]`,
//!   else `default_channel`;
//! - an incident of a service also goes to `service_channels[service]`;
//! - SEV-1 also goes to `escalation_channels["management"]`;
//! - an SLA breach goes to `escalation_channels["sla_breach"]` and to `management`, whatever the
//!   severity;
//! - resolution and every later change also go to the incident's own channel (its war room on this
//!   provider, else the channel it was declared in, if declared here), as does anything once a war
//!   room exists;
//! - every channel that already shows the incident gets the change too (an edit), so a channel
//!   that came into scope earlier stays current;
//! - `enable_notifications: false` silences the provider.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::incident::{Severity, Status};
use crate::provider::ProviderConfig;
use crate::timeline::{EventKind, IncidentEvent};

/// Why a channel receives a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Severity,
    Service,
    Management,
    SlaBreach,
    Home,
    AlreadyPosted,
    Summary,
    Broadcast,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub channel: String,
    pub scope: Scope,
}

fn push(routes: &mut Vec<Route>, channel: Option<&String>, scope: Scope) {
    if let Some(channel) = channel.filter(|c| !c.trim().is_empty())
        && !routes.iter().any(|r| &r.channel == channel)
    {
        routes.push(Route {
            channel: channel.clone(),
            scope,
        });
    }
}

/// The channels of one provider that an incident change goes to. `posted` lists the channels of
/// this provider that already show the incident.
pub fn route(provider: &str, config: &ProviderConfig, event: &IncidentEvent, posted: &[String]) -> Vec<Route> {
    route_incident(provider, config, event.kind, &event.incident, posted)
}

/// [`route`] for an incident as it stands, with the kind of change to route as (`im chatops
/// notify` sends a copy of a stored incident's card where a change of that kind would go).
pub fn route_incident(
    provider: &str,
    config: &ProviderConfig,
    kind: EventKind,
    incident: &crate::incident::Incident,
    posted: &[String],
) -> Vec<Route> {
    if !config.enable_notifications {
        return Vec::new();
    }
    let mut routes = Vec::new();
    let severity_channel = config
        .notification_channels
        .get(incident.severity.as_str())
        .or_else(|| config.notification_channels.get("default"))
        .or(config.default_channel.as_ref());
    push(&mut routes, severity_channel, Scope::Severity);
    if let Some(service) = &incident.service {
        push(&mut routes, config.service_channels.get(service), Scope::Service);
    }
    if incident.severity == Severity::Sev1 {
        push(
            &mut routes,
            config.escalation_channels.get("management"),
            Scope::Management,
        );
    }
    if kind == EventKind::SlaBreach {
        push(
            &mut routes,
            config.escalation_channels.get("sla_breach"),
            Scope::SlaBreach,
        );
        push(
            &mut routes,
            config.escalation_channels.get("management"),
            Scope::Management,
        );
    }
    let resolved_or_later = matches!(kind, EventKind::IncidentResolved | EventKind::IncidentClosed)
        || matches!(incident.status, Status::Resolved | Status::Closed);
    let has_war_room = incident.war_room.as_ref().is_some_and(|w| w.provider == provider);
    if resolved_or_later || has_war_room {
        let home = incident.home_channel(provider).map(str::to_string);
        push(&mut routes, home.as_ref(), Scope::Home);
    }
    for channel in posted {
        push(&mut routes, Some(channel), Scope::AlreadyPosted);
    }
    routes
}

/// What a delivery carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// An incident change: post the incident's message, or edit it and reply in its thread.
    Incident { event: Box<IncidentEvent> },
    /// Plain text (custom message, broadcast): shown literally on every platform.
    Text { text: String },
    /// The weekly summary, rendered for each platform.
    Summary { summary: crate::sla::Summary },
}

/// One delivery to one channel of one provider, as sent on the `deliveries` queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryJob {
    /// Stable across retries: `<event-id>:<provider>:<channel>`.
    pub job_id: String,
    pub provider: String,
    pub channel: String,
    pub scope: Scope,
    #[serde(flatten)]
    pub payload: Payload,
    /// Failed attempts so far (throttling does not count).
    #[serde(default)]
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A pacing slot reserved ahead of time (`bucket` as in `post:<channel>`, `update`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldSlot {
    pub bucket: String,
    /// Epoch milliseconds.
    pub at_ms: i64,
}

impl DeliveryJob {
    pub fn for_event(provider: &str, route: &Route, event: &IncidentEvent) -> Self {
        Self {
            job_id: format!("{}:{provider}:{}", event.event_id, route.channel),
            provider: provider.to_string(),
            channel: route.channel.clone(),
            scope: route.scope,
            payload: Payload::Incident {
                event: Box::new(event.clone()),
            },
            attempt: 0,
            last_error: None,
        }
    }

    pub fn text(job_id: String, provider: &str, channel: &str, scope: Scope, text: String) -> Self {
        Self {
            job_id,
            provider: provider.to_string(),
            channel: channel.to_string(),
            scope,
            payload: Payload::Text { text },
            attempt: 0,
            last_error: None,
        }
    }

    pub fn event(&self) -> Option<&IncidentEvent> {
        match &self.payload {
            Payload::Incident { event } => Some(event),
            Payload::Text { .. } | Payload::Summary { .. } => None,
        }
    }
}

/// Failed attempts before a job goes to the dead-letter queue.
pub const MAX_ATTEMPTS: u32 = 12;

/// Exponential backoff with jitter for failed attempt `attempt` (1-based): `base · 2^(attempt-1)`,
/// capped, then scaled by a jitter factor in [0.5, 1.0] from `jitter` (0.0‥1.0).
pub fn backoff(attempt: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(cap);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::WarRoom;
    use crate::timeline::TimelineEntry;
    use serde_json::json;

    fn config() -> ProviderConfig {
        let (map, _) = ProviderConfig::split(json!({
            "default_channel": "C_DEFAULT",
            "notification_channels": {"SEV-1": "C_CRIT", "SEV-2": "C_MAJOR", "SEV-3": "C_MINOR", "default": "C_GENERAL"},
            "escalation_channels": {"sla_breach": "C_SLA", "management": "C_EXEC"}
        }))
        .expect("object");
        ProviderConfig::from_map(map).expect("valid")
    }

    fn event(severity: Severity, kind: EventKind, status: Status) -> IncidentEvent {
        let incident = crate::memory::incident(1, severity, status);
        let at = incident.declared_at;
        IncidentEvent {
            event_id: "E1".into(),
            kind,
            incident,
            previous_severity: None,
            entry: TimelineEntry {
                event_type: "chatops.declare".into(),
                timestamp: at,
                actor: "chatops:U1".into(),
                source: "slack:acme".into(),
                data: Default::default(),
            },
            at,
        }
    }

    fn channels(routes: &[Route]) -> Vec<&str> {
        routes.iter().map(|r| r.channel.as_str()).collect()
    }

    #[test]
    fn severity_routing() {
        let c = config();
        let sev1 = event(Severity::Sev1, EventKind::IncidentCreated, Status::Open);
        assert_eq!(channels(&route("acme", &c, &sev1, &[])), ["C_CRIT", "C_EXEC"]);
        let sev3 = event(Severity::Sev3, EventKind::IncidentCreated, Status::Open);
        assert_eq!(channels(&route("acme", &c, &sev3, &[])), ["C_MINOR"]);
        let sev4 = event(Severity::Sev4, EventKind::IncidentCreated, Status::Open);
        assert_eq!(
            channels(&route("acme", &c, &sev4, &[])),
            ["C_GENERAL"],
            "no SEV-4 key: default"
        );
        let mut bare = ProviderConfig {
            default_channel: Some("C_ONLY".into()),
            ..ProviderConfig::default()
        };
        assert_eq!(channels(&route("acme", &bare, &sev4, &[])), ["C_ONLY"], "last fallback");
        bare.enable_notifications = false;
        assert!(route("acme", &bare, &sev1, &[]).is_empty());
    }

    #[test]
    fn escalation_brings_new_channels_and_keeps_old_ones() {
        let mut e = event(Severity::Sev1, EventKind::IncidentEscalated, Status::Open);
        e.previous_severity = Some(Severity::Sev3);
        let routes = route("acme", &config(), &e, &["C_MINOR".to_string()]);
        assert_eq!(channels(&routes), ["C_CRIT", "C_EXEC", "C_MINOR"]);
        assert_eq!(routes[2].scope, Scope::AlreadyPosted);
    }

    #[test]
    fn a_services_channel_gets_its_incidents_beside_the_severitys() {
        let mut c = config();
        c.service_channels.insert("payments".into(), "C_PAY".into());
        c.service_channels.insert("search".into(), "C_MINOR".into());
        let mut e = event(Severity::Sev3, EventKind::IncidentCreated, Status::Open);
        e.incident.service = Some("payments".into());
        let routes = route("acme", &c, &e, &[]);
        assert_eq!(channels(&routes), ["C_MINOR", "C_PAY"]);
        assert_eq!(routes[1].scope, Scope::Service);
        e.incident.service = Some("search".into());
        assert_eq!(
            channels(&route("acme", &c, &e, &[])),
            ["C_MINOR"],
            "one message per channel"
        );
        e.incident.service = Some("checkout".into());
        assert_eq!(
            channels(&route("acme", &c, &e, &[])),
            ["C_MINOR"],
            "no channel for checkout"
        );
        e.incident.service = None;
        assert_eq!(channels(&route("acme", &c, &e, &[])), ["C_MINOR"]);
    }

    #[test]
    fn sla_breaches_and_resolution() {
        let c = config();
        let breach2 = event(Severity::Sev2, EventKind::SlaBreach, Status::Open);
        assert_eq!(
            channels(&route("acme", &c, &breach2, &[])),
            ["C_MAJOR", "C_SLA", "C_EXEC"]
        );
        let breach3 = event(Severity::Sev3, EventKind::SlaBreach, Status::Open);
        assert_eq!(
            channels(&route("acme", &c, &breach3, &[])),
            ["C_MINOR", "C_SLA", "C_EXEC"],
            "a breach always reaches management"
        );
        let resolved = event(Severity::Sev3, EventKind::IncidentResolved, Status::Resolved);
        assert_eq!(channels(&route("acme", &c, &resolved, &[])), ["C_MINOR", "C_ORIGIN"]);
        assert_eq!(
            channels(&route("other", &c, &resolved, &[])),
            ["C_MINOR"],
            "origin belongs to acme"
        );
        let mut with_room = event(Severity::Sev3, EventKind::IncidentUpdated, Status::Acknowledged);
        with_room.incident.war_room = Some(WarRoom {
            provider: "acme".into(),
            channel: "C_WAR".into(),
            name: "inc".into(),
        });
        assert_eq!(channels(&route("acme", &c, &with_room, &[])), ["C_MINOR", "C_WAR"]);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let base = Duration::from_secs(1);
        let cap = Duration::from_secs(900);
        assert_eq!(backoff(1, base, cap, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(4, base, cap, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(4, base, cap, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(30, base, cap, 1.0), cap);
    }

    #[test]
    fn jobs_round_trip_through_json() {
        let e = event(Severity::Sev2, EventKind::IncidentCreated, Status::Open);
        let job = DeliveryJob::for_event(
            "acme",
            &Route {
                channel: "C_MAJOR".into(),
                scope: Scope::Severity,
            },
            &e,
        );
        assert_eq!(job.job_id, "E1:acme:C_MAJOR");
        let json = serde_json::to_string(&job).expect("json");
        let back: DeliveryJob = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, job);
    }
}
