//! In-process SQS pollers: how `im serve` (and the tests) run the queue-triggered functions with
//! the same batch handlers Lambda calls. Failed records stay on the queue and come back after
//! their visibility timeout, as with Lambda's partial batch failures.
//!
//! Each received message is handled on its own task (up to `concurrency` at once) while the
//! loops keep receiving: a job that waits for its send slot never holds up the ones behind it,
//! much as Lambda scales out across invocations.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tracing::warn;

use crate::sqs::{Queue, QueueMessage};

/// A queue-triggered function: handles a batch, returns the ids of records to retry.
pub trait BatchHandler: Send + Sync + 'static {
    fn handle(&self, messages: Vec<QueueMessage>) -> impl Future<Output = Vec<String>> + Send;
}

/// Polls `queue` with `loops` receivers, handling up to `loops × 10` messages at once, until
/// `stop` turns true (then waits for the messages in hand).
pub fn spawn<H: BatchHandler>(
    queue: Arc<Queue>,
    handler: Arc<H>,
    loops: usize,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let concurrency = loops.max(1) * 10;
    let permits = Arc::new(Semaphore::new(concurrency));
    let deletes = deleter(queue.clone());
    (0..loops.max(1))
        .map(|_| {
            let (queue, handler, stop, permits, deletes) = (
                queue.clone(),
                handler.clone(),
                stop.clone(),
                permits.clone(),
                deletes.clone(),
            );
            tokio::spawn(async move {
                loop {
                    if *stop.borrow() {
                        break;
                    }
                    // Room for a full batch before receiving one.
                    let Ok(batch_permits) = permits.clone().acquire_many_owned(10).await else {
                        break;
                    };
                    // Never abandon a receive half-way: the queue would hide what it handed out
                    // until the visibility timeout. A receive waits at most a second.
                    let messages = match queue.receive(10, Duration::from_secs(1), None).await {
                        Ok(m) => m,
                        Err(e) => {
                            warn!(error = %e, "receiving failed; retrying shortly");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            continue;
                        }
                    };
                    let mut batch_permits = batch_permits;
                    for message in messages {
                        let Some(permit) = batch_permits.split(1) else { break };
                        let (handler, deletes) = (handler.clone(), deletes.clone());
                        tokio::spawn(async move {
                            let _permit = permit;
                            let (id, receipt) = (message.id.clone(), message.receipt.clone());
                            let failed = handler.handle(vec![message]).await;
                            if !failed.contains(&id) {
                                let _ = deletes.send(receipt);
                            }
                        });
                    }
                }
                // Let the messages in hand finish before this loop reports done.
                let _ = permits
                    .acquire_many(u32::try_from(concurrency).unwrap_or(u32::MAX))
                    .await;
            })
        })
        .collect()
}

/// Deletes handled messages in batches of up to ten (fewer requests than one per message).
fn deleter(queue: Arc<Queue>) -> tokio::sync::mpsc::UnboundedSender<String> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            // Gather whatever else is ready, briefly, up to a full batch.
            let deadline = tokio::time::Instant::now() + Duration::from_millis(20);
            while batch.len() < 10 {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(receipt)) => batch.push(receipt),
                    _ => break,
                }
            }
            if let Err(e) = queue.delete_all(&batch).await {
                warn!(error = %e, "deleting handled messages failed; they may be handled again");
            }
        }
    });
    tx
}
