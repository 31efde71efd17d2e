//! `notifier` (SQS `deliveries`): renders and posts, or edits the one message an incident has in a
//! channel, then adds the change's timeline line to its thread.
//!
//! - A redelivered job does nothing: delivered job ids are stored on the message record.
//! - A message never goes back to an older version: edits are locked per message and carry the
//!   version they render; a job older than what the message shows edits nothing.
//! - Pacing is shared through DynamoDB: `chat.postMessage` per channel, `chat.update` per
//!   workspace. Waits under a second happen here; longer ones go back to the queue.
//! - 429: re-queued after `Retry-After`, retry budget untouched. 5xx, timeouts: exponential backoff
//!   with jitter, up to `max_attempts`. Permanent errors: dead-letter queue with the reason.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use im_aws::config::DeliverySettings;
use im_aws::deliveries::{Claim, DeliveryStore, Edit, Paced, UPDATE_BUCKET, now_ms};
use im_aws::slack_api::{SlackClient, SlackClients};
use im_aws::sqs::{Queue, QueueMessage};
use im_aws::{AwsClients, AwsError, ProviderDirectory, ResolvedProvider};
use im_core::notify::{ChatError, DeliveryJob, HeldSlot, Payload, backoff};
use im_core::ports::{ChatClient, IncidentMessage, IncidentStore};
use im_core::provider::Platform;
use im_core::slack::notification::timeline_reply;
use im_core::{EventKind, IncidentEvent, StoreError};
use tracing::{Instrument, error, info, info_span, warn};

/// A message received this often without finishing goes to the dead-letter queue with that reason
/// (waiting for a send slot counts as a receive, so this is well above what pacing needs).
const MAX_RECEIVES: u32 = 150;

/// A kept claim is relied on only with at least this much of its lease left.
const KEEP_MARGIN_MS: i64 = 5_000;

/// Counters since start (also emitted as metrics per batch).
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
}

/// What became of one job.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    Skipped(&'static str),
    /// Waiting for a reserved slot: the message stays on the queue, hidden for `hide`.
    Deferred {
        hide: Duration,
    },
    Requeued {
        delay: Duration,
        throttled: bool,
    },
    DeadLettered(String),
}

/// One try at a job.
enum Attempt {
    Delivered,
    /// Nothing to do (why).
    Skipped(&'static str),
    /// Come back later without using the retry budget (pacing, a post in flight elsewhere),
    /// holding the reserved slot if there is one.
    Later(Duration, Option<HeldSlot>),
    Failed(ChatError),
}

pub struct Notifier {
    providers: ProviderDirectory,
    incidents: im_aws::DynamoStore,
    pub store: DeliveryStore,
    queue: Queue,
    dlq: Queue,
    slack: SlackClients,
    settings: DeliverySettings,
    /// Slots reserved by jobs waiting on the queue for them (job id → slot). Another process
    /// receiving such a job reserves anew: slower, never wrong.
    held: std::sync::Mutex<std::collections::HashMap<String, HeldSlot>>,
    /// Post claims kept by jobs waiting for their slot (job id → claim lease end, epoch ms): a
    /// job that comes back well within its lease posts without claiming again.
    claims: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    pub counters: Counters,
}

fn jitter() -> f64 {
    // ULIDs carry 80 random bits; two bytes of them are plenty for jitter.
    let random = ulid::Ulid::generate().random();
    f64::from(u16::try_from(random & 0xffff).unwrap_or(0)) / f64::from(u16::MAX)
}

impl Notifier {
    pub fn new(clients: Arc<AwsClients>) -> Result<Self, AwsError> {
        let config = clients.config().clone();
        let queue = config
            .deliveries_queue
            .clone()
            .ok_or_else(|| AwsError::Config("DELIVERIES_QUEUE_URL is not set".into()))?;
        let dlq = config
            .deliveries_dlq
            .clone()
            .ok_or_else(|| AwsError::Config("DELIVERIES_DLQ_URL is not set".into()))?;
        Ok(Self {
            providers: ProviderDirectory::new(clients.clone()),
            incidents: im_aws::DynamoStore::new(clients.clone()),
            store: DeliveryStore::new(clients.clone()),
            queue: Queue::new(clients.clone(), queue),
            dlq: Queue::new(clients, dlq),
            slack: SlackClients::new(&config.delivery.slack_api_url, config.delivery.chat_timeout),
            held: std::sync::Mutex::new(std::collections::HashMap::new()),
            claims: std::sync::Mutex::new(std::collections::HashMap::new()),
            settings: config.delivery,
            counters: Counters::default(),
        })
    }

