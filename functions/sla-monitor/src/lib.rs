//! `sla-monitor` (EventBridge schedule, every minute):
//! 1. SLA breaches: per-severity acknowledge/resolve targets; each breach is recorded once per
//!    incident and target (`sla.breach` on the timeline, stored on the incident in the same
//!    conditional write) and notified like any change.
//! 2. Outbox sweep: events committed but left unpublished for over a minute are published.
//! 3. Weekly summary: on the first run after a week ends (Monday 00:00 UTC), each provider's
//!    default channel gets the week's counts by severity and mean times to acknowledge/resolve,
//!    and each team's channel the same for the team's services.
//! 4. Retention (hourly, with `CLOSED_INCIDENT_RETENTION_DAYS`): closed incidents whose
//!    retention ended are deleted with their timelines; the year's id counter stays.

use std::sync::Arc;
use std::time::Duration;

use im_aws::deliveries::DeliveryStore;
use im_aws::sqs::Queue;
use im_aws::{AwsClients, AwsError, DynamoStore, SqsPublisher};
use im_core::notify::{DeliveryJob, Payload, Scope};
use im_core::ports::IncidentStore;
use im_core::provider::ProviderStatus;
use im_core::sla::{SlaTargets, Summary};
use im_core::{Actor, Clock, IncidentService, Interface, Invocation, Reply, UserRef};
use time::OffsetDateTime;
use tracing::{info, warn};

/// Unpublished outbox items younger than this are left to the publisher that wrote them.
pub const OUTBOX_GRACE: Duration = Duration::from_secs(60);

type Service = IncidentService<DynamoStore, SqsPublisher, Arc<dyn Clock>>;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub breaches: usize,
    pub republished: usize,
    pub summaries: usize,
    /// Closed incidents deleted at the end of their retention.
    pub expired: usize,
}

pub struct SlaMonitor {
    service: Service,
    store: DynamoStore,
    marks: DeliveryStore,
    events: Option<Queue>,
    deliveries: Option<Queue>,
    targets: SlaTargets,
    clock: Arc<dyn Clock>,
    pub outbox_grace: Duration,
    retention_days: Option<u32>,
}

/// Monday 00:00 UTC of the week containing `t`.
pub fn week_start(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let days_back = i64::from(t.weekday().number_days_from_monday());
    let monday = t.date() - time::Duration::days(days_back);
    monday.midnight().assume_utc()
}

impl SlaMonitor {
    pub fn new(clients: Arc<AwsClients>, clock: Arc<dyn Clock>) -> Result<Self, AwsError> {
        let config = clients.config().clone();
        let targets = match &config.sla_targets {
            Some(json) => SlaTargets::with_overrides(json).map_err(AwsError::Config)?,
            None => SlaTargets::default(),
        };
        Ok(Self {
            service: IncidentService::new(
                DynamoStore::new(clients.clone()),
                SqsPublisher::new(clients.clone()),
                clock.clone(),
            ),
            store: DynamoStore::new(clients.clone()),
            marks: DeliveryStore::new(clients.clone()),
            events: config
                .incident_events_queue
                .clone()
                .map(|q| Queue::new(clients.clone(), q)),
            deliveries: config.deliveries_queue.clone().map(|q| Queue::new(clients, q)),
            targets,
            clock,
            outbox_grace: OUTBOX_GRACE,
            retention_days: config.closed_retention_days,
        })
    }

    pub async fn tick(&self) -> Result<TickReport, AwsError> {
        let mut report = TickReport {
            breaches: self.check_breaches().await?,
            republished: self.sweep_outbox().await?,
            summaries: 0,
            expired: 0,
        };
        report.summaries = self.weekly_summaries().await?;
        report.expired = self.expire_closed().await?;
        if report != TickReport::default() {
            info!(?report, "sla-monitor tick");
        }
        im_aws::metrics::emit(
            "sla-monitor",
            &[],
            &[
                ("SlaBreaches", report.breaches as u64),
                ("OutboxRepublished", report.republished as u64),
                ("WeeklySummaries", report.summaries as u64),
                ("IncidentsExpired", report.expired as u64),
            ],
        );
        Ok(report)
    }

    async fn check_breaches(&self) -> Result<usize, AwsError> {
        let now = self.clock.now();
        let active = self.store.list_active(1000).await?;
        let invocation = Invocation {
            actor: Actor {
                platform: "system".into(),
                provider: "sla-monitor".into(),
                user: UserRef::new("monitor", Some("SLA monitor".into())),
                channel: None,
            },
            interface: Interface::Sla,
            prefix: String::new(),
            command_line: "sla check".into(),
            idempotency_key: None,
        };
        let mut count = 0;
        for incident in active {
            for (target, limit) in self.targets.due(&incident, now) {
                let outcome = self
                    .service
                    .record_breach(&invocation, &incident.id, target, limit)
                    .await;
                if let Some(failure) = &outcome.failure {
                    warn!(incident = %incident.id, %failure, "recording a breach");
                }
                if matches!(outcome.reply, Reply::Card { .. }) {
                    count += 1;
                }
            }
        }
        Ok(count)
    }

    /// Publishes what a crash between commit and publish left in the outbox.
    pub async fn sweep_outbox(&self) -> Result<usize, AwsError> {
        let Some(events) = &self.events else {
            return Ok(0);
        };
        let cutoff = OffsetDateTime::now_utc() - self.outbox_grace;
        let pending = self.store.unpublished_before(cutoff, 100).await?;
        let mut count = 0;
        for item in pending {
            events
                .send(item.event_json, &[("incident_id", item.incident_id.as_str())])
                .await?;
            self.store
                .mark_event_published(&item.incident_id, &item.event_id)
                .await?;
            warn!(incident = %item.incident_id, event = %item.event_id, "re-published an event left in the outbox");
            count += 1;
        }
        Ok(count)
    }

