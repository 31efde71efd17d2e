//! SQS: queues, publishing incident events to `incident-events`, and slow work to
//! `interaction-work`.

use std::sync::Arc;

use std::time::Duration;

use aws_sdk_sqs::types::{
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use im_core::chat::BoxFuture;
use im_core::ports::{EventPublisher, PublishError};
use im_core::work::{Work, WorkQueue};
use im_core::{IncidentEvent, StoreError};
use tokio::sync::OnceCell;

use crate::clients::AwsClients;
use crate::config::QueueRef;
use crate::error::AwsError;

/// A message body as JSON (what the queues carry).
pub fn json_body(value: &impl serde::Serialize) -> Result<String, AwsError> {
    serde_json::to_string(value).map_err(|e| AwsError::Malformed(format!("serialising a message: {e}")))
}

/// A queue whose URL is resolved on first use when it was configured by name.
pub struct Queue {
    clients: Arc<AwsClients>,
    reference: QueueRef,
    url: OnceCell<String>,
}

impl Queue {
    pub fn new(clients: Arc<AwsClients>, reference: QueueRef) -> Self {
        Self {
            clients,
            reference,
            url: OnceCell::new(),
        }
    }

    pub async fn url(&self) -> Result<&str, AwsError> {
        self.url
            .get_or_try_init(|| async {
                match &self.reference {
                    QueueRef::Url(url) => Ok(url.clone()),
                    QueueRef::Name(name) => self
                        .clients
                        .sqs()
                        .await
                        .get_queue_url()
                        .queue_name(name)
                        .send()
                        .await
                        .map_err(|e| AwsError::service("resolving a queue URL", e))?
                        .queue_url
                        .ok_or_else(|| AwsError::Malformed(format!("queue `{name}` has no URL"))),
                }
            })
            .await
            .map(String::as_str)
    }

    /// Sends one message body with string attributes.
    pub async fn send(&self, body: String, attributes: &[(&str, &str)]) -> Result<(), AwsError> {
        self.send_delayed(body, Duration::ZERO, attributes).await
    }

    /// Sends one message that becomes visible after `delay` (rounded up to whole seconds, at most 900).
    pub async fn send_delayed(
        &self,
        body: String,
        delay: Duration,
        attributes: &[(&str, &str)],
    ) -> Result<(), AwsError> {
        let url = self.url().await?;
        let seconds = i32::try_from(delay.as_secs() + u64::from(delay.subsec_nanos() > 0))
            .unwrap_or(900)
            .min(900);
        let mut send = self
            .clients
            .sqs()
            .await
            .send_message()
            .queue_url(url)
            .message_body(body)
            .delay_seconds(seconds);
        for (name, value) in attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(*value)
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?;
            send = send.message_attributes(*name, attribute);
        }
        send.send()
            .await
            .map_err(|e| AwsError::service("sending a message", e))?;
        Ok(())
    }
}

