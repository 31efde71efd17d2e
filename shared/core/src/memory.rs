//! In-memory adapters for fast unit tests of core logic. Storage behaviour is proven against
//! the local DynamoDB, not here.

use std::collections::{BTreeMap, HashMap, HashSet};
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
    audit: BTreeMap<time::Date, Vec<TimelineEntry>>,
    unpublished: Vec<String>,
    /// Idempotency keys and when they expire (an expired key counts as absent, as in DynamoDB).
    keys: HashMap<String, OffsetDateTime>,
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
            && state
                .keys
                .get(key)
                .is_some_and(|expires| *expires >= change.entry().timestamp)
        {
            return Err(CommitError::Duplicate);
        }
        if let Some(key) = &change.idempotency_key {
            state.keys.insert(key.clone(), change.idempotency_expires_at);
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

    async fn declared_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<Incident>, StoreError> {
        self.check()?;
        let mut found: Vec<Incident> = self
            .lock()
            .incidents
            .values()
            .filter(|i| i.declared_at >= from && i.declared_at < to)
            .cloned()
            .collect();
        found.sort_by_key(|i| i.declared_at);
        Ok(found)
    }

    async fn audit(&self, incident: Option<&IncidentId>, entry: &TimelineEntry) -> Result<(), StoreError> {
        self.check()?;
        let mut state = self.lock();
        match incident {
            Some(id) => state.timeline.entry(id.clone()).or_default().push(entry.clone()),
            None => state
                .audit
                .entry(entry.timestamp.date())
                .or_default()
                .push(entry.clone()),
        }
        Ok(())
    }

    async fn audit_day(&self, day: time::Date) -> Result<Vec<TimelineEntry>, StoreError> {
        self.check()?;
        Ok(self.lock().audit.get(&day).cloned().unwrap_or_default())
    }
}

/// [`crate::conversation::Memo`] in memory, with expiry like DynamoDB's condition on read.
#[derive(Default)]
pub struct MemoryMemo {
    items: Mutex<HashMap<String, (String, Option<i64>)>>,
    counters: Mutex<HashMap<String, u64>>,
}

impl crate::conversation::Memo for MemoryMemo {
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        expires_at: Option<i64>,
    ) -> crate::chat::BoxFuture<'a, Result<(), StoreError>> {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        items.insert(key.to_string(), (value.to_string(), expires_at));
        Box::pin(async { Ok(()) })
    }

    fn get<'a>(&'a self, key: &'a str, now: i64) -> crate::chat::BoxFuture<'a, Result<Option<String>, StoreError>> {
        let items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let found = items
            .get(key)
            .filter(|(_, expires)| expires.is_none_or(|e| e > now))
            .map(|(v, _)| v.clone());
        Box::pin(async move { Ok(found) })
    }

    fn delete<'a>(&'a self, key: &'a str) -> crate::chat::BoxFuture<'a, Result<(), StoreError>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        Box::pin(async { Ok(()) })
    }

    fn count<'a>(&'a self, key: &'a str, _expires_at: i64) -> crate::chat::BoxFuture<'a, Result<u64, StoreError>> {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let n = counters.entry(key.to_string()).or_insert(0);
        *n += 1;
        let n = *n;
        Box::pin(async move { Ok(n) })
    }
}

impl MemoryMemo {
    /// Every key and value remembered (tests look for what a person left behind).
    pub fn dump(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = self
            .items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect();
        all.sort();
        all
    }

    /// Every key remembered (tests look for what a person left behind).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
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

// ---- the delivery ports ----

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::chat::{BoxFuture, ChatError, MessageRef, Messenger, Op, PaceRule, RoomAdmin};
use crate::delivery::{Claim, Directory, EditLock, Ledger, MessageKey, Paced, Pacer, Posted, Target, Timer};
use crate::message::Doc;
use crate::notify::HeldSlot;

/// Virtual time: sleeping advances it at once, so tests of waits take no time.
#[derive(Default)]
pub struct VirtualTimer {
    now: AtomicI64,
}

impl VirtualTimer {
    pub fn at(ms: i64) -> Arc<Self> {
        Arc::new(Self {
            now: AtomicI64::new(ms),
        })
    }

