//! Delivery state in DynamoDB, the core's [`Ledger`] and [`Pacer`]: the one message per incident
//! and channel (posted-message records), shared pacing per bucket, and once-only markers.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | posted message | `INC#<id>` | `MSG#<provider>#<channel>`: message id, version shown, delivered job ids, claim/lock |
//! | pacing | `PACE#<provider>#<bucket>` | `META`: `next_at` (epoch ms) |
//! | marker | `MARK#<name>` | `META`: once-only work (text deliveries, weekly summaries) |
//!
//! Each step is one conditional write that, when its condition fails, returns the item as it was
//! (`ReturnValuesOnConditionCheckFailure`), so the common paths cost one request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use im_core::chat::{BoxFuture, MessageRef, PaceRule};
pub use im_core::delivery::{Claim, EditLock, LEASE_MS, MessageKey, Paced, Posted};
use im_core::delivery::{Ledger, Pacer, Timer};
use im_core::notify::HeldSlot;
use im_core::work::{Begin, Inbox};
use im_core::{IncidentId, StoreError};

use crate::clients::AwsClients;
use crate::dynamo::{incident_pk, n, query_all, s, unavailable};

type Item = HashMap<String, AttributeValue>;

fn num(item: &Item, key: &str) -> Option<i64> {
    item.get(key).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

fn text(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

/// How late after its reserved slot a send may still go out.
const LATE_TOLERANCE_MS: i64 = 25;

/// Waiting for a send slot (epoch ms).
enum SlotWait {
    /// A second or more away: come back for it.
    Later(Duration),
    /// Reached (waited for in-process if under a second away).
    OnTime,
    /// Missed by this many ms.
    Late(i64),
}

/// Waits for a slot under a second away; a longer wait is the caller's to take elsewhere.
async fn await_slot(at_ms: i64) -> SlotWait {
    let remaining = at_ms - now_ms();
    if remaining >= 1000 {
        return SlotWait::Later(Duration::from_millis(u64::try_from(remaining).unwrap_or(0)));
    }
    if remaining > 0 {
        tokio::time::sleep(Duration::from_millis(u64::try_from(remaining).unwrap_or(0))).await;
    }
    match now_ms() - at_ms {
        late if late > LATE_TOLERANCE_MS => SlotWait::Late(late),
        _ => SlotWait::OnTime,
    }
}

/// Wall-clock milliseconds: pacing is shared between processes, so it uses real time.
pub fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

#[derive(Clone)]
pub struct DeliveryStore {
    clients: Arc<AwsClients>,
    table: String,
    /// Pacing bucket → the `next_at` this process last saw (a hint, never trusted for correctness).
    pacing_hint: Arc<std::sync::Mutex<HashMap<String, i64>>>,
    /// Held slots used on time, and missed (the job came back too late), since start.
    pub slots_used: Arc<std::sync::atomic::AtomicU64>,
    pub slots_missed: Arc<std::sync::atomic::AtomicU64>,
    pub missed_by_ms: Arc<std::sync::atomic::AtomicU64>,
    /// Smoothed round trip of pacing requests, in microseconds.
    round_trip_us: Arc<std::sync::atomic::AtomicU64>,
}

fn msg_key(key: &MessageKey) -> (AttributeValue, AttributeValue) {
    (
        s(incident_pk(&key.incident)),
        s(format!("MSG#{}#{}", key.provider, key.channel)),
    )
}

fn posted(item: &Item, channel: &str) -> Option<Posted> {
    let id = text(item, "message_id")?;
    let jobs = item
        .get("jobs")
        .and_then(|v| v.as_ss().ok())
        .cloned()
        .unwrap_or_default();
    let mut message = MessageRef::new(text(item, "message_channel").unwrap_or_else(|| channel.to_string()), id);
    if let Some(extra) = text(item, "message_extra").and_then(|e| serde_json::from_str(&e).ok()) {
        message.extra = extra;
    }
    Some(Posted {
        message,
        version: num(item, "version").and_then(|v| u64::try_from(v).ok()).unwrap_or(0),
        jobs,
    })
}

/// The item a failed conditional update saw (ReturnValuesOnConditionCheckFailure = ALL_OLD).
fn old_item(error: &UpdateItemError) -> Item {
    match error {
        UpdateItemError::ConditionalCheckFailedException(ex) => ex.item().cloned().unwrap_or_default(),
        _ => Item::new(),
    }
}

impl DeliveryStore {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        let table = clients.config().table_name.clone();
        Self {
            clients,
            table,
            pacing_hint: Arc::default(),
            slots_used: Arc::default(),
            slots_missed: Arc::default(),
            missed_by_ms: Arc::default(),
            round_trip_us: Arc::default(),
        }
    }

    async fn client(&self) -> &aws_sdk_dynamodb::Client {
        self.clients.dynamo().await
    }

    /// An update of the posted-message record of an incident in a channel.
    async fn update_message(
        &self,
        key: &MessageKey,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let (pk, sk) = msg_key(key);
        self.client()
            .await
            .update_item()
            .table_name(&self.table)
            .key("PK", pk)
            .key("SK", sk)
    }

    /// The posted message for an incident in a channel, if any.
    pub async fn posted(&self, key: &MessageKey) -> Result<Option<Posted>, StoreError> {
        let (pk, sk) = msg_key(key);
        let out = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .key("PK", pk)
            .key("SK", sk)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("reading a posted message", e))?;
        Ok(out.item.as_ref().and_then(|i| posted(i, &key.channel)))
    }

    /// Channels of `provider` that show the incident, or are about to.
    pub async fn posted_channels(&self, incident: &IncidentId, provider: &str) -> Result<Vec<String>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Channel {
            channel: Option<String>,
        }
        let query = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :msg)")
            .expression_attribute_values(":pk", s(incident_pk(incident)))
            .expression_attribute_values(":msg", s(format!("MSG#{provider}#")))
            .projection_expression("#channel")
            .expression_attribute_names("#channel", "channel")
            .consistent_read(true);
        // Posted or being posted: a change routed while the first post is in flight still
        // reaches that channel.
        let items: Vec<Channel> = query_all(query, "listing posted messages").await?;
        // Records that are not channels (the war room's creation) start with `#`.
        Ok(items
            .into_iter()
            .filter_map(|c| c.channel)
            .filter(|c| !c.starts_with('#'))
            .collect())
    }

    /// Claims the first post of an incident in a channel, or reports what is there.
    pub async fn claim(&self, key: &MessageKey, job: &str, now_ms: i64) -> Result<Claim, StoreError> {
        let until = now_ms + LEASE_MS;
        // A new claim, or a takeover of a claim whose worker stopped renewing it.
        let sent = std::time::Instant::now();
        let result = self
            .update_message(key)
            .await
            .update_expression("SET claim = :job, claim_until = :until, channel = :channel, provider = :provider, item_type = :t")
            .condition_expression(
                "attribute_not_exists(message_id) AND (attribute_not_exists(claim_until) OR claim_until < :now OR claim = :job)",
            )
            .expression_attribute_values(":job", s(job))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":channel", s(&key.channel))
            .expression_attribute_values(":provider", s(&key.provider))
            .expression_attribute_values(":t", s("posted_message"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        // A claim usually comes just before a reservation: its round trip is the freshest
        // measure of how far ahead a slot must start.
        self.observe_round_trip(sent.elapsed());
        match result {
            Ok(_) => Ok(Claim::Claimed { until }),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let old = old_item(e.err());
                Ok(match posted(&old, &key.channel) {
                    Some(p) => Claim::Posted(p),
                    None => Claim::Busy,
                })
            }
            Err(e) => Err(unavailable("claiming a post", e)),
        }
    }

    /// Records the posted message, ending our claim, and with `done` the job that posted it as
    /// delivered (without, the job still owes its thread line: its redelivery finds the message
    /// and adds it). `false` if our claim was no longer ours (its lease ran out and another job
    /// recorded its own post): then the post just made may be a second message in the channel.
    pub async fn finish_post(
        &self,
        key: &MessageKey,
        message: &MessageRef,
        version: u64,
        job: &str,
        done: bool,
    ) -> Result<bool, StoreError> {
        let set = "SET message_id = :id, version = :v, message_channel = :mc, message_extra = :extra";
        let update = if done {
            format!("{set} ADD jobs :jobs REMOVE claim, claim_until")
        } else {
            format!("{set} REMOVE claim, claim_until")
        };
        let extra = serde_json::to_string(&message.extra).unwrap_or_else(|_| "{}".into());
        let mut request = self
            .update_message(key)
            .await
            .update_expression(update)
            .condition_expression("claim = :job AND attribute_not_exists(message_id)")
            .expression_attribute_values(":id", s(&message.id))
            .expression_attribute_values(":v", n(version))
            .expression_attribute_values(":mc", s(&message.channel))
            .expression_attribute_values(":extra", s(extra))
            .expression_attribute_values(":job", s(job));
        if done {
            request = request.expression_attribute_values(":jobs", AttributeValue::Ss(vec![job.to_string()]));
        }
        let result = request.send().await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(unavailable("recording a post", e)),
        }
    }

    /// Gives up a claim after a failed post, so another attempt can post.
    pub async fn release(&self, key: &MessageKey, job: &str) -> Result<(), StoreError> {
        let (pk, sk) = msg_key(key);
        let result = self
            .client()
            .await
            .delete_item()
            .table_name(&self.table)
            .key("PK", pk)
            .key("SK", sk)
            .condition_expression("claim = :job AND attribute_not_exists(message_id)")
            .expression_attribute_values(":job", s(job))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(()),
            Err(e) => Err(unavailable("releasing a claim", e)),
        }
    }

    /// Locks the message for an edit to `version`, unless it already shows that version or newer.
    pub async fn lock_edit(&self, key: &MessageKey, version: u64, now_ms: i64) -> Result<EditLock, StoreError> {
        let until = now_ms + LEASE_MS;
        let result = self
            .update_message(key)
            .await
            .update_expression("SET edit_until = :until, edit_version = :v")
            .condition_expression(
                "attribute_exists(message_id) AND version < :v AND (attribute_not_exists(edit_until) OR edit_until < :now)",
            )
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":v", n(version))
            .expression_attribute_values(":now", n(now_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(EditLock::Locked),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let old = old_item(e.err());
                let shown = num(&old, "version").and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
                Ok(if shown >= version {
                    EditLock::Stale
                } else {
                    EditLock::Busy
                })
            }
            Err(e) => Err(unavailable("locking a message for an edit", e)),
        }
    }

    /// Records that the message now shows `version`, releasing the edit lock.
    pub async fn finish_edit(&self, key: &MessageKey, version: u64) -> Result<(), StoreError> {
        // If the condition fails, our lease expired and a newer edit took over: it shows a newer
        // version, so there is nothing to record.
        self.update_message_if(
            key,
            "SET version = :v REMOVE edit_until, edit_version",
            "edit_version = :v AND version < :v",
            version,
            "recording an edit",
        )
        .await
    }

    /// Releases an edit lock after a failed edit.
    pub async fn unlock_edit(&self, key: &MessageKey, version: u64) -> Result<(), StoreError> {
        self.update_message_if(
            key,
            "REMOVE edit_until, edit_version",
            "edit_version = :v",
            version,
            "releasing an edit lock",
        )
        .await
    }

    /// A conditional update of a posted-message record with `:v` = `version`; a failed
    /// condition means someone else's newer work already moved the record on, which is fine.
    async fn update_message_if(
        &self,
        key: &MessageKey,
        update: &str,
        condition: &str,
        version: u64,
        what: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .update_message(key)
            .await
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_values(":v", n(version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(()),
            Err(e) => Err(unavailable(what, e)),
        }
    }

    /// Records a delivered job on the message (so a redelivered job does nothing).
    pub async fn mark_job(&self, key: &MessageKey, job: &str) -> Result<(), StoreError> {
        self.update_message(key)
            .await
            .update_expression("ADD jobs :jobs")
            .expression_attribute_values(":jobs", AttributeValue::Ss(vec![job.to_string()]))
            .send()
            .await
            .map_err(|e| unavailable("recording a delivery", e))?;
        Ok(())
    }

    /// Reserves the next send slot (epoch ms, at or after `now_ms`) of a pacing bucket shared by
    /// every worker. A busy bucket hands out the slot after its last one in one atomic update; an
    /// idle bucket starts at `now_ms`. Which case to try first comes from what this process last
    /// saw, so both cost one request when traffic is steady.
    pub async fn reserve(
        &self,
        provider: &str,
        bucket: &str,
        interval: Duration,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(1000);
        let key = format!("PACE#{provider}#{bucket}");
        // A slot must still be ahead when the answer arrives: start idle buckets one recent round
        // trip from now (a few ms against DynamoDB, more on a loaded emulator).
        let soon = now_ms + self.round_trip_ms();
        let mut busy_first = self
            .pacing_hint
            .lock()
            .map(|h| h.get(&key).is_some_and(|next| *next > soon))
            .unwrap_or(false);
        for _ in 0..6 {
            let sent = std::time::Instant::now();
            let update = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key("PK", s(key.clone()))
                .key("SK", s("META"))
                .expression_attribute_values(":soon", n(soon))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
            let update = if busy_first {
                update
                    .update_expression("SET next_at = next_at + :i")
                    .condition_expression("next_at > :soon")
                    .expression_attribute_values(":i", n(interval_ms))
                    .return_values(ReturnValue::UpdatedOld)
            } else {
                update
                    .update_expression("SET next_at = :next")
                    .condition_expression("attribute_not_exists(next_at) OR next_at <= :soon")
                    .expression_attribute_values(":next", n(soon + interval_ms))
            };
            let result = update.send().await;
            self.observe_round_trip(sent.elapsed());
            match result {
                Ok(out) => {
                    let slot = if busy_first {
                        out.attributes().and_then(|a| num(a, "next_at")).unwrap_or(soon)
                    } else {
                        soon
                    };
                    if let Ok(mut hint) = self.pacing_hint.lock() {
                        hint.insert(key, slot + interval_ms);
                    }
                    return Ok(slot);
                }
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                    // Wrong guess: the bucket was idle (or just became busy). Try the other case.
                    busy_first = !busy_first;
                }
                Err(e) => return Err(unavailable("pacing", e)),
            }
        }
        Err(StoreError::Unavailable(
            "pacing: the bucket kept changing under us".into(),
        ))
    }

    /// Recent store round trip (smoothed), capped at a second.
    fn round_trip_ms(&self) -> i64 {
        i64::try_from(self.round_trip_us.load(std::sync::atomic::Ordering::Relaxed) / 1000)
            .unwrap_or(0)
            .clamp(5, 1000)
    }

    fn observe_round_trip(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let old = self.round_trip_us.load(std::sync::atomic::Ordering::Relaxed);
        // Rise fast, fall slowly: a late send costs more than an early one.
        let new = if sample > old {
            (old + 3 * sample) / 4
        } else {
            (7 * old + sample) / 8
        };
        self.round_trip_us.store(new, std::sync::atomic::Ordering::Relaxed);
    }

    /// Paces one send in `bucket`. Waits under a second happen here; a longer wait reserves the
    /// slot anyway and says so, so the job can go back to the queue holding it and return just in
    /// time. A send goes out only within a few milliseconds of its slot: a worker that wakes late
    /// (slow store call, busy machine) takes a new slot rather than crowd the next holder.
    pub async fn pace(&self, provider: &str, rule: &PaceRule, held: Option<&HeldSlot>) -> Result<Paced, StoreError> {
        let (bucket, interval) = (rule.bucket.as_str(), rule.interval);
        if let Some(slot) = held.filter(|h| h.bucket == bucket) {
            match await_slot(slot.at_ms).await {
                SlotWait::Later(wait) => {
                    return Ok(Paced::Later {
                        wait,
                        slot: Some(slot.clone()),
                    });
                }
                SlotWait::OnTime => {
                    self.slots_used.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return Ok(Paced::Go);
                }
                SlotWait::Late(late) => {
                    self.slots_missed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(bucket, late, "missed a held slot");
                    self.missed_by_ms
                        .fetch_add(u64::try_from(late).unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        for _ in 0..5 {
            let at_ms = self.reserve(provider, bucket, interval, now_ms()).await?;
            tracing::trace!(bucket, ahead = at_ms - now_ms(), "reserved");
            match await_slot(at_ms).await {
                SlotWait::Later(wait) => {
                    return Ok(Paced::Later {
                        wait,
                        slot: Some(HeldSlot {
                            bucket: bucket.to_string(),
                            at_ms,
                        }),
                    });
                }
                SlotWait::OnTime => return Ok(Paced::Go),
                SlotWait::Late(_) => {}
            }
        }
        Ok(Paced::Later {
            wait: interval,
            slot: None,
        })
    }

    /// Marks once-only work done; `false` if it was already marked.
    pub async fn mark_once(&self, name: &str, expires_at: i64) -> Result<bool, StoreError> {
        let result = self
            .client()
            .await
            .put_item()
            .table_name(&self.table)
            .item("PK", s(format!("MARK#{name}")))
            .item("SK", s("META"))
            .item("item_type", s("marker"))
            .item("expires_at", n(expires_at))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => Ok(false),
            Err(e) => Err(unavailable("marking work done", e)),
        }
    }

    /// Whether once-only work was marked done.
    pub async fn is_marked(&self, name: &str) -> Result<bool, StoreError> {
        let out = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .key("PK", s(format!("MARK#{name}")))
            .key("SK", s("META"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("reading a marker", e))?;
        Ok(out.item.is_some())
    }

    /// Removes a marker (a once-only job that failed permanently can be redriven).
    pub async fn unmark(&self, name: &str) -> Result<(), StoreError> {
        self.client()
            .await
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(format!("MARK#{name}")))
            .key("SK", s("META"))
            .send()
            .await
            .map_err(|e| unavailable("removing a marker", e))?;
        Ok(())
    }
}

impl Ledger for DeliveryStore {
    fn posted<'a>(&'a self, key: &'a MessageKey) -> BoxFuture<'a, Result<Option<Posted>, StoreError>> {
        Box::pin(DeliveryStore::posted(self, key))
    }

    fn posted_channels<'a>(
        &'a self,
        incident: &'a IncidentId,
        provider: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(DeliveryStore::posted_channels(self, incident, provider))
    }

    fn claim<'a>(&'a self, key: &'a MessageKey, job: &'a str, now_ms: i64) -> BoxFuture<'a, Result<Claim, StoreError>> {
        Box::pin(DeliveryStore::claim(self, key, job, now_ms))
    }

    fn finish_post<'a>(
        &'a self,
        key: &'a MessageKey,
        message: &'a MessageRef,
        version: u64,
        job: &'a str,
        done: bool,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(DeliveryStore::finish_post(self, key, message, version, job, done))
    }

    fn release<'a>(&'a self, key: &'a MessageKey, job: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(DeliveryStore::release(self, key, job))
    }

    fn lock_edit<'a>(
        &'a self,
        key: &'a MessageKey,
        version: u64,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<EditLock, StoreError>> {
        Box::pin(DeliveryStore::lock_edit(self, key, version, now_ms))
    }

    fn finish_edit<'a>(&'a self, key: &'a MessageKey, version: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(DeliveryStore::finish_edit(self, key, version))
    }

    fn unlock_edit<'a>(&'a self, key: &'a MessageKey, version: u64) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(DeliveryStore::unlock_edit(self, key, version))
    }

    fn mark_job<'a>(&'a self, key: &'a MessageKey, job: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(DeliveryStore::mark_job(self, key, job))
    }

    fn mark_once<'a>(&'a self, name: &'a str, expires_at: i64) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(DeliveryStore::mark_once(self, name, expires_at))
    }

    fn is_marked<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(DeliveryStore::is_marked(self, name))
    }

    fn unmark<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(DeliveryStore::unmark(self, name))
    }
}

