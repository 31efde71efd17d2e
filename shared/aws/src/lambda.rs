//! Glue between SQS-triggered Lambda events and the queue handlers, which also run under
//! `im serve`'s pollers: one handler, two hosts.

use std::sync::Arc;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::poller::BatchHandler;
use crate::sqs::QueueMessage;

/// Runs a queue handler as an SQS-triggered Lambda, reporting partial batch failures.
pub async fn run_sqs<H: BatchHandler>(handler: H) -> Result<(), lambda_runtime::Error> {
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = handler.clone();
        async move {
            // Boxed: handler futures are deep, and the runtime nests them further (the compiler's
            // layout computation of the main future overflows without it).
            let failed = Box::pin(handler.handle(messages(event.payload))).await;
            Ok::<SqsBatchResponse, lambda_runtime::Error>(batch_response(failed))
        }
    }))
    .await
}

/// The records of an SQS event as queue messages.
pub fn messages(event: SqsEvent) -> Vec<QueueMessage> {
    event
        .records
        .into_iter()
        .map(|r| QueueMessage {
            id: r.message_id.unwrap_or_default(),
            body: r.body.unwrap_or_default(),
            receipt: r.receipt_handle.unwrap_or_default(),
            receive_count: r
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
            attributes: r
                .message_attributes
                .into_iter()
                .filter_map(|(k, v)| v.string_value.map(|s| (k, s)))
                .collect(),
        })
        .collect()
}

/// `ReportBatchItemFailures`: only the failed records are retried.
pub fn batch_response(failed: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}