    pub fn advance(&self, d: Duration) {
        self.now
            .fetch_add(i64::try_from(d.as_millis()).unwrap_or(0), Ordering::SeqCst);
    }
}

impl Timer for VirtualTimer {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.advance(d);
        Box::pin(async {})
    }
}

#[derive(Default, Clone, Debug)]
struct Record {
    message: Option<MessageRef>,
    version: u64,
    jobs: Vec<String>,
    claim: Option<(String, i64)>,
    edit: Option<(u64, i64)>,
}

/// Posted-message records with the conditions of the DynamoDB ones.
#[derive(Default)]
pub struct MemoryLedger {
    records: Mutex<HashMap<MessageKey, Record>>,
    marks: Mutex<HashMap<String, i64>>,
    claims: AtomicU64,
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

impl MemoryLedger {
    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<MessageKey, Record>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many times a channel was claimed (each one a conditional write in DynamoDB).
    pub fn claim_calls(&self) -> u64 {
        self.claims.load(Ordering::SeqCst)
    }

    /// When a once-only marker expires (epoch seconds), if it is set.
    pub fn marker_expiry(&self, name: &str) -> Option<i64> {
        self.marks.lock().unwrap_or_else(|p| p.into_inner()).get(name).copied()
    }

    /// The version a channel's message shows, if it has one.
    pub fn version(&self, key: &MessageKey) -> Option<u64> {
        self.records()
            .get(key)
            .filter(|r| r.message.is_some())
            .map(|r| r.version)
    }
}

impl Ledger for MemoryLedger {
    fn posted<'a>(&'a self, key: &'a MessageKey) -> BoxFuture<'a, Result<Option<Posted>, StoreError>> {
        let found = self.records().get(key).and_then(|r| {
            r.message.clone().map(|message| Posted {
                message,
                version: r.version,
                jobs: r.jobs.clone(),
            })
        });
        ready(Ok(found))
    }

    fn posted_channels<'a>(
        &'a self,
        incident: &'a IncidentId,
        provider: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let mut channels: Vec<String> = self
            .records()
            .keys()
            .filter(|k| &k.incident == incident && k.provider == provider && !k.channel.starts_with('#'))
            .map(|k| k.channel.clone())
            .collect();
        channels.sort();
        ready(Ok(channels))
    }

