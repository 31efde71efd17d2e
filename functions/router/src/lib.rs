//! `router` (SQS `incident-events`): one incident event → one delivery job per (provider,
//! channel) on `deliveries`, by each provider's routing configuration (see `im_core::notify`).
//! Channels that already show the incident are included, so every message stays current.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use im_aws::deliveries::DeliveryStore;
use im_aws::sqs::{Queue, QueueMessage};
use im_aws::{AwsClients, AwsError, DynamoStore};
use im_core::IncidentEvent;
use im_core::notify::DeliveryJob;
use im_core::provider::Provider;
use tracing::{error, info};

type Cached = (Instant, Arc<Vec<Provider>>);

pub struct Router {
    store: DynamoStore,
    deliveries: DeliveryStore,
    queue: Queue,
    ttl: std::time::Duration,
    providers: Mutex<Option<Cached>>,
}

impl Router {
    pub fn new(clients: Arc<AwsClients>) -> Result<Self, AwsError> {
        let config = clients.config();
        let queue = config
            .deliveries_queue
            .clone()
            .ok_or_else(|| AwsError::Config("DELIVERIES_QUEUE_URL is not set".into()))?;
        let ttl = config.providers_ttl;
        Ok(Self {
            store: DynamoStore::new(clients.clone()),
            deliveries: DeliveryStore::new(clients.clone()),
            queue: Queue::new(clients, queue),
            ttl,
            providers: Mutex::new(None),
        })
    }

    async fn providers(&self) -> Result<Arc<Vec<Provider>>, AwsError> {
        if let Some((at, list)) = self.providers.lock().map(|g| g.clone()).unwrap_or(None)
            && at.elapsed() < self.ttl
        {
            return Ok(list);
        }
        let list = Arc::new(self.store.list_providers().await?);
        if let Ok(mut guard) = self.providers.lock() {
            *guard = Some((Instant::now(), list.clone()));
        }
        Ok(list)
    }

    /// The delivery jobs for one event.
    pub async fn jobs(&self, event: &IncidentEvent) -> Result<Vec<DeliveryJob>, AwsError> {
        let providers = self.providers().await?;
        Ok(im_core::delivery::jobs_for(providers.iter(), &self.deliveries, event).await?)
    }

    /// Routes one event body and queues its jobs.
    pub async fn process(&self, body: &str) -> Result<usize, AwsError> {
        let event: IncidentEvent =
            serde_json::from_str(body).map_err(|e| AwsError::Malformed(format!("not an incident event: {e}")))?;
        let jobs = self.jobs(&event).await?;
        let bodies = jobs.iter().map(im_aws::sqs::json_body).collect::<Result<Vec<_>, _>>()?;
        let count = bodies.len();
        self.queue.send_all(bodies).await?;
        info!(incident = %event.incident.id, kind = event.kind.as_str(), jobs = count, "routed");
        Ok(count)
    }

    /// Partial batch failures: a failed record is retried (and after repeated failures, the
    /// queue's redrive moves it to the dead-letter queue); the others are done.
    pub async fn handle_batch(&self, messages: Vec<QueueMessage>) -> Vec<String> {
        let mut failed = Vec::new();
        for m in messages {
            if let Err(e) = self.process(&m.body).await {
                error!(message = %m.id, error = %e, "routing failed");
                failed.push(m.id);
            }
        }
        failed
    }
}

impl im_aws::poller::BatchHandler for Router {
    async fn handle(&self, messages: Vec<QueueMessage>) -> Vec<String> {
        self.handle_batch(messages).await
    }
}
