//! Publishing incident events to the `incident-events` queue.

use std::sync::Arc;

use aws_sdk_sqs::types::MessageAttributeValue;
use im_core::IncidentEvent;
use im_core::ports::{EventPublisher, PublishError};
use tokio::sync::OnceCell;

use crate::clients::AwsClients;
use crate::config::QueueRef;
use crate::error::AwsError;

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
        let url = self.url().await?;
        let mut send = self
            .clients
            .sqs()
            .await
            .send_message()
            .queue_url(url)
            .message_body(body);
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