    fn claim<'a>(&'a self, key: &'a MessageKey, job: &'a str, now_ms: i64) -> BoxFuture<'a, Result<Claim, StoreError>> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        let mut records = self.records();
        let r = records.entry(key.clone()).or_default();
        let answer = if let Some(message) = &r.message {
            Claim::Posted(Posted {
                message: message.clone(),
                version: r.version,
                jobs: r.jobs.clone(),
            })
        } else if r
            .claim
            .as_ref()
            .is_none_or(|(holder, until)| *until < now_ms || holder == job)
        {
            let until = now_ms + crate::delivery::LEASE_MS;
            r.claim = Some((job.to_string(), until));
            Claim::Claimed { until }
        } else {
            Claim::Busy
        };
        ready(Ok(answer))
    }

    fn finish_post<'a>(
        &'a self,
        key: &'a MessageKey,
        message: &'a MessageRef,
        version: u64,
        job: &'a str,
        done: bool,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let mut records = self.records();
        let r = records.entry(key.clone()).or_default();
        let ours = r.message.is_none() && r.claim.as_ref().is_some_and(|(holder, _)| holder == job);
        if ours {
            r.message = Some(message.clone());
            r.version = version;
            r.claim = None;
            if done {
                r.jobs.push(job.to_string());
            }
        }
        ready(Ok(ours))
    }

    fn release<'a>(&'a self, key: &'a MessageKey, job: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let mut records = self.records();
        if records
            .get(key)
            .is_some_and(|r| r.message.is_none() && r.claim.as_ref().is_some_and(|(h, _)| h == job))
        {
            records.remove(key);
        }
        ready(Ok(()))
    }

    fn lock_edit<'a>(
        &'a self,
        key: &'a MessageKey,
        version: u64,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<EditLock, StoreError>> {
        let mut records = self.records();
        let answer = match records.get_mut(key) {
            Some(r) if r.message.is_some() && r.version < version => {
                if r.edit.is_none_or(|(_, until)| until < now_ms) {
                    r.edit = Some((version, now_ms + crate::delivery::LEASE_MS));
                    EditLock::Locked
                } else {
                    EditLock::Busy
                }
            }
            Some(r) if r.message.is_some() => EditLock::Stale,
            _ => EditLock::Busy,
        };
        ready(Ok(answer))
    }

    fn finish_edit<'a>(&'a self, key: &'a MessageKey, version: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        if let Some(r) = self.records().get_mut(key)
            && r.edit.is_some_and(|(v, _)| v == version)
            && r.version < version
        {
            r.version = version;
            r.edit = None;
        }
        ready(Ok(()))
    }

    fn unlock_edit<'a>(&'a self, key: &'a MessageKey, version: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        if let Some(r) = self.records().get_mut(key)
            && r.edit.is_some_and(|(v, _)| v == version)
        {
            r.edit = None;
        }
        ready(Ok(()))
    }

    fn mark_job<'a>(&'a self, key: &'a MessageKey, job: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        let mut records = self.records();
        let r = records.entry(key.clone()).or_default();
        if !r.jobs.iter().any(|j| j == job) {
            r.jobs.push(job.to_string());
        }
        ready(Ok(()))
    }

    fn mark_once<'a>(&'a self, name: &'a str, expires_at: i64) -> BoxFuture<'a, Result<bool, StoreError>> {
        let mut marks = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = !marks.contains_key(name);
        if fresh {
            marks.insert(name.to_string(), expires_at);
        }
        ready(Ok(fresh))
    }

    fn is_marked<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        ready(Ok(self
            .marks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(name)))
    }

    fn unmark<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.marks.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
        ready(Ok(()))
    }
}

/// Slots one `interval` apart per bucket, in virtual time: waits under a second are slept,
/// longer ones reserved and handed back.
pub struct MemoryPacer {
    timer: Arc<VirtualTimer>,
    next: Mutex<HashMap<String, i64>>,
    refuse: Mutex<(usize, Duration)>,
}

impl MemoryPacer {
    pub fn new(timer: Arc<VirtualTimer>) -> Self {
        Self {
            timer,
            next: Mutex::new(HashMap::new()),
            refuse: Mutex::new((0, Duration::ZERO)),
        }
    }

    /// The next `times` calls are told to come back after `wait` without a reserved slot (a
    /// spent window: nothing to reserve).
    pub fn refuse(&self, times: usize, wait: Duration) {
        *self.refuse.lock().unwrap_or_else(|p| p.into_inner()) = (times, wait);
    }
}

impl Pacer for MemoryPacer {
    fn pace<'a>(
        &'a self,
        provider: &'a str,
        rule: &'a PaceRule,
        held: Option<&'a HeldSlot>,
    ) -> BoxFuture<'a, Result<Paced, StoreError>> {
        {
            let mut refuse = self.refuse.lock().unwrap_or_else(|p| p.into_inner());
            if refuse.0 > 0 {
                refuse.0 -= 1;
                return ready(Ok(Paced::Later {
                    wait: refuse.1,
                    slot: None,
                }));
            }
        }
        let now = self.timer.now_ms();
        let at = match held.filter(|h| h.bucket == rule.bucket && h.at_ms >= now) {
            Some(h) => h.at_ms,
            None => {
                let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
                let slot = next.entry(format!("{provider}#{}", rule.bucket)).or_insert(now);
                let at = (*slot).max(now);
                *slot = at + i64::try_from(rule.interval.as_millis()).unwrap_or(1000);
                at
            }
        };
        let wait = at - now;
        let answer = if wait >= 1000 {
            Paced::Later {
                wait: Duration::from_millis(u64::try_from(wait).unwrap_or(0)),
                slot: Some(HeldSlot {
                    bucket: rule.bucket.clone(),
                    at_ms: at,
                }),
            }
        } else {
            self.timer
                .advance(Duration::from_millis(u64::try_from(wait).unwrap_or(0)));
            Paced::Go
        };
        ready(Ok(answer))
    }
}

