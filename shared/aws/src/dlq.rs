//! The deliveries dead-letter queue: list what is there (with reasons) and replay it.
//! (`StartMessageMoveTask` is not available everywhere, so redrive is receive → send → delete.)

use std::time::Duration;

use im_core::notify::DeliveryJob;
use serde::Serialize;

use crate::error::AwsError;
use crate::sqs::Queue;

#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub job_id: String,
    pub provider: String,
    pub channel: String,
    pub incident: Option<String>,
    pub attempts: u32,
    pub reason: String,
}

fn describe_job(job: &DeliveryJob, reason: Option<&String>) -> DeadLetter {
    DeadLetter {
        incident: job.event().map(|e| e.incident.id.to_string()),
        job_id: job.job_id.clone(),
        provider: job.provider.clone(),
        channel: job.channel.clone(),
        attempts: job.attempt,
        reason: reason
            .or(job.last_error.as_ref())
            .cloned()
            .unwrap_or_else(|| "the notifier failed on it repeatedly (no reason recorded)".into()),
    }
}

fn describe(body: &str, reason: Option<&String>) -> DeadLetter {
    match serde_json::from_str::<DeliveryJob>(body) {
        Ok(job) => describe_job(&job, reason),
        Err(_) => DeadLetter {
            job_id: "?".into(),
            provider: "?".into(),
            channel: "?".into(),
            incident: None,
            attempts: 0,
            reason: reason.cloned().unwrap_or_else(|| "not a delivery job".into()),
        },
    }
}

/// Up to `max` dead letters. Messages are hidden while they are read, then made visible again.
pub async fn list(dlq: &Queue, max: usize) -> Result<Vec<DeadLetter>, AwsError> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    while out.len() < max {
        let batch = dlq.receive(10, Duration::ZERO, Some(Duration::from_secs(30))).await?;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            out.push(describe(&m.body, m.attributes.get("reason")));
            seen.push(m.receipt);
        }
    }
    for receipt in seen {
        dlq.make_visible(&receipt).await?;
    }
    out.truncate(max);
    Ok(out)
}

/// Moves up to `max` dead letters back to the deliveries queue with a fresh retry budget.
pub async fn redrive(dlq: &Queue, deliveries: &Queue, max: usize) -> Result<Vec<DeadLetter>, AwsError> {
    let mut moved = Vec::new();
    while moved.len() < max {
        let batch = dlq.receive(10, Duration::ZERO, Some(Duration::from_secs(60))).await?;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            let (letter, body) = match serde_json::from_str::<DeliveryJob>(&m.body) {
                Ok(mut job) => {
                    let letter = describe_job(&job, m.attributes.get("reason"));
                    job.attempt = 0;
                    job.last_error = None;
                    (letter, crate::sqs::json_body(&job)?)
                }
                Err(_) => {
                    // Not ours to replay; leave it for a person to look at.
                    dlq.make_visible(&m.receipt).await?;
                    continue;
                }
            };
            deliveries.send(body, &[]).await?;
            dlq.delete(&m.receipt).await?;
            moved.push(letter);
        }
    }
    Ok(moved)
}
