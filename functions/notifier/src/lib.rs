//! `notifier` (SQS `deliveries`): queue glue around the core's delivery algorithm
//! ([`im_core::delivery`]), which posts, edits and threads every incident message on every
//! platform. Here: read each job, run it, and carry out what it says (re-queue with a delay,
//! dead-letter with the reason, wait hidden on the queue for a held slot), one span per record,
//! partial batch failures.

use std::sync::Arc;
use std::time::Duration;

use im_aws::deliveries::DeliveryStore;
use im_aws::sqs::{Queue, QueueMessage};
use im_aws::{AwsClients, AwsError, ProviderDirectory};
use im_core::delivery::{Counters, Deliverer, Outcome};
use im_core::inbound::Platforms;
use im_core::notify::DeliveryJob;
use im_core::usage::{Usage, UsageRecorder};
use tracing::{Instrument, error, info_span, warn};

/// A message received this often without finishing goes to the dead-letter queue with that reason
/// (waiting for a send slot counts as a receive, so this is well above what pacing needs).
const MAX_RECEIVES: u32 = 150;

pub struct Notifier {
    deliverer: Deliverer,
    /// The DynamoDB ledger and pacer (its slot counters feed the delivery benchmark).
    pub store: Arc<DeliveryStore>,
    queue: Queue,
    dlq: Queue,
    providers: Arc<ProviderDirectory>,
    usage: Arc<dyn UsageRecorder>,
}

impl Notifier {
    pub fn new(clients: Arc<AwsClients>, platforms: Platforms) -> Result<Self, AwsError> {
        let config = clients.config().clone();
        let queue = config
            .deliveries_queue
            .clone()
            .ok_or_else(|| AwsError::Config("DELIVERIES_QUEUE_URL is not set".into()))?;
        let dlq = config
            .deliveries_dlq
            .clone()
            .ok_or_else(|| AwsError::Config("DELIVERIES_DLQ_URL is not set".into()))?;
        let store = Arc::new(DeliveryStore::new(clients.clone()));
        let providers = Arc::new(ProviderDirectory::new(clients.clone()));
        let deliverer = Deliverer::new(
            store.clone(),
            store.clone(),
            Arc::new(im_core::directory::PlatformDirectory::new(providers.clone(), platforms)),
            Arc::new(im_aws::DynamoStore::new(clients.clone())),
            Arc::new(im_aws::deliveries::SystemTimer),
            config.delivery.retry_policy(),
        );
        Ok(Self {
            deliverer,
            store,
            queue: Queue::new(clients.clone(), queue),
            dlq: Queue::new(clients.clone(), dlq),
            providers,
            usage: Arc::new(im_aws::usage::AwsUsage::new(clients)),
        })
    }

    pub fn counters(&self) -> &Counters {
        &self.deliverer.counters
    }

    /// Processes a batch; returns the ids of messages to retry (partial batch failure). A message
    /// fails only when its outcome could not be recorded (re-queue or dead-letter failed), or
    /// when it waits on the queue for its slot.
    pub async fn handle_batch(&self, messages: Vec<QueueMessage>) -> Vec<String> {
        let before = self.counters().snapshot();
        let work = messages.into_iter().map(|m| async move {
            let span = info_span!("delivery", message = %m.id);
            if m.receive_count > MAX_RECEIVES {
                let reason = format!("received {} times without finishing", m.receive_count);
                return match self.dead_letter_body(&m.body, &reason).await {
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
        let after = self.counters().snapshot();
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

    /// Handles one job body to its end: delivered, re-queued or dead-lettered (or deferred to
    /// the slot it holds).
    pub async fn process(&self, body: &str) -> Result<Outcome, AwsError> {
        let job: DeliveryJob = match serde_json::from_str(body) {
            Ok(job) => job,
            Err(e) => {
                let reason = format!("malformed delivery job: {e}");
                self.dlq.send(body.to_string(), &[("reason", &reason)]).await?;
                self.counters()
                    .dead_lettered
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Ok(Outcome::Skipped("malformed: dead-lettered"));
            }
        };
        let provider = job.provider.clone();
        let outcome = self
            .deliverer
            .run(job)
            .await
            .map_err(|e| AwsError::Malformed(e.to_string()))?;
        match &outcome {
            Outcome::Requeue { job, delay, .. } => self.requeue(job, *delay).await?,
            Outcome::DeadLetter { job, reason } => {
                self.dead_letter(job, reason).await?;
                self.count(&job.provider, Some(reason.clone())).await;
            }
            Outcome::Delivered => self.count(&provider, None).await,
            Outcome::Skipped(_) | Outcome::Deferred { .. } => {}
        }
        Ok(outcome)
    }

    /// Counts a delivery's end (usage statistics and the `Deliveries` metric by platform).
    async fn count(&self, provider: &str, failure: Option<String>) {
        let platform = match self.providers.provider(provider).await {
            Ok(Some(p)) => p.platform.as_str().to_string(),
            _ => "unknown".to_string(),
        };
        let usage = Usage::Delivery {
            platform,
            provider: provider.to_string(),
            failure,
        };
        self.usage.record(time::OffsetDateTime::now_utc(), usage).await;
    }

    async fn requeue(&self, job: &DeliveryJob, delay: Duration) -> Result<(), AwsError> {
        let body = im_aws::sqs::json_body(job)?;
        self.queue.send_delayed(body, delay, &[]).await
    }

    async fn dead_letter_body(&self, body: &str, reason: &str) -> Result<(), AwsError> {
        match serde_json::from_str::<DeliveryJob>(body) {
            Ok(mut job) => {
                job.last_error = Some(reason.to_string());
                self.dead_letter(&job, reason).await
            }
            Err(_) => self.dlq.send(body.to_string(), &[("reason", reason)]).await,
        }
    }

    async fn dead_letter(&self, job: &DeliveryJob, reason: &str) -> Result<(), AwsError> {
        let body = im_aws::sqs::json_body(job)?;
        self.dlq
            .send(
                body,
                &[("reason", reason), ("job_id", &job.job_id), ("channel", &job.channel)],
            )
            .await
    }
}

impl im_aws::poller::BatchHandler for Notifier {
    async fn handle(&self, messages: Vec<QueueMessage>) -> Vec<String> {
        self.handle_batch(messages).await
    }
}