/// What a fake platform was asked to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Sent {
    Post { channel: String, id: String, doc: Doc },
    Update { channel: String, id: String, doc: Doc },
    Reply { channel: String, parent: String, doc: Doc },
    CreateChannel { name: String, id: String },
    Invite { channel: String, user: String },
    Pin { channel: String, id: String },
    Archive { channel: String },
}

/// A recording platform: answers from a queue of injected failures, else succeeds. Paced one
/// post per interval per channel and one edit per interval per provider (100 ms unless set).
pub struct FakeMessenger {
    pub sent: Mutex<Vec<Sent>>,
    failures: Mutex<VecDeque<ChatError>>,
    next_id: AtomicI64,
    taken: Mutex<HashSet<String>>,
    interval_ms: AtomicI64,
    pub rooms: bool,
    /// The platform it says it is (templates are chosen by it).
    pub platform: &'static str,
    before_create: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Default for FakeMessenger {
    fn default() -> Self {
        Self {
            sent: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
            next_id: AtomicI64::new(0),
            taken: Mutex::new(HashSet::new()),
            interval_ms: AtomicI64::new(100),
            rooms: true,
            platform: "fake",
            before_create: Mutex::new(None),
        }
    }
}

impl FakeMessenger {
    /// A platform that cannot create channels.
    pub fn without_rooms() -> Self {
        Self {
            rooms: false,
            ..Self::default()
        }
    }

    /// A recording platform that says it is `platform`.
    pub fn on(platform: &'static str) -> Self {
        Self {
            platform,
            ..Self::default()
        }
    }

    /// Runs `f` when the next channel is created, just before (a race with another worker).
    pub fn before_create(&self, f: impl FnOnce() + Send + 'static) {
        *self.before_create.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(f));
    }

    /// The next calls fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = ChatError>) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).extend(errors);
    }

    pub fn pace_every(&self, interval: Duration) {
        self.interval_ms
            .store(i64::try_from(interval.as_millis()).unwrap_or(0), Ordering::SeqCst);
    }

    /// Channel names that already exist.
    pub fn take_names(&self, names: &[&str]) {
        let mut taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        taken.extend(names.iter().map(|n| n.to_string()));
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn call(&self, record: impl FnOnce(String) -> Sent) -> Result<String, ChatError> {
        if let Some(e) = self.failures.lock().unwrap_or_else(|p| p.into_inner()).pop_front() {
            return Err(e);
        }
        let id = format!("m{}", self.next_id.fetch_add(1, Ordering::SeqCst) + 1);
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record(id.clone()));
        Ok(id)
    }
}

impl Messenger for FakeMessenger {
    fn platform(&self) -> &str {
        self.platform
    }

    fn post<'a>(
        &'a self,
        channel: &'a str,
        doc: &'a Doc,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<MessageRef, ChatError>> {
        let result = self
            .call(|id| Sent::Post {
                channel: channel.into(),
                id,
                doc: doc.clone(),
            })
            .map(|id| MessageRef::new(channel, id));
        ready(result)
    }

    fn update<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<(), ChatError>> {
        let result = self
            .call(|_| Sent::Update {
                channel: target.channel.clone(),
                id: target.id.clone(),
                doc: doc.clone(),
            })
            .map(|_| ());
        ready(result)
    }

    fn reply<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<MessageRef, ChatError>> {
        let result = self
            .call(|_| Sent::Reply {
                channel: target.channel.clone(),
                parent: target.id.clone(),
                doc: doc.clone(),
            })
            .map(|id| MessageRef::new(&target.channel, id));
        ready(result)
    }

    fn pace(&self, op: Op<'_>) -> Option<PaceRule> {
        let second = Duration::from_millis(u64::try_from(self.interval_ms.load(Ordering::SeqCst)).unwrap_or(0));
        Some(match op {
            Op::Post { channel } | Op::Reply { channel } => PaceRule {
                bucket: format!("post:{channel}"),
                interval: second,
            },
            Op::Update { .. } => PaceRule {
                bucket: "update".into(),
                interval: second,
            },
        })
    }

    fn rooms(&self) -> Option<&dyn RoomAdmin> {
        if self.rooms { Some(self) } else { None }
    }
}

