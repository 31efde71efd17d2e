//! The one delivery algorithm: how a delivery job becomes exactly one message per incident and
//! channel, kept at the incident's latest version, with every change's timeline line in its
//! thread — on every platform, over small ports:
//!
//! - [`Ledger`]: the posted-message record of each incident and channel (claim, record, versioned
//!   edit lock, delivered jobs) and once-only markers;
//! - [`Pacer`]: shared send slots per pacing bucket (the platform says which, see
//!   [`crate::chat::PaceRule`]);
//! - [`Directory`]: the provider and its [`Messenger`];
//! - [`IncidentReader`]: the incident as stored now (to catch a message up);
//! - [`Timer`]: wall-clock milliseconds and short sleeps.
//!
//! Rules:
//! - A redelivered job does nothing: delivered job ids are stored on the message record.
//! - The first job for a channel claims it and posts; a change that makes the first post also
//!   threads its own timeline line under it.
//! - A message never goes back to an older version: edits are locked per message and carry the
//!   version they render; a job older than what the message shows edits nothing. After posting or
//!   editing, a message is caught up if the incident moved on meanwhile.
//! - Waits under a second happen in-process; a longer wait keeps the reserved slot and the job
//!   comes back for it ([`Outcome::Deferred`]).
//! - Throttling re-queues without using the retry budget; transient failures back off
//!   exponentially with jitter; permanent failures are dead-lettered with their reason; refused
//!   credentials are re-read once first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::card::{IncidentMessage, timeline_reply};
use crate::chat::{BoxFuture, ChatError, MessageRef, Messenger, Op, PaceRule};
use crate::incident::{Incident, IncidentId};
use crate::message::Doc;
use crate::notify::{DeliveryJob, HeldSlot, Payload, backoff};
use crate::ports::{IncidentStore, StoreError};
use crate::provider::Provider;
use crate::timeline::{EventKind, IncidentEvent};

/// The posted-message record of one incident in one channel of one provider.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageKey {
    pub incident: IncidentId,
    pub provider: String,
    pub channel: String,
}

impl MessageKey {
    pub fn new(incident: &IncidentId, provider: &str, channel: &str) -> Self {
        Self {
            incident: incident.clone(),
            provider: provider.to_string(),
            channel: channel.to_string(),
        }
    }
}

/// The incident message in one channel, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    pub message: MessageRef,
    /// The incident version the message shows.
    pub version: u64,
    pub jobs: Vec<String>,
}

/// What claiming a channel's first post found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Nobody has posted: we hold the claim (until this epoch ms) and post.
    Claimed { until: i64 },
    /// Another worker is posting right now.
    Busy,
    /// The message exists.
    Posted(Posted),
}

/// What locking a message for an edit found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditLock {
    Locked,
    /// The message already shows this version or a newer one: do not edit.
    Stale,
    /// Another edit is in flight.
    Busy,
}

/// What pacing decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Paced {
    /// Send now.
    Go,
    /// Come back after `wait`; `slot` is reserved for this job if present.
    Later { wait: Duration, slot: Option<HeldSlot> },
}

/// How long a claim or an edit lock holds if its worker dies (ms).
pub const LEASE_MS: i64 = 30_000;

/// Posted-message records and once-only markers. Each method is one conditional write in a
/// real store; a failed condition is an answer, not an error.
pub trait Ledger: Send + Sync {
    fn posted<'a>(&'a self, key: &'a MessageKey) -> BoxFuture<'a, Result<Option<Posted>, StoreError>>;
    /// Channels of `provider` that show the incident, or are about to.
    fn posted_channels<'a>(
        &'a self,
        incident: &'a IncidentId,
        provider: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;
    /// Claims the first post, or reports what is there. A claim held by `job` is renewed; one
    /// whose lease ran out is taken over.
    fn claim<'a>(&'a self, key: &'a MessageKey, job: &'a str, now_ms: i64) -> BoxFuture<'a, Result<Claim, StoreError>>;
    /// Records the posted message, ending `job`'s claim (and with `done`, the job as delivered).
    /// `false` if the claim was no longer `job`'s.
    fn finish_post<'a>(
        &'a self,
        key: &'a MessageKey,
        message: &'a MessageRef,
        version: u64,
        job: &'a str,
        done: bool,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Gives up `job`'s claim after a failed post.
    fn release<'a>(&'a self, key: &'a MessageKey, job: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Locks the message for an edit to `version`, unless it shows that version or newer.
    fn lock_edit<'a>(
        &'a self,
        key: &'a MessageKey,
        version: u64,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<EditLock, StoreError>>;
    /// Records that the message shows `version`, releasing the lock.
    fn finish_edit<'a>(&'a self, key: &'a MessageKey, version: u64) -> BoxFuture<'a, Result<(), StoreError>>;
    fn unlock_edit<'a>(&'a self, key: &'a MessageKey, version: u64) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Records a delivered job on the message.
    fn mark_job<'a>(&'a self, key: &'a MessageKey, job: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Marks once-only work done; `false` if it was already marked.
    fn mark_once<'a>(&'a self, name: &'a str, expires_at: i64) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn is_marked<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn unmark<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Send slots shared by every worker.
