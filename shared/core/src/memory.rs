//! In-memory adapters for fast unit tests of core logic. Storage behaviour is proven against
//! the local DynamoDB, not here.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use time::OffsetDateTime;

use crate::incident::{Incident, IncidentId};
use crate::ports::{Change, Clock, CommitError, EventPublisher, IncidentStore, PublishError, StoreError};
use crate::timeline::{IncidentEvent, TimelineEntry};

#[derive(Default)]
struct State {
    counters: BTreeMap<i32, u64>,
    incidents: BTreeMap<IncidentId, Incident>,
    timeline: BTreeMap<IncidentId, Vec<TimelineEntry>>,
    unpublished: Vec<String>,
    keys: HashSet<String>,
    fail: bool,
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes every later call fail, as an unreachable database would.
    pub fn fail_from_now(&self) {
        self.lock().fail = true;
    }

    pub fn unpublished(&self) -> Vec<String> {
        self.lock().unpublished.clone()
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.lock().fail {
            Err(StoreError::Unavailable("injected failure".into()))
        } else {
            Ok(())
        }
    }
}

impl IncidentStore for MemoryStore {
    async fn allocate_id(&self, year: i32) -> Result<IncidentId, StoreError> {
        self.check()?;
        let mut state = self.lock();
        let seq = state.counters.entry(year).or_insert(0);
        *seq += 1;
        Ok(IncidentId::new(year, *seq))
    }

    async fn get(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        self.check()?;
        Ok(self.lock().incidents.get(id).cloned())
    }

    async fn commit(&self, change: &Change) -> Result<(), CommitError> {
        self.check()?;
        let mut state = self.lock();
        let stored = state.incidents.get(&change.incident().id).map(|i| i.version);
        if stored != change.expected_version {
            return Err(CommitError::Conflict);
        }
        if let Some(key) = &change.idempotency_key
            && state.keys.contains(key)
        {
            return Err(CommitError::Duplicate);
        }
        if let Some(key) = &change.idempotency_key {
            state.keys.insert(key.clone());
        }
        state
            .incidents
            .insert(change.incident().id.clone(), change.incident().clone());
        state
            .timeline
            .entry(change.incident().id.clone())
            .or_default()
            .push(change.entry().clone());
        state.unpublished.push(change.event.event_id.clone());
        Ok(())
    }

    async fn list_active(&self, limit: usize) -> Result<Vec<Incident>, StoreError> {
        self.check()?;
        let mut active: Vec<Incident> = self
            .lock()
            .incidents
            .values()
            .filter(|i| i.status.is_active())
            .cloned()
            .collect();
        active.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.declared_at.cmp(&a.declared_at)));
        active.truncate(limit);
        Ok(active)
    }

    async fn timeline(&self, id: &IncidentId, limit: usize) -> Result<Vec<TimelineEntry>, StoreError> {
        self.check()?;
        let entries = self.lock().timeline.get(id).cloned().unwrap_or_default();
        let skip = entries.len().saturating_sub(limit);
        Ok(entries.into_iter().skip(skip).collect())
    }

    async fn mark_published(&self, event: &IncidentEvent) -> Result<(), StoreError> {
        self.check()?;
        self.lock().unpublished.retain(|e| e != &event.event_id);
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryPublisher {
    events: Mutex<Vec<IncidentEvent>>,
    fail: Mutex<bool>,
}

impl MemoryPublisher {
    pub fn events(&self) -> Vec<IncidentEvent> {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn fail(&self, fail: bool) {
        *self.fail.lock().unwrap_or_else(|p| p.into_inner()) = fail;
    }
}

impl EventPublisher for MemoryPublisher {
    async fn publish(&self, event: &IncidentEvent) -> Result<(), PublishError> {
        if *self.fail.lock().unwrap_or_else(|p| p.into_inner()) {
            return Err(PublishError("injected failure".into()));
        }
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
        Ok(())
    }
}

/// A clock that stays where it is put.
pub struct FixedClock(pub Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn at(t: OffsetDateTime) -> Self {
        Self(Mutex::new(t))
    }

    pub fn advance(&self, by: time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A plain incident for tests: `INC-2026-<seq>`, declared 2026-11-27 10:00 UTC by U1 in slack
/// provider `acme`, channel `C_ORIGIN`, version 1.
pub fn incident(seq: u64, severity: crate::Severity, status: crate::Status) -> Incident {
    Incident {
        status,
        ..Incident::declared(
            IncidentId::new(2026, seq),
            "Database connection timeout".into(),
            severity,
            crate::UserRef::new("U1", Some("alice".into())),
            time::macros::datetime!(2026-11-27 10:00 UTC),
            crate::Origin {
                platform: "slack".into(),
                provider: "acme".into(),
                channel: Some("C_ORIGIN".into()),
            },
        )
    }
}