impl RoomAdmin for FakeMessenger {
    fn max_name(&self) -> usize {
        80
    }

    fn create_channel<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, ChatError>> {
        let hook = self.before_create.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(hook) = hook {
            hook();
        }
        if !self
            .taken
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string())
        {
            return ready(Err(ChatError::NameTaken));
        }
        let result = self.call(|id| Sent::CreateChannel {
            name: name.into(),
            id: format!("C_{id}"),
        });
        ready(result.map(|id| format!("C_{id}")))
    }

    fn invite<'a>(&'a self, channel: &'a str, user: &'a crate::UserRef) -> BoxFuture<'a, Result<(), ChatError>> {
        let result = self
            .call(|_| Sent::Invite {
                channel: channel.into(),
                user: user.id.clone(),
            })
            .map(|_| ());
        ready(result)
    }

    fn pin<'a>(&'a self, target: &'a MessageRef) -> BoxFuture<'a, Result<(), ChatError>> {
        let result = self
            .call(|_| Sent::Pin {
                channel: target.channel.clone(),
                id: target.id.clone(),
            })
            .map(|_| ());
        ready(result)
    }

    fn archive<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), ChatError>> {
        let result = self
            .call(|_| Sent::Archive {
                channel: channel.into(),
            })
            .map(|_| ());
        ready(result)
    }
}

/// Providers by name, each with its messenger.
#[derive(Default)]
pub struct MemoryDirectory {
    pub targets: Mutex<HashMap<String, Target>>,
    /// What `refresh` answers (and how often it was asked).
    pub refresh_helps: Mutex<bool>,
    pub refreshes: AtomicI64,
}

impl MemoryDirectory {
    pub fn with(provider: crate::provider::Provider, messenger: Arc<dyn Messenger>) -> Self {
        let directory = Self::default();
        directory
            .targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(provider.name.clone(), Target::new(Arc::new(provider), messenger));
        directory
    }
}

impl Directory for MemoryDirectory {
    fn target<'a>(&'a self, provider: &'a str) -> BoxFuture<'a, Result<Result<Target, ChatError>, StoreError>> {
        let found = self
            .targets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(provider)
            .cloned()
            .ok_or_else(|| ChatError::Permanent(format!("provider `{provider}` not found")));
        ready(Ok(found))
    }