pub trait Pacer: Send + Sync {
    /// Paces one call by `rule`. Waits under a second happen here; a longer one reserves the
    /// slot anyway and says so. A `held` slot of the same bucket is used if still ahead.
    fn pace<'a>(
        &'a self,
        provider: &'a str,
        rule: &'a PaceRule,
        held: Option<&'a HeldSlot>,
    ) -> BoxFuture<'a, Result<Paced, StoreError>>;
}

/// A provider ready to send to.
#[derive(Clone)]
pub struct Target {
    pub provider: Arc<Provider>,
    pub messenger: Arc<dyn Messenger>,
    /// Teams (the assignee menu of a team's service offers its members).
    pub teams: Arc<crate::team::Teams>,
}

impl Target {
    pub fn new(provider: Arc<Provider>, messenger: Arc<dyn Messenger>) -> Self {
        Self {
            provider,
            messenger,
            teams: Arc::default(),
        }
    }

    /// The card of `message` for this target: its platform, and the team's members as
    /// assignees.
    pub fn card(&self, message: IncidentMessage<'_>) -> crate::message::Doc {
        message.card_with_teams(self.messenger.platform(), &self.teams)
    }
}

/// Providers and their messengers.
pub trait Directory: Send + Sync {
    /// `Ok(Err(..))`: the provider cannot be sent to (unknown, no credentials): permanent.
    fn target<'a>(&'a self, provider: &'a str) -> BoxFuture<'a, Result<Result<Target, ChatError>, StoreError>>;
    /// Re-reads the provider's secrets after refused credentials; `true` if that may help.
    fn refresh<'a>(&'a self, provider: &'a str) -> BoxFuture<'a, bool>;
}

/// The incident as stored now.
pub trait IncidentReader: Send + Sync {
    fn current<'a>(&'a self, id: &'a IncidentId) -> BoxFuture<'a, Result<Option<Incident>, StoreError>>;
}

impl<S: IncidentStore> IncidentReader for S {
    fn current<'a>(&'a self, id: &'a IncidentId) -> BoxFuture<'a, Result<Option<Incident>, StoreError>> {
        Box::pin(self.get(id))
    }
}

/// Wall-clock milliseconds (pacing is shared between processes, so real time) and sleeping.
pub trait Timer: Send + Sync {
    fn now_ms(&self) -> i64;
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
}

/// Retry policy.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: crate::notify::MAX_ATTEMPTS,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(900),
        }
    }
}

/// What became of one job; the queue glue carries it out.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    Skipped(&'static str),
    /// Waiting for a reserved slot: the message stays on the queue, hidden for `hide`.
    Deferred {
        hide: Duration,
    },
    /// Send `job` again after `delay`.
    Requeue {
        job: Box<DeliveryJob>,
        delay: Duration,
        throttled: bool,
    },
    /// Put `job` on the dead-letter queue with `reason`.
    DeadLetter {
        job: Box<DeliveryJob>,
        reason: String,
    },
}

/// What a versioned edit did.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    Edited,
    /// The message already shows this version or a newer one.
    Stale,
    /// Another edit of this message is in flight.
    Busy,
    /// The edit budget is spent for now: come back after this long (holding `slot`).
    Later {
        wait: Duration,
        slot: Option<HeldSlot>,
    },
    Failed(ChatError),
}

