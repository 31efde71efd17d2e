//! In-process SQS pollers: how `im serve` (and the tests) run the queue-triggered functions with
//! the same batch handlers Lambda calls. Failed records stay on the queue and come back after
//! their visibility timeout, as with Lambda's partial batch failures.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::warn;

use crate::sqs::{Queue, QueueMessage};

/// A queue-triggered function: handles a batch, returns the ids of records to retry.
pub trait BatchHandler: Send + Sync + 'static {
    fn handle(&self, messages: Vec<QueueMessage>) -> impl Future<Output = Vec<String>> + Send;
}

/// Polls `queue` with `loops` concurrent receivers until `stop` turns true.
pub fn spawn<H: BatchHandler>(
    queue: Arc<Queue>,
    handler: Arc<H>,
    loops: usize,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..loops.max(1))
        .map(|_| {
            let (queue, handler, stop) = (queue.clone(), handler.clone(), stop.clone());
            tokio::spawn(async move {
                loop {
                    if *stop.borrow() {
                        break;
                    }
                    // Never abandon a receive half-way: the queue would hide what it handed out
                    // until the visibility timeout. A receive waits at most a second.
                    let received = queue.receive(10, Duration::from_secs(1), None).await;
                    let messages = match received {
                        Ok(m) => m,
                        Err(e) => {
                            warn!(error = %e, "receiving failed; retrying shortly");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            continue;
                        }
                    };
                    if messages.is_empty() {
                        continue;
                    }
                    let receipts: Vec<(String, String)> =
                        messages.iter().map(|m| (m.id.clone(), m.receipt.clone())).collect();
                    let failed = handler.handle(messages).await;
                    for (id, receipt) in receipts {
                        if !failed.contains(&id)
                            && let Err(e) = queue.delete(&receipt).await
                        {
                            warn!(error = %e, "deleting a handled message failed; it may be handled again");
                        }
                    }
                }
            })
        })
        .collect()
}