    fn refresh<'a>(&'a self, _provider: &'a str) -> BoxFuture<'a, bool> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        ready(*self.refresh_helps.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A provider record for tests: `acme` on `platform`, routed by `config`.
pub fn provider(name: &str, platform: &str, config: serde_json::Value) -> crate::provider::Provider {
    let platform = crate::provider::Platform::parse(platform)
        .or_else(|_| crate::provider::Platform::named(platform))
        .unwrap_or(crate::provider::Platform::SLACK);
    let (map, _) = crate::provider::ProviderConfig::split(config).unwrap_or_default();
    let config = crate::provider::ProviderConfig::for_platform(map, platform.spec()).unwrap_or_default();
    let at = time::macros::datetime!(2026-11-27 10:00 UTC);
    crate::provider::Provider {
        name: name.into(),
        platform,
        status: crate::provider::ProviderStatus::Active,
        config,
        secret_name: format!("im/chatops/{name}"),
        created_at: at,
        updated_at: at,
    }
}

// ---- providers, inbox, slow work ----

use crate::directory::{ProviderSource, ResolvedProvider};
use crate::provider::{Provider, ProviderSecrets};
use crate::work::{Begin, Inbox, Work, WorkQueue};

/// Providers and their secrets, in memory. Secrets can be changed (a rotation) and are then
/// seen only after a refresh, as with the cached store.
#[derive(Default)]
pub struct MemoryProviders {
    providers: Mutex<HashMap<String, Arc<Provider>>>,
    teams: Mutex<Arc<crate::team::Teams>>,
    /// What `secrets` answers (the cached copy).
    cached: Mutex<HashMap<String, Arc<ProviderSecrets>>>,
    /// What a refresh reads (the store).
    stored: Mutex<HashMap<String, Arc<ProviderSecrets>>>,
    pub refreshes: AtomicI64,
}

impl MemoryProviders {
    pub fn add(&self, provider: Provider, secrets: &[(&str, &str)]) {
        let secrets = Arc::new(ProviderSecrets::from_map(
            secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ));
        let name = provider.name.clone();
        self.providers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone(), Arc::new(provider));
        self.cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone(), secrets.clone());
        self.stored
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, secrets);
    }

    /// Replaces every team.
    pub fn set_teams(&self, teams: crate::team::Teams) {
        *self.teams.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(teams);
    }

    /// Replaces a provider's record (status, configuration).
    pub fn put(&self, provider: Provider) {
        self.providers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(provider.name.clone(), Arc::new(provider));
    }

    /// Rotates a secret in the store; the cache keeps the old one until refreshed.
    pub fn rotate(&self, provider: &str, secrets: &[(&str, &str)]) {
        let secrets = Arc::new(ProviderSecrets::from_map(
            secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ));
        self.stored
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(provider.to_string(), secrets);
    }
}

impl ProviderSource for MemoryProviders {
    fn provider<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Arc<Provider>>, StoreError>> {
        ready(Ok(self
            .providers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()))
    }

    fn secrets<'a>(&'a self, provider: &'a Provider) -> BoxFuture<'a, Result<Arc<ProviderSecrets>, StoreError>> {
        ready(Ok(self
            .cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&provider.name)
            .cloned()
            .unwrap_or_default()))
    }

    fn refresh_secrets<'a>(
        &'a self,
        provider: &'a Provider,
    ) -> BoxFuture<'a, Result<Option<Arc<ProviderSecrets>>, StoreError>> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let fresh = self
            .stored
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&provider.name)
            .cloned();
        if let Some(fresh) = &fresh {
            self.cached
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(provider.name.clone(), fresh.clone());
        }
        ready(Ok(fresh))
    }

    fn all(&self) -> BoxFuture<'_, Result<Vec<Arc<Provider>>, StoreError>> {
        let mut all: Vec<Arc<Provider>> = self
            .providers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        ready(Ok(all))
    }

    fn teams(&self) -> BoxFuture<'_, Result<Arc<crate::team::Teams>, StoreError>> {
        ready(Ok(self.teams.lock().unwrap_or_else(|p| p.into_inner()).clone()))
    }
}

impl ResolvedProvider {
    /// A provider with its secrets, for tests.
    pub fn for_tests(provider: Provider, secrets: &[(&str, &str)]) -> Self {
        Self {
            provider: Arc::new(provider),
            secrets: Arc::new(ProviderSecrets::from_map(
                secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            )),
        }
    }
}

/// Request ids in memory, with leases.
#[derive(Default)]
pub struct MemoryInbox {
    entries: Mutex<HashMap<String, (bool, i64)>>,
}

impl Inbox for MemoryInbox {
    fn begin<'a>(&'a self, key: &'a str, now_ms: i64, lease_ms: i64) -> BoxFuture<'a, Result<Begin, StoreError>> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let answer = match entries.get(key) {
            Some((true, _)) => Begin::Done,
            Some((false, until)) if *until >= now_ms => Begin::InProgress,
            _ => {
                entries.insert(key.to_string(), (false, now_ms + lease_ms));
                Begin::First
            }
        };
        ready(Ok(answer))
    }

    fn finish<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), (true, 0));
        ready(Ok(()))
    }
}

/// Slow work collected in memory (tests run it by hand).
#[derive(Default)]
pub struct MemoryWork {
    pub queued: Mutex<Vec<Work>>,
}