    /// Processes a batch; returns the ids of messages to retry (partial batch failure). A message
    /// fails only when its outcome could not be recorded (re-queue or dead-letter failed).
    pub async fn handle_batch(&self, messages: Vec<QueueMessage>) -> Vec<String> {
        let before = self.snapshot();
        let work = messages.into_iter().map(|m| async move {
            let span = info_span!("delivery", message = %m.id);
            if m.receive_count > MAX_RECEIVES {
                let reason = format!("received {} times without finishing", m.receive_count);
                return match self.dead_letter_body(&m.body, reason).await {
                    Ok(()) => None,
                    Err(e) => {
                        error!(message = %m.id, error = %e, "could not dead-letter");
                        Some(m.id)
                    }
                };
            }
            match self.process(&m.body).instrument(span).await {
                Ok(Outcome::Deferred { hide }) => {
                    if let Err(e) = self.queue.hide(&m.receipt, hide).await {
                        warn!(message = %m.id, error = %e, "could not set the wait; it comes back after the visibility timeout");
                    }
                    Some(m.id)
                }
                Ok(_) => None,
                Err(e) => {
                    error!(message = %m.id, error = %e, "delivery could not be recorded; SQS will retry it");
                    Some(m.id)
                }
            }
        });
        let failed: Vec<String> = futures_util::future::join_all(work)
            .await
            .into_iter()
            .flatten()
            .collect();
        let after = self.snapshot();
        im_aws::metrics::emit(
            "notifier",
            &[],
            &[
                ("Delivered", after[0] - before[0]),
                ("Throttled", after[2] - before[2]),
                ("Retried", after[3] - before[3]),
                ("PossibleDuplicate", after[4] - before[4]),
                ("DeadLettered", after[5] - before[5]),
            ],
        );
        failed
    }

    fn snapshot(&self) -> [u64; 6] {
        let c = &self.counters;
        [
            &c.delivered,
            &c.skipped,
            &c.throttled,
            &c.retried,
            &c.possible_duplicates,
            &c.dead_lettered,
        ]
        .map(|a| a.load(Ordering::Relaxed))
    }

    /// Handles one job body to its end: delivered, re-queued or dead-lettered (or deferred to
    /// the slot it holds).
    pub async fn process(&self, body: &str) -> Result<Outcome, AwsError> {
        let job: DeliveryJob = match serde_json::from_str(body) {
            Ok(job) => job,
            Err(e) => {
                let reason = format!("malformed delivery job: {e}");
                self.dlq.send(body.to_string(), &[("reason", &reason)]).await?;
                Counters::add(&self.counters.dead_lettered);
                return Ok(Outcome::DeadLettered(reason));
            }
        };
        let job_id = job.job_id.clone();
        let outcome = self.run(job).await;
        if matches!(&outcome, Ok(o) if !matches!(o, Outcome::Deferred { .. })) {
            self.forget(&job_id);
        }
        outcome
    }

    async fn run(&self, mut job: DeliveryJob) -> Result<Outcome, AwsError> {
        let mut refreshed = false;
        loop {
            let attempt = self.attempt(&job).await?;
            // A rotated bot token: read the secret again, once, before calling it permanent.
            if let Attempt::Failed(ChatError::Permanent(code)) = &attempt
                && (code == "invalid_auth" || code == "token_revoked")
                && !refreshed
            {
                refreshed = true;
                if self.refresh_token(&job.provider).await {
                    info!(job = %job.job_id, "bot token refused; using the provider secret read again");
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
                Attempt::Later(delay, None) if delay < Duration::from_secs(1) => {
                    tokio::time::sleep(delay).await;
                    continue;
                }
                Attempt::Later(_, Some(slot)) => {
                    // Holding a slot: hide this message until just before it, keeping its place
                    // in the queue, and wait the rest in-process when it comes back.
                    let remaining = slot.at_ms - now_ms();
                    self.hold(&job.job_id, slot);
                    let hide = Duration::from_secs(u64::try_from((remaining - 300).max(0) / 1000).unwrap_or(0));
                    tracing::debug!(job = %job.job_id, remaining, ?hide, "deferred for a held slot");
                    return Ok(Outcome::Deferred { hide });
                }
                Attempt::Later(delay, None) => return self.requeue(&job, delay, false).await,
                Attempt::Failed(e) => e,
            };
            match failure {
                ChatError::RateLimited(delay) => {
                    Counters::add(&self.counters.throttled);
                    warn!(job = %job.job_id, ?delay, "throttled by the platform");
                    return self.requeue(&job, delay, true).await;
                }
                ChatError::Permanent(reason) => return self.dead_letter(job, reason).await,
                ChatError::NameTaken => return self.dead_letter(job, "name_taken".into()).await,
                ChatError::Transient(reason) | ChatError::Unknown(reason) => {
                    job.attempt += 1;
                    job.last_error = Some(reason.clone());
                    if job.attempt >= self.settings.max_attempts {
                        let reason = format!("gave up after {} attempts: {reason}", job.attempt);
                        return self.dead_letter(job, reason).await;
                    }
                    Counters::add(&self.counters.retried);
                    let delay = backoff(
                        job.attempt,
                        self.settings.backoff_base,
                        self.settings.backoff_cap,
                        jitter(),
                    );
                    info!(job = %job.job_id, attempt = job.attempt, ?delay, %reason, "retrying");
                    if delay < Duration::from_secs(1) {
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return self.requeue(&job, delay, false).await;
                }
            }
        }
    }

    fn hold(&self, job: &str, slot: HeldSlot) {
        if let Ok(mut held) = self.held.lock() {
            held.insert(job.to_string(), slot);
        }
    }

    fn held(&self, job: &str, bucket: &str) -> Option<HeldSlot> {
        self.held
            .lock()
            .ok()
            .and_then(|h| h.get(job).filter(|s| s.bucket == bucket).cloned())
    }

    /// Drops what a finished job kept in this process (held slot, kept claim).
    fn forget(&self, job: &str) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(job);
        }
        self.drop_claim(job);
    }