/// Counters since start (emitted as metrics per batch).
#[derive(Debug, Default)]
pub struct Counters {
    pub delivered: AtomicU64,
    pub skipped: AtomicU64,
    pub throttled: AtomicU64,
    pub retried: AtomicU64,
    pub possible_duplicates: AtomicU64,
    pub dead_lettered: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// delivered, skipped, throttled, retried, possible duplicates, dead-lettered.
    pub fn snapshot(&self) -> [u64; 6] {
        [
            &self.delivered,
            &self.skipped,
            &self.throttled,
            &self.retried,
            &self.possible_duplicates,
            &self.dead_lettered,
        ]
        .map(|a| a.load(Ordering::Relaxed))
    }
}

/// One try at a job.
enum Attempt {
    Delivered,
    Skipped(&'static str),
    /// Come back after the wait without using the retry budget.
    Later(Duration),
    /// Come back for this reserved slot.
    Hold(HeldSlot),
    Failed(ChatError),
}

impl Attempt {
    /// What a pacer's "not yet" amounts to: a slot to come back for, or just a wait.
    fn paced(wait: Duration, slot: Option<HeldSlot>) -> Self {
        match slot {
            Some(slot) => Attempt::Hold(slot),
            None => Attempt::Later(wait),
        }
    }
}

/// A kept claim is relied on only with at least this much of its lease left.
const KEEP_MARGIN_MS: i64 = 5_000;

/// How long once-only text deliveries are remembered.
const TEXT_MARKER_TTL_SECONDS: i64 = 30 * 86_400;

fn jitter() -> f64 {
    // ULIDs carry 80 random bits; two bytes of them are plenty for jitter.
    let random = ulid::Ulid::generate().random();
    f64::from(u16::try_from(random & 0xffff).unwrap_or(0)) / f64::from(u16::MAX)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub struct Deliverer {
    ledger: Arc<dyn Ledger>,
    pacer: Arc<dyn Pacer>,
    directory: Arc<dyn Directory>,
    incidents: Arc<dyn IncidentReader>,
    timer: Arc<dyn Timer>,
    policy: RetryPolicy,
    /// Slots reserved by jobs waiting on the queue for them (job id → slot). Another process
    /// receiving such a job reserves anew: slower, never wrong.
    held: Mutex<HashMap<String, HeldSlot>>,
    /// Post claims kept by jobs waiting for their slot (job id → lease end, epoch ms).
    claims: Mutex<HashMap<String, i64>>,
    pub counters: Counters,
}

impl Deliverer {
    pub fn new(
        ledger: Arc<dyn Ledger>,
        pacer: Arc<dyn Pacer>,
        directory: Arc<dyn Directory>,
        incidents: Arc<dyn IncidentReader>,
        timer: Arc<dyn Timer>,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            ledger,
            pacer,
            directory,
            incidents,
            timer,
            policy,
            held: Mutex::new(HashMap::new()),
            claims: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        }
    }

    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.directory
    }

    /// Wall-clock milliseconds, from the timer the deliveries use.
    pub fn now_ms(&self) -> i64 {
        self.timer.now_ms()
    }

    /// Handles one job to its end: delivered or skipped, or what the queue must do with it.
    /// `Err` only when the store failed: the queue retries the message as it is.
    pub async fn run(&self, job: DeliveryJob) -> Result<Outcome, StoreError> {
        let job_id = job.job_id.clone();
        let outcome = self.run_inner(job).await;
        if matches!(&outcome, Ok(o) if !matches!(o, Outcome::Deferred { .. })) {
            self.forget(&job_id);
        }
        outcome
    }