impl MemoryWork {
    pub fn take(&self) -> Vec<Work> {
        std::mem::take(&mut *self.queued.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl WorkQueue for MemoryWork {
    fn enqueue<'a>(&'a self, work: &'a Work) -> BoxFuture<'a, Result<(), StoreError>> {
        self.queued.lock().unwrap_or_else(|p| p.into_inner()).push(work.clone());
        ready(Ok(()))
    }
}

// ---- a platform that is only a name ----

use crate::inbound::{
    Answer, Exchange, HttpAnswer, Inbound, ParseError, PlatformAdapter, Request, VerifyError, Visibility,
};
use crate::provider::PlatformSpec;

/// An adapter that is only its name, a deadline (to tell copies apart) and a recording
/// messenger: for registry and directory tests.
pub struct StubAdapter {
    pub spec: &'static PlatformSpec,
    pub deadline: Duration,
    pub chat: Arc<FakeMessenger>,
}

impl StubAdapter {
    pub fn new(spec: &'static PlatformSpec, deadline_secs: u64) -> Self {
        Self {
            spec,
            deadline: Duration::from_secs(deadline_secs),
            chat: Arc::new(FakeMessenger::on(spec.name)),
        }
    }
}

impl PlatformAdapter for StubAdapter {
    fn spec(&self) -> &PlatformSpec {
        self.spec
    }

    fn deadline(&self) -> Duration {
        self.deadline
    }

    fn verify(&self, _: &Request<'_>, _: &Provider, _: &ProviderSecrets, _: i64) -> Result<(), VerifyError> {
        Err(VerifyError::Mismatch)
    }

    fn parse(&self, _: &Request<'_>, _: &str) -> Result<Inbound, ParseError> {
        Ok(Inbound::Ignored("stub".into()))
    }

    fn answer<'a>(&'a self, _: Exchange<'a>, _: Answer) -> BoxFuture<'a, HttpAnswer> {
        ready(HttpAnswer::empty())
    }

    fn follow_up<'a>(&'a self, _: Exchange<'a>, _: &'a Doc, _: Visibility) -> BoxFuture<'a, Result<(), ChatError>> {
        ready(Ok(()))
    }

    fn messenger(&self, _: &Provider, secrets: &ProviderSecrets) -> Result<Arc<dyn Messenger>, ChatError> {
        match secrets.get("token") {
            Some(_) => Ok(self.chat.clone()),
            None => Err(ChatError::Unauthorized("no token".into())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Usage counters.

use crate::usage::{DayCounters, UsageLog};

/// Daily usage counters in memory.
#[derive(Default)]
pub struct MemoryUsage {
    days: Mutex<BTreeMap<time::Date, DayCounters>>,
}

impl MemoryUsage {
    /// Every counter of `day` (empty when nothing was counted).
    pub fn day(&self, day: time::Date) -> DayCounters {
        self.days
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&day)
            .cloned()
            .unwrap_or_default()
    }
}

impl UsageLog for MemoryUsage {
    fn add<'a>(&'a self, day: time::Date, counters: &'a [(String, u64)]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
            let record = days.entry(day).or_default();
            for (name, n) in counters {
                *record.entry(name.clone()).or_default() += n;
            }
            Ok(())
        })
    }

    fn days(
        &self,
        from: time::Date,
        to: time::Date,
    ) -> BoxFuture<'_, Result<Vec<(time::Date, DayCounters)>, StoreError>> {
        Box::pin(async move {
            let days = self.days.lock().unwrap_or_else(|p| p.into_inner());
            Ok(days.range(from..=to).map(|(d, c)| (*d, c.clone())).collect())
        })
    }
}

impl UsageLog for Arc<MemoryUsage> {
    fn add<'a>(&'a self, day: time::Date, counters: &'a [(String, u64)]) -> BoxFuture<'a, Result<(), StoreError>> {
        self.as_ref().add(day, counters)
    }

    fn days(
        &self,
        from: time::Date,
        to: time::Date,
    ) -> BoxFuture<'_, Result<Vec<(time::Date, DayCounters)>, StoreError>> {
        self.as_ref().days(from, to)
    }
}