impl Queue {
    /// Sends many bodies, ten per request; entries SQS refuses are retried once.
    pub async fn send_all(&self, bodies: Vec<String>) -> Result<(), AwsError> {
        let url = self.url().await?.to_string();
        let sqs = self.clients.sqs().await;
        for chunk in bodies.chunks(10) {
            let mut pending: Vec<(String, &String)> =
                chunk.iter().enumerate().map(|(i, b)| (i.to_string(), b)).collect();
            for _ in 0..2 {
                if pending.is_empty() {
                    break;
                }
                let entries = pending
                    .iter()
                    .map(|(id, body)| {
                        SendMessageBatchRequestEntry::builder()
                            .id(id)
                            .message_body(*body)
                            .build()
                            .map_err(|e| AwsError::Malformed(e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let out = sqs
                    .send_message_batch()
                    .queue_url(&url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| AwsError::service("sending messages", e))?;
                let failed: Vec<&str> = out.failed().iter().map(|f| f.id()).collect();
                pending.retain(|(id, _)| failed.contains(&id.as_str()));
            }
            if !pending.is_empty() {
                return Err(AwsError::Malformed(format!(
                    "{} message(s) were refused by SQS",
                    pending.len()
                )));
            }
        }
        Ok(())
    }

    /// Receives up to `max` messages, waiting up to `wait` for the first.
    pub async fn receive(
        &self,
        max: i32,
        wait: Duration,
        visibility: Option<Duration>,
    ) -> Result<Vec<QueueMessage>, AwsError> {
        let url = self.url().await?;
        let out = self
            .clients
            .sqs()
            .await
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(20).min(20))
            .set_visibility_timeout(visibility.map(|v| i32::try_from(v.as_secs()).unwrap_or(30)))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| AwsError::service("receiving messages", e))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| QueueMessage {
                id: m.message_id().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().to_string(),
                receipt: m.receipt_handle().unwrap_or_default().to_string(),
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
                attributes: m
                    .message_attributes()
                    .map(|a| {
                        a.iter()
                            .filter_map(|(k, v)| v.string_value().map(|s| (k.clone(), s.to_string())))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// Makes a received message visible again right away.
    pub async fn make_visible(&self, receipt: &str) -> Result<(), AwsError> {
        self.hide(receipt, Duration::ZERO).await
    }

    /// Keeps a received message on the queue, invisible for `hide` (whole seconds, at most 12 h).
    pub async fn hide(&self, receipt: &str, hide: Duration) -> Result<(), AwsError> {
        let url = self.url().await?;
        self.clients
            .sqs()
            .await
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(i32::try_from(hide.as_secs()).unwrap_or(43_200).min(43_200))
            .send()
            .await
            .map_err(|e| AwsError::service("changing visibility", e))?;
        Ok(())
    }

    /// Deletes handled messages, ten per request.
    pub async fn delete_all(&self, receipts: &[String]) -> Result<(), AwsError> {
        let url = self.url().await?;
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .build()
                        .map_err(|e| AwsError::Malformed(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .clients
                .sqs()
                .await
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| AwsError::service("deleting messages", e))?;
            if !out.failed().is_empty() {
                return Err(AwsError::Malformed(format!(
                    "{} message(s) could not be deleted",
                    out.failed().len()
                )));
            }
        }
        Ok(())
    }

    pub async fn delete(&self, receipt: &str) -> Result<(), AwsError> {
        let url = self.url().await?;
        self.clients
            .sqs()
            .await
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| AwsError::service("deleting a message", e))?;
        Ok(())
    }

    /// Approximate number of visible plus in-flight plus delayed messages.
    pub async fn depth(&self) -> Result<u64, AwsError> {
        let url = self.url().await?;
        let out = self
            .clients
            .sqs()
            .await
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| AwsError::service("reading queue depth", e))?;
        Ok(out
            .attributes()
            .map(|a| a.values().filter_map(|v| v.parse::<u64>().ok()).sum())
            .unwrap_or(0))
    }
}

/// A received message (the same shape an SQS-triggered Lambda sees per record).
#[derive(Debug, Clone)]
pub struct QueueMessage {
    pub id: String,
    pub body: String,
    pub receipt: String,
    pub receive_count: u32,
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// [`EventPublisher`] on SQS. Without a configured queue, publishing fails and the outbox keeps
/// the event for the sweep.
pub struct SqsPublisher {
    queue: Option<Queue>,
}

impl SqsPublisher {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        let queue = clients
            .config()
            .incident_events_queue
            .clone()
            .map(|reference| Queue::new(clients.clone(), reference));
        Self { queue }
    }
}

impl EventPublisher for SqsPublisher {
    async fn publish(&self, event: &IncidentEvent) -> Result<(), PublishError> {
        let queue = self
            .queue
            .as_ref()
            .ok_or_else(|| PublishError("no incident-events queue is configured".into()))?;
        let body = serde_json::to_string(event).map_err(|e| PublishError(e.to_string()))?;
        queue
            .send(
                body,
                &[
                    ("event_kind", event.kind.as_str()),
                    ("incident_id", event.incident.id.as_str()),
                ],
            )
            .await
            .map_err(|e| PublishError(e.to_string()))
    }
}

/// The core's [`WorkQueue`] on SQS (`interaction-work`).
pub struct SqsWorkQueue {
    queue: Option<Queue>,
}

impl SqsWorkQueue {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        let queue = clients
            .config()
            .interaction_work_queue
            .clone()
            .map(|reference| Queue::new(clients.clone(), reference));
        Self { queue }
    }
}

impl WorkQueue for SqsWorkQueue {
    fn enqueue<'a>(&'a self, work: &'a Work) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let queue = self
                .queue
                .as_ref()
                .ok_or_else(|| StoreError::Unavailable("no interaction-work queue is configured".into()))?;
            let body = json_body(work).map_err(|e| StoreError::Unavailable(e.to_string()))?;
            queue
                .send(body, &[("work_id", &work.id), ("provider", &work.provider)])
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        })
    }
}