    async fn run_inner(&self, mut job: DeliveryJob) -> Result<Outcome, StoreError> {
        let mut refreshed = false;
        loop {
            let attempt = self.attempt(&job).await?;
            // Rotated credentials: read the secret again, once, before calling it permanent.
            if let Attempt::Failed(ChatError::Unauthorized(_)) = &attempt
                && !refreshed
            {
                refreshed = true;
                if self.directory.refresh(&job.provider).await {
                    tracing::info!(job = %job.job_id, "credentials refused; using the provider secret read again");
                    continue;
                }
            }
            let failure = match attempt {
                Attempt::Delivered => {
                    Counters::add(&self.counters.delivered);
                    return Ok(Outcome::Delivered);
                }
                Attempt::Skipped(why) => {
                    Counters::add(&self.counters.skipped);
                    return Ok(Outcome::Skipped(why));
                }
                Attempt::Later(delay) if delay < Duration::from_secs(1) => {
                    self.timer.sleep(delay).await;
                    continue;
                }
                Attempt::Hold(slot) => {
                    // Holding a slot: hide the message until just before it, keeping its place in
                    // the queue, and wait the rest in-process when it comes back.
                    let remaining = slot.at_ms - self.timer.now_ms();
                    self.hold(&job.job_id, slot);
                    let hide = Duration::from_secs(u64::try_from((remaining - 300).max(0) / 1000).unwrap_or(0));
                    return Ok(Outcome::Deferred { hide });
                }
                Attempt::Later(delay) => return Ok(requeue(job, delay, false)),
                Attempt::Failed(e) => e,
            };
            match failure {
                ChatError::RateLimited { wait, global } => {
                    Counters::add(&self.counters.throttled);
                    tracing::warn!(job = %job.job_id, ?wait, global, "throttled by the platform");
                    return Ok(requeue(job, wait, true));
                }
                ChatError::Transient(reason) | ChatError::Unknown(reason) => {
                    job.attempt += 1;
                    job.last_error = Some(reason.clone());
                    if job.attempt >= self.policy.max_attempts {
                        let reason = format!("gave up after {} attempts: {reason}", job.attempt);
                        return Ok(self.dead_letter(job, reason));
                    }
                    Counters::add(&self.counters.retried);
                    let delay = backoff(job.attempt, self.policy.backoff_base, self.policy.backoff_cap, jitter());
                    tracing::info!(job = %job.job_id, attempt = job.attempt, ?delay, %reason, "retrying");
                    if delay < Duration::from_secs(1) {
                        self.timer.sleep(delay).await;
                        continue;
                    }
                    return Ok(requeue(job, delay, false));
                }
                ChatError::Unauthorized(reason) | ChatError::NotFound(reason) | ChatError::Permanent(reason) => {
                    return Ok(self.dead_letter(job, reason));
                }
                ChatError::NameTaken => return Ok(self.dead_letter(job, "name_taken".into())),
            }
        }
    }

