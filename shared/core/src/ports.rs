//! Ports: the small traits the use cases need from the outside world, one per capability.

use std::future::Future;

use time::OffsetDateTime;

use crate::incident::{Incident, IncidentId};
use crate::timeline::{IncidentEvent, TimelineEntry};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    /// The incident changed since it was read (or, on create, the id exists).
    #[error("the incident changed since it was read")]
    Conflict,
    /// The idempotency key was already used: this request was applied before.
    #[error("this request was already applied")]
    Duplicate,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One atomic change: the incident's new state, its timeline entry and its outbox event, all
/// carried by the event (which holds the incident and the entry).
#[derive(Clone, Debug)]
pub struct Change {
    pub event: IncidentEvent,
    /// `None` creates the incident (it must not exist); `Some(v)` requires the stored version `v`.
    pub expected_version: Option<u64>,
    /// Written in the same transaction; a second change with the same key is refused.
    pub idempotency_key: Option<String>,
    pub idempotency_expires_at: OffsetDateTime,
}

impl Change {
    pub fn incident(&self) -> &Incident {
        &self.event.incident
    }

    pub fn entry(&self) -> &TimelineEntry {
        &self.event.entry
    }
}

pub trait IncidentStore: Send + Sync + 'static {
    /// Next id from the year's atomic counter.
    fn allocate_id(&self, year: i32) -> impl Future<Output = Result<IncidentId, StoreError>> + Send;
    fn get(&self, id: &IncidentId) -> impl Future<Output = Result<Option<Incident>, StoreError>> + Send;
    /// Applies the change atomically, or refuses it with [`CommitError::Conflict`] /
    /// [`CommitError::Duplicate`] and changes nothing.
    fn commit(&self, change: &Change) -> impl Future<Output = Result<(), CommitError>> + Send;
    /// Open and acknowledged incidents, most severe first, newest first within a severity.
    fn list_active(&self, limit: usize) -> impl Future<Output = Result<Vec<Incident>, StoreError>> + Send;
    /// The incident's timeline, oldest first; at most `limit` of the newest entries.
    fn timeline(
        &self,
        id: &IncidentId,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TimelineEntry>, StoreError>> + Send;
    /// Takes the event's outbox item out of the unpublished index.
    fn mark_published(&self, event: &IncidentEvent) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Incidents declared in `[from, to)`, in any status, read through an index by status and
    /// declaration time (never a scan).
    fn declared_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<Incident>, StoreError>> + Send;
    /// Adds an entry that changes nothing (a refusal): to the incident's timeline, or, with no
    /// incident, to the audit partition of the entry's day.
    fn audit(
        &self,
        incident: Option<&IncidentId>,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The audit partition of one day (UTC), oldest first.
    fn audit_day(&self, day: time::Date) -> impl Future<Output = Result<Vec<TimelineEntry>, StoreError>> + Send;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not publish event: {0}")]
pub struct PublishError(pub String);

pub trait EventPublisher: Send + Sync + 'static {
    fn publish(&self, event: &IncidentEvent) -> impl Future<Output = Result<(), PublishError>> + Send;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

impl<T: Clock + ?Sized> Clock for std::sync::Arc<T> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

/// Wall-clock time, truncated to whole seconds (timeline timestamps are shown to the second).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(0).unwrap_or(now)
    }
}

impl<T: IncidentStore> IncidentStore for std::sync::Arc<T> {
    fn allocate_id(&self, year: i32) -> impl Future<Output = Result<IncidentId, StoreError>> + Send {
        (**self).allocate_id(year)
    }
    fn get(&self, id: &IncidentId) -> impl Future<Output = Result<Option<Incident>, StoreError>> + Send {
        (**self).get(id)
    }
    fn commit(&self, change: &Change) -> impl Future<Output = Result<(), CommitError>> + Send {
        (**self).commit(change)
    }
    fn list_active(&self, limit: usize) -> impl Future<Output = Result<Vec<Incident>, StoreError>> + Send {
        (**self).list_active(limit)
    }
    fn timeline(
        &self,
        id: &IncidentId,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TimelineEntry>, StoreError>> + Send {
        (**self).timeline(id, limit)
    }
    fn mark_published(&self, event: &IncidentEvent) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).mark_published(event)
    }
    fn declared_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<Incident>, StoreError>> + Send {
        (**self).declared_between(from, to)
    }
    fn audit(
        &self,
        incident: Option<&IncidentId>,
        entry: &TimelineEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).audit(incident, entry)
    }
    fn audit_day(&self, day: time::Date) -> impl Future<Output = Result<Vec<TimelineEntry>, StoreError>> + Send {
        (**self).audit_day(day)
    }
}

impl<T: EventPublisher + ?Sized> EventPublisher for std::sync::Arc<T> {
    fn publish(&self, event: &IncidentEvent) -> impl Future<Output = Result<(), PublishError>> + Send {
        (**self).publish(event)
    }
}
