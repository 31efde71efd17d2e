//! Delivery guarantees against the strict fake Slack: order, faults, dead letters, pacing.

use std::time::Duration;

use im_aws::dlq;
use im_core::Severity;
use im_tests::pipeline::{Pipeline, synthetic_event};

/// Shuffles deterministically (xorshift), so a failure can be replayed.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = usize::try_from(seed % (i as u64 + 1)).unwrap_or(0);
        items.swap(i, j);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shuffled_deliveries_still_leave_every_message_at_the_latest_version() {
    let p = Pipeline::start(true).await;
    let id = p.declare("--sev SEV-2 Orders stuck").await;
    for line in [
        format!("ack {id}"),
        format!("assign {id} <@U0CAROL|carol>"),
        format!("update {id} \"Queue drained\""),
        format!("escalate {id} SEV-1"),
        format!("resolve {id} \"Fixed\""),
    ] {
        p.run("U0BOB", &line).await;
    }
    // Route every event first, then deliver the jobs in a scrambled order.
    let events = p.queue("IncidentEventsQueue");
    let mut bodies = Vec::new();
    loop {
        let batch = events.receive(10, Duration::ZERO, None).await.expect("receive");
        if batch.is_empty() {
            break;
        }
        for m in batch {
            bodies.push(m.body.clone());
            events.delete(&m.receipt).await.expect("delete");
        }
    }
    assert_eq!(bodies.len(), 6);
    let mut jobs = Vec::new();
    for body in &bodies {
        let event = serde_json::from_str(body).expect("event");
        jobs.extend(p.router.jobs(&event).await.expect("jobs"));
    }
    // Every change but the declaration owes each channel it reaches one thread line, even when
    // it arrives first and makes the channel's first post.
    let mut owed: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for job in &jobs {
        let threaded = job
            .event()
            .is_some_and(|e| e.kind != im_core::EventKind::IncidentCreated);
        *owed.entry(job.channel.clone()).or_default() += usize::from(threaded);
    }
    shuffle(&mut jobs, 7);
    p.enqueue(&jobs).await;
    p.drain(3, Duration::from_secs(90)).await;

    for channel in p.slack.channels_posted_to() {
        let top = p.slack.top_level(&channel);
        assert_eq!(top.len(), 1, "{channel}: one message per incident and channel");
        assert_eq!(
            top[0].version,
            Some(6),
            "{channel}: shows the latest version, whatever the order"
        );
        let thread = p.slack.thread(&channel, &top[0].ts);
        let mut lines: Vec<&str> = thread.iter().map(|m| m.text.as_str()).collect();
        let before = lines.len();
        lines.sort_unstable();
        lines.dedup();
        assert_eq!(lines.len(), before, "{channel}: no timeline line twice");
        assert_eq!(
            before, owed[&channel],
            "{channel}: every change's line is in the thread"
        );
    }
    assert_eq!(p.slack.channels_posted_to(), owed.keys().cloned().collect::<Vec<_>>());
    let major = p.slack.top_level("C_MAJOR");
    assert!(major[0].blocks.to_string().contains("*Status:* Resolved"));
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn injected_faults_still_deliver_everything_exactly_once() {
    let p = Pipeline::start(true).await;
    let channels: Vec<String> = (0..40).map(|i| format!("C_F{i:02}")).collect();
    let refs: Vec<&str> = channels.iter().map(String::as_str).collect();
    p.slack.with_channels(&refs).with_faults(42, 0.30, 0.10);
    let jobs: Vec<_> = (0..200)
        .map(|n| {
            p.job(
                &synthetic_event(n, Severity::Sev3),
                &channels[usize::try_from(n).unwrap_or(0) % 40],
            )
        })
        .collect();
    p.enqueue(&jobs).await;
    p.drain(4, Duration::from_secs(120)).await;

    let (injected_500, injected_429) = p.slack.injected();
    assert!(
        injected_500 > 20 && injected_429 > 5,
        "faults were injected: {injected_500} × 500, {injected_429} × 429"
    );
    let mut delivered = 0;
    for channel in &channels {
        let top = p.slack.top_level(channel);
        let mut titles: Vec<&str> = top.iter().map(|m| m.text.as_str()).collect();
        titles.sort_unstable();
        titles.dedup();
        assert_eq!(titles.len(), top.len(), "{channel}: nothing posted twice");
        assert_eq!(top.len(), 5, "{channel}: all five delivered");
        delivered += top.len();
    }
    assert_eq!(delivered, 200);
    assert!(p.dead_letters().await.is_empty(), "transient faults never dead-letter");
    assert_eq!(p.slack.rate_limited(), 0, "pacing held even while retrying");
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn permanent_errors_are_dead_lettered_with_their_reason_and_redriven() {
    let p = Pipeline::start(true).await;
    p.slack.with_channels(&["C_NOBOT"]);
    p.slack.without_bot("C_NOBOT");
    let jobs = vec![
        p.job(&synthetic_event(1, Severity::Sev3), "C_GONE"),
        p.job(&synthetic_event(2, Severity::Sev3), "C_NOBOT"),
        p.job(&synthetic_event(3, Severity::Sev3), "C_MINOR"),
    ];
    p.enqueue(&jobs).await;
    p.drain(2, Duration::from_secs(60)).await;
    assert_eq!(p.slack.top_level("C_MINOR").len(), 1);
    let dlq_queue = p.queue("DeliveriesDLQ");
    let mut letters = dlq::list(&dlq_queue, 10).await.expect("list");
    letters.sort_by(|a, b| a.channel.cmp(&b.channel));
    let summary: Vec<(&str, &str)> = letters
        .iter()
        .map(|l| (l.channel.as_str(), l.reason.as_str()))
        .collect();
    assert_eq!(
        summary,
        [("C_GONE", "channel_not_found"), ("C_NOBOT", "not_in_channel")]
    );
    assert!(
        letters.iter().all(|l| l.attempts == 0),
        "permanent errors are not retried"
    );
    // Listing leaves them in place.
    assert_eq!(dlq::list(&dlq_queue, 10).await.expect("list again").len(), 2);
    // Each end is counted by platform and reason, in the day's usage record.
    let today = time::OffsetDateTime::now_utc().date();
    let usage = im_aws::usage::DynamoUsage::new(p.stack.clients.clone());
    let days = im_core::usage::UsageLog::days(&usage, today, today)
        .await
        .expect("usage");
    let counted = &days[0].1;
    assert_eq!(counted.get("delivered|slack"), Some(&1), "{counted:?}");
    assert_eq!(counted.get("failed|slack|channel_not_found"), Some(&1), "{counted:?}");
    assert_eq!(counted.get("failed|slack|not_in_channel"), Some(&1), "{counted:?}");

    // The workspace is fixed: the channel exists, the bot joined. Redrive delivers them.
    p.slack.with_channels(&["C_GONE"]);
    p.slack.join("C_NOBOT");
    let moved = dlq::redrive(&dlq_queue, &p.queue("DeliveriesQueue"), 100)
        .await
        .expect("redrive");
    assert_eq!(moved.len(), 2);
    p.drain(2, Duration::from_secs(60)).await;
    assert_eq!(p.slack.top_level("C_GONE").len(), 1);
    assert_eq!(p.slack.top_level("C_NOBOT").len(), 1);
    assert!(dlq::list(&dlq_queue, 10).await.expect("list").is_empty());
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_notifiers_at_once_never_hit_a_rate_limit() {
    let p = Pipeline::start(false).await;
    let channels = ["C_CRIT", "C_MAJOR", "C_MINOR", "C_INFO", "C_GENERAL", "C_SLA"];
    // Posts (1/s per channel) and edits (Slack's 50/min), from two independent notifiers.
    let second = std::sync::Arc::new(
        notifier::Notifier::new(p.clients.clone(), im_platforms::registry(p.clients.config()))
            .expect("second notifier"),
    );
    let mut jobs = Vec::new();
    for n in 0..48u64 {
        jobs.push(p.job(
            &synthetic_event(n, Severity::Sev3),
            channels[usize::try_from(n).unwrap_or(0) % channels.len()],
        ));
    }
    p.enqueue(&jobs).await;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let other = im_aws::poller::spawn(p.queue("DeliveriesQueue"), second.clone(), 3, stop);
    p.drain(3, Duration::from_secs(90)).await;
    let _ = stop_tx.send(true);
    for h in other {
        let _ = h.await;
    }
    let letters = p.dead_letters().await;
    assert!(letters.is_empty(), "nothing dead-lettered: {letters:#?}");
    let total: usize = channels.iter().map(|c| p.slack.top_level(c).len()).sum();
    assert_eq!(total, 48);
    let by_second = second.counters().delivered.load(std::sync::atomic::Ordering::Relaxed);
    let by_first = p
        .notifier
        .counters()
        .delivered
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(by_first > 0 && by_second > 0, "both worked: {by_first} / {by_second}");
    assert_eq!(p.slack.rate_limited(), 0, "shared pacing: no 429 from the strict fake");
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_that_keeps_failing_is_dead_lettered_after_its_retries() {
    let p = Pipeline::start(true).await;
    p.slack.with_faults(9, 1.0, 0.0);
    p.enqueue(&[p.job(&synthetic_event(1, Severity::Sev3), "C_MINOR")])
        .await;
    p.drain(1, Duration::from_secs(90)).await;
    let (injected_500, _) = p.slack.injected();
    // Twelve attempts, each refused. SQS hands a message out at least once: on a busy machine
    // the emulator may give one attempt's message twice, which costs one more refused call and
    // nothing else (one lineage, one dead letter, counted below).
    assert!((12..=13).contains(&injected_500), "twelve attempts: {injected_500}");
    let letters = dlq::list(&p.queue("DeliveriesDLQ"), 10).await.expect("list");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attempts, 12);
    assert!(
        letters[0].reason.starts_with("gave up after 12 attempts: HTTP 500"),
        "{}",
        letters[0].reason
    );
    p.stack.teardown().await;
}

/// The same SQS events Lambda delivers (`events/`), through the same conversion, with partial
/// batch failures: the good record is handled, the malformed one is reported or dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lambda_sqs_events_are_handled_with_partial_batch_failures() {
    let p = Pipeline::start(true).await;
    let read = |path: &str| -> aws_lambda_events::sqs::SqsEvent {
        let text = std::fs::read_to_string(im_tests::repo_root().join(path)).expect("fixture");
        serde_json::from_str(&text).expect("sqs event")
    };
    // Router: the incident event is routed; the garbage record is reported for retry (and, after
    // repeated failures, the queue's redrive).
    let response = im_aws::lambda::batch_response(
        p.router
            .handle_batch(im_aws::lambda::messages(read("events/router/sqs-incident-events.json")))
            .await,
    );
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["0e3b6c1a-59f2-4b1a-9f5e-000000000001"]);
    // The fixture's provider is `demo`; here the provider is `acme`, so the job list is empty but
    // the record succeeded. The notifier fixture names `demo` too: it is dead-lettered with reason.
    let response = im_aws::lambda::batch_response(
        p.notifier
            .handle_batch(im_aws::lambda::messages(read("events/notifier/sqs-deliveries.json")))
            .await,
    );
    assert!(
        response.batch_item_failures.is_empty(),
        "both records end somewhere: {:?}",
        response.batch_item_failures
    );
    let mut reasons: Vec<String> = p.dead_letters().await.into_iter().map(|(_, r)| r).collect();
    reasons.sort();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].starts_with("malformed delivery job"), "{reasons:?}");
    assert_eq!(reasons[1], "provider `demo` not found");
    p.stack.teardown().await;
}