impl Pacer for DeliveryStore {
    fn pace<'a>(
        &'a self,
        provider: &'a str,
        rule: &'a PaceRule,
        held: Option<&'a HeldSlot>,
    ) -> BoxFuture<'a, Result<Paced, StoreError>> {
        Box::pin(DeliveryStore::pace(self, provider, rule, held))
    }
}

/// How long a request id is remembered (Slack retries events for up to 24 h with Delayed Events).
const INBOX_TTL_SECONDS: i64 = 86_400;

impl Inbox for DeliveryStore {
    fn begin<'a>(&'a self, key: &'a str, now_ms: i64, lease_ms: i64) -> BoxFuture<'a, Result<Begin, StoreError>> {
        Box::pin(async move {
            let now_s = now_ms / 1000;
            let result = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key("PK", s(format!("INBOX#{key}")))
                .key("SK", s("META"))
                .update_expression(
                    "SET #state = :progress, lease_until = :until, expires_at = :expires, item_type = :t",
                )
                // New, or an attempt that stopped without finishing, or remembered past its TTL
                // (TTL deletion is lazy).
                .condition_expression(
                    "attribute_not_exists(PK) OR (#state = :progress AND lease_until < :now) OR expires_at < :now_s",
                )
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":progress", s("in_progress"))
                .expression_attribute_values(":until", n(now_ms + lease_ms))
                .expression_attribute_values(":expires", n(now_s + INBOX_TTL_SECONDS))
                .expression_attribute_values(":t", s("inbox"))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":now_s", n(now_s))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(_) => Ok(Begin::First),
                Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                    let old = old_item(e.err());
                    Ok(if text(&old, "state").as_deref() == Some("done") {
                        Begin::Done
                    } else {
                        Begin::InProgress
                    })
                }
                Err(e) => Err(unavailable("recording a request", e)),
            }
        })
    }

    fn finish<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.client()
                .await
                .update_item()
                .table_name(&self.table)
                .key("PK", s(format!("INBOX#{key}")))
                .key("SK", s("META"))
                .update_expression("SET #state = :done")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":done", s("done"))
                .send()
                .await
                .map_err(|e| unavailable("finishing a request", e))?;
            Ok(())
        })
    }
}