    /// Deletes closed incidents (and their timelines) whose retention ended; once an hour.
    /// Each deletion is a `retention.deleted` entry in the day's audit partition.
    pub async fn expire_closed(&self) -> Result<usize, AwsError> {
        let Some(days) = self.retention_days else {
            return Ok(0);
        };
        let now = self.clock.now();
        let hour = now.unix_timestamp().div_euclid(3600);
        if !self
            .marks
            .mark_once(&format!("retention#{hour}"), (hour + 2) * 3600)
            .await?
        {
            return Ok(0);
        }
        let cutoff = now - time::Duration::days(i64::from(days));
        let mut count = 0;
        for incident in self.store.closed_incidents().await? {
            let Some(closed_at) = incident.closed_at else {
                continue;
            };
            if closed_at > cutoff {
                continue;
            }
            let items = self.store.delete_incident(&incident.id).await?;
            let entry = im_core::TimelineEntry::record(
                "retention.deleted",
                now,
                "system:retention".into(),
                "sla-monitor".into(),
                serde_json::json!({
                    "incident": incident.id,
                    "closed_at": im_core::message::rfc3339(closed_at),
                    "retention_days": days,
                    "items": items,
                }),
            );
            if let Err(e) = self.store.audit(None, &entry).await {
                warn!(error = %e, "recording a deletion");
            }
            info!(incident = %incident.id, items, "closed incident deleted at the end of its retention");
            count += 1;
        }
        Ok(count)
    }

    /// Last week's summary to each provider's default channel, once.
    pub async fn weekly_summaries(&self) -> Result<usize, AwsError> {
        let Some(deliveries) = &self.deliveries else {
            return Ok(0);
        };
        let to = week_start(self.clock.now());
        let from = to - time::Duration::weeks(1);
        let label = from.date().to_string();
        let mut summary: Option<Summary> = None;
        let mut count = 0;
        let providers = self.store.list_providers().await?;
        for provider in providers {
            let Some(channel) = provider.config.default_channel.clone() else {
                continue;
            };
            // Nothing to summarise for a week that ended before the provider was added.
            if provider.status != ProviderStatus::Active
                || !provider.config.enable_notifications
                || provider.created_at >= to
            {
                continue;
            }
            let marker = format!("summary#{}#{label}", provider.name);
            if self.marks.is_marked(&marker).await? {
                continue;
            }
            if summary.is_none() {
                let incidents = self.store.declared_between(from, to).await?;
                summary = Some(Summary::of(&incidents, from, to));
            }
            let Some(summary) = summary.clone() else {
                continue;
            };
            let job = DeliveryJob {
                job_id: format!("summary:{}:{label}", provider.name),
                provider: provider.name.clone(),
                channel: channel.clone(),
                scope: Scope::Summary,
                payload: Payload::Summary { summary },
                attempt: 0,
                last_error: None,
            };
            let body = im_aws::sqs::json_body(&job)?;
            deliveries.send(body, &[]).await?;
            let expires = (to + time::Duration::weeks(8)).unix_timestamp();
            self.marks.mark_once(&marker, expires).await?;
            count += 1;
        }
        count += self.team_summaries(deliveries, from, to, &label).await?;
        Ok(count)
    }

    /// Last week's summary of each team's services to the team's channel, once.
    async fn team_summaries(
        &self,
        deliveries: &Queue,
        from: OffsetDateTime,
        to: OffsetDateTime,
        label: &str,
    ) -> Result<usize, AwsError> {
        let teams = im_core::team::Teams::load(&self.marks, self.clock.now().unix_timestamp()).await?;
        let mut incidents: Option<Vec<im_core::Incident>> = None;
        let mut count = 0;
        for team in teams.0.values() {
            let Some((provider_name, channel)) = team.channel() else {
                continue;
            };
            let Some(provider) = self.store.get_provider(provider_name).await? else {
                warn!(team = %team.name, provider = provider_name, "a team's channel names no provider");
                continue;
            };
            if provider.status != ProviderStatus::Active || !provider.config.enable_notifications {
                continue;
            }
            let marker = format!("summary#team#{}#{label}", team.name);
            if self.marks.is_marked(&marker).await? {
                continue;
            }
            if incidents.is_none() {
                incidents = Some(self.store.declared_between(from, to).await?);
            }
            let theirs: Vec<im_core::Incident> = incidents
                .iter()
                .flatten()
                .filter(|i| {
                    i.service
                        .as_deref()
                        .is_some_and(|s| team.services.iter().any(|t| t.eq_ignore_ascii_case(s)))
                })
                .cloned()
                .collect();
            let job = DeliveryJob {
                job_id: format!("summary:team:{}:{label}", team.name),
                provider: provider.name.clone(),
                channel: channel.to_string(),
                scope: Scope::Summary,
                payload: Payload::Summary {
                    summary: Summary::of(&theirs, from, to),
                },
                attempt: 0,
                last_error: None,
            };
            deliveries.send(im_aws::sqs::json_body(&job)?, &[]).await?;
            self.marks
                .mark_once(&marker, (to + time::Duration::weeks(8)).unix_timestamp())
                .await?;
            count += 1;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn weeks_start_on_monday_midnight_utc() {
        assert_eq!(
            week_start(datetime!(2026-11-27 15:30 UTC)),
            datetime!(2026-11-23 0:00 UTC)
        );
        assert_eq!(
            week_start(datetime!(2026-11-23 0:00 UTC)),
            datetime!(2026-11-23 0:00 UTC)
        );
        assert_eq!(
            week_start(datetime!(2026-11-22 23:59 UTC)),
            datetime!(2026-11-16 0:00 UTC)
        );
    }
}