    fn kept_claim(&self, job: &str) -> Option<i64> {
        self.claims.lock().ok().and_then(|c| c.get(job).copied())
    }

    fn keep_claim(&self, job: &str, until: i64) {
        if let Ok(mut claims) = self.claims.lock() {
            claims.insert(job.to_string(), until);
        }
    }

    fn drop_claim(&self, job: &str) {
        if let Ok(mut claims) = self.claims.lock() {
            claims.remove(job);
        }
    }

    async fn refresh_token(&self, provider: &str) -> bool {
        match self.providers.provider(provider).await {
            Ok(Some(p)) => {
                matches!(self.providers.refreshed_secrets(&p).await, Ok(Some(s)) if s.get("bot_token").is_some())
            }
            _ => false,
        }
    }

    async fn requeue(&self, job: &DeliveryJob, delay: Duration, throttled: bool) -> Result<Outcome, AwsError> {
        let body = im_aws::sqs::json_body(job)?;
        self.queue.send_delayed(body, delay, &[]).await?;
        Ok(Outcome::Requeued { delay, throttled })
    }

    async fn dead_letter_body(&self, body: &str, reason: String) -> Result<(), AwsError> {
        match serde_json::from_str::<DeliveryJob>(body) {
            Ok(job) => self.dead_letter(job, reason).await.map(|_| ()),
            Err(_) => self.dlq.send(body.to_string(), &[("reason", &reason)]).await,
        }
    }

    async fn dead_letter(&self, mut job: DeliveryJob, reason: String) -> Result<Outcome, AwsError> {
        warn!(job = %job.job_id, %reason, "delivery dead-lettered");
        job.last_error = Some(reason.clone());
        let body = im_aws::sqs::json_body(&job)?;
        self.dlq
            .send(
                body,
                &[("reason", &reason), ("job_id", &job.job_id), ("channel", &job.channel)],
            )
            .await?;
        Counters::add(&self.counters.dead_lettered);
        Ok(Outcome::DeadLettered(reason))
    }

    /// Paces a `chat.postMessage` to the job's channel: `Some((wait, slot))` means come back later.
    async fn pace_post(&self, job: &DeliveryJob) -> Result<Option<(Duration, Option<HeldSlot>)>, StoreError> {
        let bucket = format!("post:{}", job.channel);
        let held = self.held(&job.job_id, &bucket);
        match self
            .store
            .pace(&job.provider, &bucket, self.settings.slack_post_interval, held.as_ref())
            .await?
        {
            Paced::Go => Ok(None),
            Paced::Later { wait, slot } => Ok(Some((wait, slot))),
        }
    }