    fn dead_letter(&self, mut job: DeliveryJob, reason: String) -> Outcome {
        tracing::warn!(job = %job.job_id, %reason, "delivery dead-lettered");
        Counters::add(&self.counters.dead_lettered);
        job.last_error = Some(reason.clone());
        Outcome::DeadLetter {
            job: Box::new(job),
            reason,
        }
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hold(&self, job: &str, slot: HeldSlot) {
        Self::lock(&self.held).insert(job.to_string(), slot);
    }

    fn held(&self, job: &str, bucket: &str) -> Option<HeldSlot> {
        Self::lock(&self.held).get(job).filter(|s| s.bucket == bucket).cloned()
    }

    /// How many jobs this process keeps a reserved slot or a claim for (they come back for them).
    pub fn kept(&self) -> usize {
        Self::lock(&self.held).len() + Self::lock(&self.claims).len()
    }

    /// Drops what a finished job kept in this process (held slot, kept claim).
    fn forget(&self, job: &str) {
        Self::lock(&self.held).remove(job);
        Self::lock(&self.claims).remove(job);
    }

    /// Paces a call: `Some((wait, slot))` means come back later.
    async fn pace(
        &self,
        job_id: &str,
        provider: &str,
        rule: Option<PaceRule>,
    ) -> Result<Option<(Duration, Option<HeldSlot>)>, StoreError> {
        let Some(rule) = rule else {
            return Ok(None);
        };
        let held = self.held(job_id, &rule.bucket);
        match self.pacer.pace(provider, &rule, held.as_ref()).await? {
            Paced::Go => Ok(None),
            Paced::Later { wait, slot } => Ok(Some((wait, slot))),
        }
    }

    async fn attempt(&self, job: &DeliveryJob) -> Result<Attempt, StoreError> {
        let early = Self::lock(&self.held).get(&job.job_id).cloned();
        if let Some(slot) = early.filter(|s| s.at_ms - self.timer.now_ms() >= 1000) {
            return Ok(Attempt::Hold(slot));
        }
        let target = match self.directory.target(&job.provider).await? {
            Ok(target) => target,
            Err(e) => return Ok(Attempt::Failed(e)),
        };
        match &job.payload {
            Payload::Text { text } => self.deliver_doc(job, &target, &Doc::text(text.as_str())).await,
            Payload::Summary { summary } => self.deliver_doc(job, &target, &summary.doc()).await,
            Payload::Incident { event } => self.deliver_incident(job, &target, event).await,
        }
    }

    /// A one-off message (summary, announcement): posted once, remembered by a marker.
    async fn deliver_doc(&self, job: &DeliveryJob, target: &Target, doc: &Doc) -> Result<Attempt, StoreError> {
        let marker = format!("delivery#{}", job.job_id);
        if self.ledger.is_marked(&marker).await? {
            return Ok(Attempt::Skipped("already delivered"));
        }
        let messenger = &target.messenger;
        let rule = messenger.pace(Op::Post { channel: &job.channel });
        if let Some((wait, slot)) = self.pace(&job.job_id, &job.provider, rule).await? {
            return Ok(Attempt::paced(wait, slot));
        }
        match messenger.post(&job.channel, doc, &job.job_id).await {
            Ok(_) => {
                let expires = self.timer.now_ms() / 1000 + TEXT_MARKER_TTL_SECONDS;
                self.ledger.mark_once(&marker, expires).await?;
                Ok(Attempt::Delivered)
            }
            Err(e) => Ok(Attempt::Failed(self.note_unknown(job, e))),
        }
    }

    /// A lost answer to a post cannot always be made exact (platforms without idempotent
    /// sends): count it.
    fn note_unknown(&self, job: &DeliveryJob, e: ChatError) -> ChatError {
        if let ChatError::Unknown(reason) = &e {
            Counters::add(&self.counters.possible_duplicates);
            tracing::warn!(job = %job.job_id, %reason, "post sent but unanswered: a retry may post twice");
        }
        e
    }

    async fn deliver_incident(
        &self,
        job: &DeliveryJob,
        target: &Target,
        event: &IncidentEvent,
    ) -> Result<Attempt, StoreError> {
        let incident = &event.incident;
        let messenger = &target.messenger;
        let note = event.entry.data.get("note").and_then(|v| v.as_str());
        let message = IncidentMessage {
            note,
            previous_severity: event.previous_severity,
            ..IncidentMessage::new(incident, event.kind, &target.provider.config, self.now())
        };
        let card = target.card(message);
        let key = MessageKey::new(&incident.id, &job.provider, &job.channel);
        // A job back for its slot while still well within the claim it kept posts right away.
        let now = self.timer.now_ms();
        let kept = Self::lock(&self.claims)
            .get(&job.job_id)
            .copied()
            .filter(|until| until - now > KEEP_MARGIN_MS);
        let claim = match kept {
            Some(until) => Claim::Claimed { until },
            None => self.ledger.claim(&key, &job.job_id, now).await?,
        };
        let result = match claim {
            Claim::Busy => return Ok(Attempt::Later(Duration::from_millis(250))),
            Claim::Claimed { until: claim_until } => {
                let rule = messenger.pace(Op::Post { channel: &job.channel });
                if let Some((wait, slot)) = self.pace(&job.job_id, &job.provider, rule).await? {
                    // Waiting for a slot well within the claim's lease: keep the claim (this job
                    // posts when it comes back); otherwise let another job have the channel.
                    let back_by = self.timer.now_ms() + millis(wait);
                    if slot.is_some() && back_by + KEEP_MARGIN_MS < claim_until {
                        Self::lock(&self.claims).insert(job.job_id.clone(), claim_until);
                    } else {
                        Self::lock(&self.claims).remove(&job.job_id);
                        self.ledger.release(&key, &job.job_id).await?;
                    }
                    return Ok(Attempt::paced(wait, slot));
                }
                Self::lock(&self.claims).remove(&job.job_id);
                // A change other than the declaration that makes the channel's first post still
                // owes its timeline line to the new message's thread.
                let owes_line = event.kind != EventKind::IncidentCreated;
                match messenger.post(&job.channel, &card, &job.job_id).await {
                    Ok(posted) => {
                        let ours = self
                            .ledger
                            .finish_post(&key, &posted, incident.version, &job.job_id, !owes_line)
                            .await?;
                        if !ours {
                            Counters::add(&self.counters.possible_duplicates);
                            tracing::warn!(job = %job.job_id, "our claim lapsed before the post was recorded: the channel may show the incident twice");
                        }
                        self.converge(&key, target, &posted, incident.version).await;
                        match (owes_line, ours) {
                            (false, _) => Attempt::Delivered,
                            (true, true) => self.thread_line(job, messenger.as_ref(), &key, &posted, event).await?,
                            // The recorded message is another job's: come back to thread on it.
                            (true, false) => return Ok(Attempt::Later(Duration::from_millis(250))),
                        }
                    }
                    Err(e) => {
                        self.ledger.release(&key, &job.job_id).await?;
                        return Ok(Attempt::Failed(self.note_unknown(job, e)));
                    }
                }
            }
            Claim::Posted(posted) => {
                if posted.jobs.contains(&job.job_id) {
                    return Ok(Attempt::Skipped("already delivered"));
                }
                if incident.version > posted.version {
                    let held = messenger
                        .pace(Op::Update { channel: &job.channel })
                        .and_then(|rule| self.held(&job.job_id, &rule.bucket));
                    match self
                        .edit(
                            messenger.as_ref(),
                            &key,
                            &posted.message,
                            incident.version,
                            &card,
                            held.as_ref(),
                        )
                        .await?
                    {
                        Edit::Edited => self.converge(&key, target, &posted.message, incident.version).await,
                        Edit::Stale => {}
                        Edit::Busy => return Ok(Attempt::Later(Duration::from_millis(200))),
                        Edit::Later { wait, slot } => return Ok(Attempt::paced(wait, slot)),
                        Edit::Failed(e) => return Ok(Attempt::Failed(e)),
                    }
                }
                self.thread_line(job, messenger.as_ref(), &key, &posted.message, event)
                    .await?
            }
        };
        if matches!(result, Attempt::Delivered) {
            self.archive_war_room(job, target, event).await;
        }
        Ok(result)
    }

    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.timer.now_ms()) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// Adds the change's timeline line to the message's thread (every change but the
    /// declaration has one), then records the job as delivered.
    async fn thread_line(
        &self,
        job: &DeliveryJob,
        messenger: &dyn Messenger,
        key: &MessageKey,
        message: &MessageRef,
        event: &IncidentEvent,
    ) -> Result<Attempt, StoreError> {
        if event.kind != EventKind::IncidentCreated {
            let rule = messenger.pace(Op::Reply { channel: &job.channel });
            if let Some((wait, slot)) = self.pace(&job.job_id, &job.provider, rule).await? {
                return Ok(Attempt::paced(wait, slot));
            }
            if let Err(e) = messenger.reply(message, &timeline_reply(&event.entry)).await {
                return Ok(Attempt::Failed(self.note_unknown(job, e)));
            }
        }
        self.ledger.mark_job(key, &job.job_id).await?;
        Ok(Attempt::Delivered)
    }

