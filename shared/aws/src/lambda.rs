//! Glue between SQS-triggered Lambda events and the queue handlers, which also run under
//! `im serve`'s pollers: one handler, two hosts.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

use crate::sqs::QueueMessage;

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