/// Wall-clock time and tokio sleeps.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemTimer;

impl Timer for SystemTimer {
    fn now_ms(&self) -> i64 {
        now_ms()
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Conversation context, open questions and on-call rotations: `MEMO#<key>` items, with
/// `expires_at` for DynamoDB's TTL (expired items are also ignored on read: TTL deletes late).
impl im_core::conversation::Memo for DeliveryStore {
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        expires_at: Option<i64>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut put = self
                .client()
                .await
                .put_item()
                .table_name(&self.table)
                .item("PK", s(format!("MEMO#{key}")))
                .item("SK", s("META"))
                .item("item_type", s("memo"))
                .item("value", s(value));
            if let Some(at) = expires_at {
                put = put.item("expires_at", n(at));
            }
            put.send().await.map_err(|e| unavailable("remembering", e))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str, now: i64) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            let out = self
                .client()
                .await
                .get_item()
                .table_name(&self.table)
                .key("PK", s(format!("MEMO#{key}")))
                .key("SK", s("META"))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| unavailable("recalling", e))?;
            let Some(item) = out.item() else {
                return Ok(None);
            };
            let expired = item
                .get("expires_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|at| at <= now);
            Ok(item
                .get("value")
                .and_then(|v| v.as_s().ok())
                .filter(|_| !expired)
                .cloned())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.client()
                .await
                .delete_item()
                .table_name(&self.table)
                .key("PK", s(format!("MEMO#{key}")))
                .key("SK", s("META"))
                .send()
                .await
                .map_err(|e| unavailable("forgetting", e))?;
            Ok(())
        })
    }

    fn count<'a>(&'a self, key: &'a str, expires_at: i64) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let out = self
                .client()
                .await
                .update_item()
                .table_name(&self.table)
                .key("PK", s(format!("MEMO#{key}")))
                .key("SK", s("COUNT"))
                .update_expression("ADD #n :one SET item_type = :t, expires_at = if_not_exists(expires_at, :exp)")
                .expression_attribute_names("#n", "count")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":t", s("counter"))
                .expression_attribute_values(":exp", n(expires_at))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
                .send()
                .await
                .map_err(|e| unavailable("counting", e))?;
            Ok(out
                .attributes()
                .and_then(|a| a.get("count"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(1))
        })
    }
}