    /// Edits `target` to show `doc` (the incident at `version`), unless it already shows that
    /// version or newer: locked per message, paced by the platform, recorded on success.
    pub async fn edit(
        &self,
        messenger: &dyn Messenger,
        key: &MessageKey,
        target: &MessageRef,
        version: u64,
        doc: &Doc,
        held: Option<&HeldSlot>,
    ) -> Result<Edit, StoreError> {
        match self.ledger.lock_edit(key, version, self.timer.now_ms()).await? {
            EditLock::Stale => return Ok(Edit::Stale),
            EditLock::Busy => return Ok(Edit::Busy),
            EditLock::Locked => {}
        }
        if let Some(rule) = messenger.pace(Op::Update { channel: &key.channel })
            && let Paced::Later { wait, slot } = self.pacer.pace(&key.provider, &rule, held).await?
        {
            self.ledger.unlock_edit(key, version).await?;
            return Ok(Edit::Later { wait, slot });
        }
        match messenger.update(target, doc).await {
            Ok(()) => {
                self.ledger.finish_edit(key, version).await?;
                Ok(Edit::Edited)
            }
            Err(e) => {
                self.ledger.unlock_edit(key, version).await?;
                Ok(Edit::Failed(e))
            }
        }
    }

    /// After showing `rendered`, brings the message up to the incident's latest version if it
    /// moved on meanwhile (a change routed before this channel had a message misses it). Best
    /// effort: the delivery itself is done.
    pub async fn converge(&self, key: &MessageKey, target: &Target, message_ref: &MessageRef, rendered: u64) {
        let latest = match self.incidents.current(&key.incident).await {
            Ok(Some(latest)) if latest.version > rendered => latest,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(incident = %key.incident, error = %e, "could not check for a newer version");
                return;
            }
        };
        let message = IncidentMessage::new(
            &latest,
            EventKind::for_status(latest.status),
            &target.provider.config,
            self.now(),
        );
        let card = target.card(message);
        match self
            .edit(target.messenger.as_ref(), key, message_ref, latest.version, &card, None)
            .await
        {
            Ok(Edit::Edited) => {
                tracing::info!(incident = %key.incident, channel = %key.channel, from = rendered, to = latest.version, "brought a message up to date");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(incident = %key.incident, error = %e, "bringing a message up to date"),
        }
    }