    async fn attempt(&self, job: &DeliveryJob) -> Result<Attempt, StoreError> {
        let early = self.held.lock().ok().and_then(|h| h.get(&job.job_id).cloned());
        if let Some(slot) = early.filter(|s| s.at_ms - now_ms() >= 1000) {
            let wait = Duration::from_millis(u64::try_from(slot.at_ms - now_ms()).unwrap_or(0));
            return Ok(Attempt::Later(wait, Some(slot)));
        }
        let resolved = match self.providers.resolve(&job.provider).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Ok(Attempt::Failed(ChatError::Permanent(format!(
                    "provider `{}` not found",
                    job.provider
                ))));
            }
            Err(e) => return Err(StoreError::Unavailable(e.to_string())),
        };
        if resolved.provider.platform != Platform::Slack {
            return Ok(Attempt::Failed(ChatError::Permanent(format!(
                "{} delivery is not implemented yet",
                resolved.provider.platform
            ))));
        }
        let client = match self.slack.for_provider(&resolved) {
            Ok(c) => c,
            Err(e) => return Ok(Attempt::Failed(e)),
        };
        match &job.payload {
            Payload::Text { text } => self.deliver_text(job, &client, text).await,
            Payload::Incident { event } => self.deliver_incident(job, &resolved, &client, event).await,
        }
    }

    async fn deliver_text(&self, job: &DeliveryJob, client: &SlackClient, text: &str) -> Result<Attempt, StoreError> {
        let marker = format!("delivery#{}", job.job_id);
        if self.store.is_marked(&marker).await? {
            return Ok(Attempt::Skipped("already delivered"));
        }
        if let Some((wait, slot)) = self.pace_post(job).await? {
            return Ok(Attempt::Later(wait, slot));
        }
        match client.post_text(&job.channel, text).await {
            Ok(_) => {
                let expires = time::OffsetDateTime::now_utc().unix_timestamp() + 30 * 86_400;
                self.store.mark_once(&marker, expires).await?;
                Ok(Attempt::Delivered)
            }
            Err(e) => Ok(Attempt::Failed(self.note_unknown(job, e))),
        }
    }

    /// A lost answer to a post cannot be made exact (Slack has no idempotency key): count it.
    fn note_unknown(&self, job: &DeliveryJob, e: ChatError) -> ChatError {
        if let ChatError::Unknown(reason) = &e {
            Counters::add(&self.counters.possible_duplicates);
            warn!(job = %job.job_id, %reason, "post sent but unanswered: a retry may post twice");
        }
        e
    }

    async fn deliver_incident(
        &self,
        job: &DeliveryJob,
        resolved: &ResolvedProvider,
        client: &SlackClient,
        event: &IncidentEvent,
    ) -> Result<Attempt, StoreError> {
        let incident = &event.incident;
        let config = &resolved.provider.config;
        let note = event.entry.data.get("note").and_then(|v| v.as_str());
        let message = IncidentMessage {
            note,
            previous_severity: event.previous_severity,
            ..IncidentMessage::new(incident, event.kind, config, time::OffsetDateTime::now_utc())
        };
        // A job back for its slot while still well within the claim it kept posts right away.
        let kept = self
            .kept_claim(&job.job_id)
            .filter(|until| until - now_ms() > KEEP_MARGIN_MS);
        let claim = match kept {
            Some(until) => Claim::Claimed { until },
            None => {
                self.store
                    .claim(&incident.id, &job.provider, &job.channel, &job.job_id, now_ms())
                    .await?
            }
        };
        let result = match claim {
            Claim::Busy => return Ok(Attempt::Later(Duration::from_millis(250), None)),
            Claim::Claimed { until: claim_until } => {
                if let Some((wait, slot)) = self.pace_post(job).await? {
                    // Waiting for a slot well within the claim's lease: keep the claim (this job
                    // posts when it comes back); otherwise let another job have the channel.
                    let back_by = now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                    if slot.is_some() && back_by + KEEP_MARGIN_MS < claim_until {
                        self.keep_claim(&job.job_id, claim_until);
                    } else {
                        self.drop_claim(&job.job_id);
                        self.store
                            .release(&incident.id, &job.provider, &job.channel, &job.job_id)
                            .await?;
                    }
                    return Ok(Attempt::Later(wait, slot));
                }
                self.drop_claim(&job.job_id);
                // A change other than the declaration that makes the channel's first post still
                // owes its timeline line to the new message's thread.
                let owes_line = event.kind != EventKind::IncidentCreated;
                match client.post(&job.channel, &message).await {
                    Ok(posted) => {
                        let ours = self
                            .store
                            .finish_post(
                                &incident.id,
                                &job.provider,
                                &posted,
                                incident.version,
                                &job.job_id,
                                !owes_line,
                            )
                            .await?;
                        if !ours {
                            Counters::add(&self.counters.possible_duplicates);
                            warn!(job = %job.job_id, "our claim lapsed before the post was recorded: the channel may show the incident twice");
                        }
                        self.converge(job, resolved, client, &posted, incident.version).await;
                        match (owes_line, ours) {
                            (false, _) => Attempt::Delivered,
                            (true, true) => self.thread_line(job, client, &posted, event).await?,
                            // The recorded message is another job's: come back to thread on it.
                            (true, false) => return Ok(Attempt::Later(Duration::from_millis(250), None)),
                        }
                    }
                    Err(e) => {
                        self.store
                            .release(&incident.id, &job.provider, &job.channel, &job.job_id)
                            .await?;
                        return Ok(Attempt::Failed(self.note_unknown(job, e)));
                    }
                }
            }
            Claim::Posted(posted) => {
                if posted.jobs.contains(&job.job_id) {
                    return Ok(Attempt::Skipped("already delivered"));
                }
                if incident.version > posted.version {
                    match self
                        .store
                        .edit(
                            client,
                            &job.provider,
                            &posted.message,
                            &message,
                            self.settings.slack_update_interval,
                            self.held(&job.job_id, UPDATE_BUCKET).as_ref(),
                        )
                        .await?
                    {
                        Edit::Edited => {
                            self.converge(job, resolved, client, &posted.message, incident.version)
                                .await;
                        }
                        Edit::Stale => {}
                        Edit::Busy => return Ok(Attempt::Later(Duration::from_millis(200), None)),
                        Edit::Later { wait, slot } => return Ok(Attempt::Later(wait, slot)),
                        Edit::Failed(e) => return Ok(Attempt::Failed(e)),
                    }
                }
                self.thread_line(job, client, &posted.message, event).await?
            }
        };
        if matches!(result, Attempt::Delivered) {
            self.archive_war_room(job, resolved, client, event).await;
        }
        Ok(result)
    }

    /// Adds the change's timeline line to the message's thread (every change but the
    /// declaration has one), then records the job as delivered.
    async fn thread_line(
        &self,
        job: &DeliveryJob,
        client: &SlackClient,
        message: &im_core::ports::MessageRef,
        event: &IncidentEvent,
    ) -> Result<Attempt, StoreError> {
        if event.kind != EventKind::IncidentCreated {
            if let Some((wait, slot)) = self.pace_post(job).await? {
                return Ok(Attempt::Later(wait, slot));
            }
            if let Err(e) = client.reply(message, &timeline_reply(&event.entry)).await {
                return Ok(Attempt::Failed(self.note_unknown(job, e)));
            }
        }
        self.store
            .mark_job(&event.incident.id, &job.provider, &job.channel, &job.job_id)
            .await?;
        Ok(Attempt::Delivered)
    }

    /// After showing `rendered`, brings the message up to the incident's latest version if it
    /// moved on meanwhile (a change routed before this channel had a message misses it).
    /// Best effort: the delivery itself is done.
    async fn converge(
        &self,
        job: &DeliveryJob,
        resolved: &ResolvedProvider,
        client: &SlackClient,
        message_ref: &im_core::ports::MessageRef,
        rendered: u64,
    ) {
        let event = match job.event() {
            Some(e) => e,
            None => return,
        };
        let id = &event.incident.id;
        let latest = match self.incidents.get(id).await {
            Ok(Some(latest)) if latest.version > rendered => latest,
            Ok(_) => return,
            Err(e) => {
                warn!(incident = %id, error = %e, "could not check for a newer version");
                return;
            }
        };
        let config = &resolved.provider.config;
        let message = IncidentMessage::new(
            &latest,
            EventKind::for_status(latest.status),
            config,
            time::OffsetDateTime::now_utc(),
        );
        match self
            .store
            .edit(
                client,
                &job.provider,
                message_ref,
                &message,
                self.settings.slack_update_interval,
                None,
            )
            .await
        {
            Ok(Edit::Edited) => {
                info!(incident = %id, channel = %job.channel, from = rendered, to = latest.version, "brought a message up to date");
            }
            Ok(_) => {}
            Err(e) => warn!(incident = %id, error = %e, "bringing a message up to date"),
        }
    }

    /// On close, archives the incident's war room when the provider asks for it.
    async fn archive_war_room(
        &self,
        job: &DeliveryJob,
        resolved: &ResolvedProvider,
        client: &SlackClient,
        event: &IncidentEvent,
    ) {
        let room = event.incident.war_room.as_ref();
        if event.kind == EventKind::IncidentClosed
            && resolved.provider.config.archive_war_room_on_close
            && room.is_some_and(|r| r.provider == job.provider && r.channel == job.channel)
            && let Err(e) = client.archive(&job.channel).await
        {
            warn!(channel = %job.channel, error = %e, "could not archive the war room");
        }
    }
}

impl im_aws::poller::BatchHandler for Notifier {
    async fn handle(&self, messages: Vec<QueueMessage>) -> Vec<String> {
        self.handle_batch(messages).await
    }
}