    /// Posts a tracked incident message in a channel that has none yet (a new war room): claim,
    /// post, record. `None` if the channel already has one or is being posted to.
    pub async fn post_tracked(
        &self,
        target: &Target,
        incident: &Incident,
        channel: &str,
        job: &str,
    ) -> Result<Option<MessageRef>, ChatError> {
        let key = MessageKey::new(&incident.id, &target.provider.name, channel);
        let store = |e: StoreError| ChatError::Transient(e.to_string());
        match self.ledger.claim(&key, job, self.timer.now_ms()).await.map_err(store)? {
            Claim::Claimed { .. } => {}
            Claim::Posted(posted) => return Ok(Some(posted.message)),
            Claim::Busy => return Ok(None),
        }
        let message = IncidentMessage::new(
            incident,
            EventKind::for_status(incident.status),
            &target.provider.config,
            self.now(),
        );
        let card = message.card(target.messenger.platform());
        match target.messenger.post(channel, &card, job).await {
            Ok(posted) => {
                let ours = self
                    .ledger
                    .finish_post(&key, &posted, incident.version, job, true)
                    .await
                    .map_err(store)?;
                if !ours {
                    tracing::warn!(incident = %incident.id, channel, "the summary was recorded by someone else");
                }
                Ok(Some(posted))
            }
            Err(e) => {
                let _ = self.ledger.release(&key, job).await;
                Err(e)
            }
        }
    }

    /// On close, archives the incident's war room when the provider asks for it.
    async fn archive_war_room(&self, job: &DeliveryJob, target: &Target, event: &IncidentEvent) {
        let room = event.incident.war_room.as_ref();
        if event.kind == EventKind::IncidentClosed
            && target.provider.config.archive_war_room_on_close
            && room.is_some_and(|r| r.provider == job.provider && r.channel == job.channel)
            && let Some(rooms) = target.messenger.rooms()
            && let Err(e) = rooms.archive(&job.channel).await
        {
            tracing::warn!(channel = %job.channel, error = %e, "could not archive the war room");
        }
    }
}

/// The delivery jobs of one event: one per (provider, channel) for every active provider that
/// notifies, by its routing (see [`crate::notify::route`]), including the channels of that
/// provider that already show the incident.
pub async fn jobs_for<'a>(
    providers: impl IntoIterator<Item = &'a Provider>,
    ledger: &dyn Ledger,
    event: &IncidentEvent,
) -> Result<Vec<DeliveryJob>, StoreError> {
    let mut jobs = Vec::new();
    for provider in providers {
        if provider.status != crate::provider::ProviderStatus::Active || !provider.config.enable_notifications {
            continue;
        }
        let posted = ledger.posted_channels(&event.incident.id, &provider.name).await?;
        for route in crate::notify::route(&provider.name, &provider.config, event, &posted) {
            jobs.push(DeliveryJob::for_event(&provider.name, &route, event));
        }
    }
    Ok(jobs)
}

fn requeue(job: DeliveryJob, delay: Duration, throttled: bool) -> Outcome {
    Outcome::Requeue {
        job: Box::new(job),
        delay,
        throttled,
    }
}

#[cfg(test)]
#[path = "delivery_test.rs"]
mod tests;
