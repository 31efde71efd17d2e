//! The delivery algorithm over in-memory ports, in virtual time.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::block_on::block_on;
use crate::incident::{Severity, Status, WarRoom};
use crate::memory::{
    FakeMessenger, MemoryDirectory, MemoryLedger, MemoryPacer, MemoryStore, Sent, VirtualTimer, provider,
};
use crate::notify::{Route, Scope};
use crate::timeline::TimelineEntry;

const START_MS: i64 = 1_764_237_600_000;

struct World {
    deliverer: Deliverer,
    ledger: Arc<MemoryLedger>,
    chat: Arc<FakeMessenger>,
    pacer: Arc<MemoryPacer>,
    directory: Arc<MemoryDirectory>,
    store: Arc<MemoryStore>,
    timer: Arc<VirtualTimer>,
}

fn world_with(config: serde_json::Value) -> World {
    world_on(config, FakeMessenger::default())
}

fn world_on(config: serde_json::Value, chat: FakeMessenger) -> World {
    let timer = VirtualTimer::at(START_MS);
    let ledger = Arc::new(MemoryLedger::default());
    let chat = Arc::new(chat);
    let directory = Arc::new(MemoryDirectory::with(provider("acme", "slack", config), chat.clone()));
    let store = Arc::new(MemoryStore::default());
    let pacer = Arc::new(MemoryPacer::new(timer.clone()));
    let deliverer = Deliverer::new(
        ledger.clone(),
        pacer.clone(),
        directory.clone(),
        store.clone(),
        timer.clone(),
        RetryPolicy {
            max_attempts: 4,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(60),
        },
    );
    World {
        deliverer,
        ledger,
        chat,
        pacer,
        directory,
        store,
        timer,
    }
}

fn world() -> World {
    world_with(json!({"default_channel": "C1", "archive_war_room_on_close": true}))
}

fn event(id: &str, kind: EventKind, version: u64, status: Status) -> IncidentEvent {
    let mut incident = crate::memory::incident(1, Severity::Sev3, status);
    incident.version = version;
    IncidentEvent {
        event_id: id.into(),
        kind,
        incident,
        previous_severity: None,
        entry: TimelineEntry {
            event_type: format!("chatops.{}", kind.as_str()),
            timestamp: time::macros::datetime!(2026-11-27 10:00 UTC),
            actor: "chatops:U1".into(),
            source: "slack:acme".into(),
            data: Default::default(),
        },
        at: time::macros::datetime!(2026-11-27 10:00 UTC),
    }
}

fn job(event: &IncidentEvent, channel: &str) -> DeliveryJob {
    DeliveryJob::for_event(
        "acme",
        &Route {
            channel: channel.into(),
            scope: Scope::Severity,
        },
        event,
    )
}

fn run(w: &World, job: DeliveryJob) -> Outcome {
    block_on(w.deliverer.run(job)).expect("store works")
}

fn key(channel: &str) -> MessageKey {
    MessageKey::new(&IncidentId::new(2026, 1), "acme", channel)
}

fn posts(w: &World) -> Vec<(String, u64)> {
    w.chat
        .sent()
        .into_iter()
        .filter_map(|s| match s {
            Sent::Post { channel, doc, .. } => Some((channel, doc.card.map(|c| c.version).unwrap_or(0))),
            _ => None,
        })
        .collect()
}

fn updates(w: &World) -> Vec<u64> {
    w.chat
        .sent()
        .into_iter()
        .filter_map(|s| match s {
            Sent::Update { doc, .. } => doc.card.map(|c| c.version),
            _ => None,
        })
        .collect()
}

fn replies(w: &World) -> Vec<String> {
    w.chat
        .sent()
        .into_iter()
        .filter_map(|s| match s {
            Sent::Reply { doc, .. } => Some(doc.plain_text()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_first_job_posts_once_and_a_redelivery_does_nothing() {
    let w = world();
    let created = event("E1", EventKind::IncidentCreated, 1, Status::Open);
    assert_eq!(run(&w, job(&created, "C1")), Outcome::Delivered);
    assert_eq!(run(&w, job(&created, "C1")), Outcome::Skipped("already delivered"));
    assert_eq!(posts(&w), [("C1".to_string(), 1)]);
    assert!(replies(&w).is_empty(), "the declaration has no thread line");
    assert_eq!(w.ledger.version(&key("C1")), Some(1));
}

#[test]
fn later_changes_edit_the_message_and_thread_their_line() {
    let w = world();
    run(&w, job(&event("E1", EventKind::IncidentCreated, 1, Status::Open), "C1"));
    let ack = event("E2", EventKind::IncidentAcknowledged, 2, Status::Acknowledged);
    assert_eq!(run(&w, job(&ack, "C1")), Outcome::Delivered);
    assert_eq!(posts(&w).len(), 1, "edited, never re-posted");
    assert_eq!(updates(&w), [2]);
    assert_eq!(replies(&w).len(), 1);
    assert!(
        replies(&w)[0].contains("chatops.incident_acknowledged"),
        "{:?}",
        replies(&w)
    );
    assert_eq!(w.ledger.version(&key("C1")), Some(2));
    assert_eq!(run(&w, job(&ack, "C1")), Outcome::Skipped("already delivered"));
    assert_eq!(replies(&w).len(), 1, "a redelivered change threads nothing twice");
}

#[test]
fn an_older_change_arriving_late_never_replaces_a_newer_render() {
    let w = world();
    run(&w, job(&event("E1", EventKind::IncidentCreated, 1, Status::Open), "C1"));
    run(
        &w,
        job(&event("E3", EventKind::IncidentResolved, 3, Status::Resolved), "C1"),
    );
    let late = event("E2", EventKind::IncidentAcknowledged, 2, Status::Acknowledged);
    assert_eq!(run(&w, job(&late, "C1")), Outcome::Delivered);
    assert_eq!(updates(&w), [3], "version 2 is older than what the message shows");
    assert_eq!(replies(&w).len(), 2, "but its timeline line is still threaded");
    assert_eq!(w.ledger.version(&key("C1")), Some(3));
}

#[test]
fn a_change_that_reaches_a_channel_first_posts_and_threads_its_own_line() {
    let w = world();
    let escalated = event("E2", EventKind::IncidentEscalated, 2, Status::Open);
    assert_eq!(run(&w, job(&escalated, "C_NEW")), Outcome::Delivered);
    assert_eq!(posts(&w), [("C_NEW".to_string(), 2)]);
    assert_eq!(replies(&w).len(), 1);
    assert_eq!(run(&w, job(&escalated, "C_NEW")), Outcome::Skipped("already delivered"));
}

#[test]
fn a_message_is_caught_up_when_the_incident_moved_on() {
    let w = world();
    let mut current = crate::memory::incident(1, Severity::Sev3, Status::Resolved);
    current.version = 3;
    block_on(w.store.commit(&crate::ports::Change {
        event: event("E3", EventKind::IncidentResolved, 3, Status::Resolved),
        expected_version: None,
        idempotency_key: None,
        idempotency_expires_at: time::OffsetDateTime::UNIX_EPOCH,
    }))
    .expect("stored");
    run(&w, job(&event("E1", EventKind::IncidentCreated, 1, Status::Open), "C1"));
    assert_eq!(posts(&w), [("C1".to_string(), 1)]);
    assert_eq!(updates(&w), [3], "edited up to the stored version right after posting");
    assert_eq!(w.ledger.version(&key("C1")), Some(3));
}

#[test]
fn throttling_requeues_without_using_the_retry_budget() {
    let w = world();
    w.chat.fail_next([ChatError::RateLimited {
        wait: Duration::from_secs(7),
        global: true,
    }]);
    let created = event("E1", EventKind::IncidentCreated, 1, Status::Open);
    match run(&w, job(&created, "C1")) {
        Outcome::Requeue { job, delay, throttled } => {
            assert_eq!(delay, Duration::from_secs(7));
            assert!(throttled);
            assert_eq!(job.attempt, 0);
        }
        other => panic!("{other:?}"),
    }
    assert!(posts(&w).is_empty());
    assert_eq!(w.ledger.version(&key("C1")), None, "the claim was released");
    assert_eq!(run(&w, job(&created, "C1")), Outcome::Delivered);
}

#[test]
fn transient_failures_back_off_then_dead_letter_with_the_last_reason() {
    let w = world();
    let created = event("E1", EventKind::IncidentCreated, 1, Status::Open);
    w.chat.fail_next([ChatError::Transient("HTTP 502".into())]);
    let before = w.timer.now_ms();
    assert_eq!(
        run(&w, job(&created, "C1")),
        Outcome::Delivered,
        "short backoffs are waited in-process"
    );
    assert!(
        w.timer.now_ms() - before >= 50,
        "it waited half the base backoff at least"
    );

    let w = world();
    w.chat
        .fail_next((0..4).map(|_| ChatError::Transient("HTTP 500".into())));
    match run(&w, job(&created, "C1")) {
        Outcome::DeadLetter { job, reason } => {
            assert_eq!(reason, "gave up after 4 attempts: HTTP 500");
            assert_eq!(job.attempt, 4);
            assert_eq!(job.last_error.as_deref(), Some(reason.as_str()));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        w.deliverer.counters.retried.load(std::sync::atomic::Ordering::Relaxed),
        3
    );
}

#[test]
fn long_backoffs_go_back_to_the_queue() {
    let w = world();
    let mut long = job(&event("E1", EventKind::IncidentCreated, 1, Status::Open), "C1");
    long.attempt = 3;
    let w = World {
        deliverer: Deliverer::new(
            w.ledger.clone(),
            Arc::new(MemoryPacer::new(w.timer.clone())),
            w.directory.clone(),
            w.store.clone(),
            w.timer.clone(),
            RetryPolicy {
                max_attempts: 12,
                backoff_base: Duration::from_secs(1),
                backoff_cap: Duration::from_secs(900),
            },
        ),
        ..w
    };
    w.chat.fail_next([ChatError::Unknown("timed out".into())]);
    match run(&w, long) {
        Outcome::Requeue { job, delay, throttled } => {
            assert_eq!(job.attempt, 4);
            assert!(!throttled);
            assert!(
                delay >= Duration::from_secs(4) && delay <= Duration::from_secs(8),
                "{delay:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        w.deliverer
            .counters
            .possible_duplicates
            .load(std::sync::atomic::Ordering::Relaxed),
        1,
        "a lost answer to a post is counted"
    );
}

#[test]
fn permanent_failures_are_dead_lettered_with_their_reason() {
    for (error, reason) in [
        (ChatError::NotFound("channel_not_found".into()), "channel_not_found"),
        (ChatError::Permanent("not_in_channel".into()), "not_in_channel"),
        (ChatError::NameTaken, "name_taken"),
    ] {
        let w = world();
        w.chat.fail_next([error]);
        match run(&w, job(&event("E1", EventKind::IncidentCreated, 1, Status::Open), "C1")) {
            Outcome::DeadLetter { reason: got, .. } => assert_eq!(got, reason),
            other => panic!("{other:?}"),
        }
    }
    let w = world();
    let mut unknown = job(&event("E1", EventKind::IncidentCreated, 1, Status::Open), "C1");
    unknown.provider = "nobody".into();
    assert!(matches!(run(&w, unknown), Outcome::DeadLetter { reason, .. } if reason == "provider `nobody` not found"));
}

#[test]
fn refused_credentials_are_read_again_once() {
    let w = world();
    *w.directory.refresh_helps.lock().expect("lock") = true;
    w.chat.fail_next([ChatError::Unauthorized("invalid_auth".into())]);
    let created = event("E1", EventKind::IncidentCreated, 1, Status::Open);
    assert_eq!(run(&w, job(&created, "C1")), Outcome::Delivered);
    assert_eq!(w.directory.refreshes.load(std::sync::atomic::Ordering::SeqCst), 1);

    let w = world();
    *w.directory.refresh_helps.lock().expect("lock") = true;
    w.chat.fail_next([
        ChatError::Unauthorized("invalid_auth".into()),
        ChatError::Unauthorized("invalid_auth".into()),
    ]);
    assert!(matches!(run(&w, job(&created, "C1")), Outcome::DeadLetter { reason, .. } if reason == "invalid_auth"));
    assert_eq!(
        w.directory.refreshes.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "once only"
    );
}

#[test]
fn a_busy_channel_keeps_its_place_and_comes_back_for_its_slot() {
    let w = world();
    w.chat.pace_every(Duration::from_secs(1));
    let declared = |n: u64| {
        let mut e = event(&format!("E{n}"), EventKind::IncidentCreated, 1, Status::Open);
        e.incident.id = IncidentId::new(2026, 10 + n);
        e
    };
    assert_eq!(run(&w, job(&declared(0), "C1")), Outcome::Delivered);
    w.timer.advance(Duration::from_millis(200));
    let before = w.timer.now_ms();
    assert_eq!(run(&w, job(&declared(1), "C1")), Outcome::Delivered);
    assert_eq!(w.timer.now_ms() - before, 800, "under a second away: waited in-process");
    let Outcome::Deferred { hide } = run(&w, job(&declared(2), "C1")) else {
        panic!("a slot a second away is waited for on the queue");
    };
    assert!(hide < Duration::from_secs(1), "{hide:?}");
    assert_eq!(posts(&w).len(), 2);
    // Back for its slot, well within its kept claim: it posts without claiming again.
    w.timer.advance(Duration::from_millis(1500));
    assert_eq!(run(&w, job(&declared(2), "C1")), Outcome::Delivered);
    assert_eq!(posts(&w).len(), 3);
}

#[test]
fn one_off_messages_are_posted_once() {
    let w = world();
    let text = DeliveryJob::text(
        "weekly:1".into(),
        "acme",
        "C1",
        Scope::Summary,
        "hello <!channel>".into(),
    );
    assert_eq!(run(&w, text.clone()), Outcome::Delivered);
    assert_eq!(run(&w, text), Outcome::Skipped("already delivered"));
    let sent = w.chat.sent();
    assert_eq!(sent.len(), 1);
    assert!(matches!(&sent[0], Sent::Post { doc, .. } if doc.plain_text() == "hello <!channel>"));
}

#[test]
fn closing_archives_the_war_room_when_asked() {
    let w = world();
    let mut closed = event("E9", EventKind::IncidentClosed, 9, Status::Closed);
    closed.incident.war_room = Some(WarRoom {
        provider: "acme".into(),
        channel: "C_WAR".into(),
        name: "inc-2026-001-db".into(),
    });
    assert_eq!(run(&w, job(&closed, "C_WAR")), Outcome::Delivered);
    assert!(w.chat.sent().contains(&Sent::Archive {
        channel: "C_WAR".into()
    }));
    // Not the room: nothing archived.
    let w = world();
    run(&w, job(&closed, "C1"));
    assert!(!w.chat.sent().iter().any(|s| matches!(s, Sent::Archive { .. })));
    // Not asked: nothing archived.
    let w = world_with(json!({"default_channel": "C1"}));
    run(&w, job(&closed, "C_WAR"));
    assert!(!w.chat.sent().iter().any(|s| matches!(s, Sent::Archive { .. })));
}

#[test]
fn a_busy_claim_waits_its_turn() {
    let w = world();
    let created = event("E1", EventKind::IncidentCreated, 1, Status::Open);
    block_on(w.ledger.claim(&key("C1"), "someone-else", w.timer.now_ms())).expect("claim");
    // The other worker never finishes: its lease runs out, and this job takes over.
    assert_eq!(run(&w, job(&created, "C1")), Outcome::Delivered);
    assert!(w.timer.now_ms() - START_MS >= LEASE_MS, "waited for the lease");
    assert_eq!(posts(&w).len(), 1);
}

#[test]
fn an_event_fans_out_to_active_notifying_providers_and_the_channels_that_show_it() {
    let w = world();
    let routed = provider(
        "acme",
        "slack",
        json!({"notification_channels": {"SEV-3": "C_MINOR"}, "default_channel": "C_GENERAL"}),
    );
    let mut quiet = provider(
        "quiet",
        "slack",
        json!({"default_channel": "C_Q", "enable_notifications": false}),
    );
    let mut off = provider("off", "slack", json!({"default_channel": "C_OFF"}));
    off.status = crate::provider::ProviderStatus::Inactive;
    quiet.name = "quiet".into();
    let e = event("E1", EventKind::IncidentUpdated, 2, Status::Open);
    // acme already shows the incident in C_OLD (from before a severity change).
    block_on(
        w.ledger
            .claim(&MessageKey::new(&e.incident.id, "acme", "C_OLD"), "j0", 0),
    )
    .expect("claim");
    block_on(
        w.ledger
            .claim(&MessageKey::new(&e.incident.id, "acme", "#war-room"), "j1", 0),
    )
    .expect("claim");
    let jobs = block_on(jobs_for([&routed, &quiet, &off], w.ledger.as_ref(), &e)).expect("routed");
    let targets: Vec<(&str, &str)> = jobs.iter().map(|j| (j.provider.as_str(), j.channel.as_str())).collect();
    assert_eq!(
        targets,
        [("acme", "C_MINOR"), ("acme", "C_OLD")],
        "pseudo-channels are not channels"
    );
    assert_eq!(jobs[0].job_id, "E1:acme:C_MINOR");
}

#[test]
fn backoff_jitter_spreads_retries() {
    let delays: std::collections::BTreeSet<u128> = (0..40)
        .map(|_| crate::notify::backoff(6, Duration::from_secs(1), Duration::from_secs(900), jitter()).as_millis())
        .collect();
    assert!(delays.len() > 10, "retries are spread, not in lockstep: {delays:?}");
    assert!(delays.iter().all(|d| (16_000..=32_000).contains(d)), "{delays:?}");
}

#[test]
fn counters_count_what_happened() {
    let w = world();
    run(&w, job(&event("E1", EventKind::IncidentCreated, 1, Status::Open), "C1"));
    run(&w, job(&event("E1", EventKind::IncidentCreated, 1, Status::Open), "C1"));
    w.chat.fail_next([ChatError::NotFound("channel_not_found".into())]);
    run(&w, job(&event("E1", EventKind::IncidentCreated, 1, Status::Open), "C2"));
    w.chat.fail_next([ChatError::rate_limited(Duration::from_secs(2))]);
    run(&w, job(&event("E1", EventKind::IncidentCreated, 1, Status::Open), "C3"));
    // delivered, skipped, throttled, retried, possible duplicates, dead-lettered
    assert_eq!(w.deliverer.counters.snapshot(), [1, 1, 1, 0, 0, 1]);
    assert_eq!(w.deliverer.now_ms(), w.timer.now_ms());
}

#[test]
fn a_long_wait_beyond_the_lease_lets_the_channel_go() {
    let w = world();
    w.chat.pace_every(Duration::from_secs(40));
    let first = event("E1", EventKind::IncidentCreated, 1, Status::Open);
    assert_eq!(run(&w, job(&first, "C1")), Outcome::Delivered);
    let mut second = event("E2", EventKind::IncidentCreated, 1, Status::Open);
    second.incident.id = IncidentId::new(2026, 2);
    assert!(matches!(run(&w, job(&second, "C1")), Outcome::Deferred { .. }));
    // Its slot is 40 s away, past the claim's 30 s lease: the claim was released, not kept.
    let key2 = MessageKey::new(&second.incident.id, "acme", "C1");
    assert!(matches!(
        block_on(w.ledger.claim(&key2, "another-job", w.timer.now_ms())).expect("claim"),
        Claim::Claimed { .. }
    ));
}

fn declared(n: u64) -> IncidentEvent {
    let mut e = event(&format!("E{n}"), EventKind::IncidentCreated, 1, Status::Open);
    e.incident.id = IncidentId::new(2026, 10 + n);
    e
}

#[test]
fn a_job_back_for_its_reserved_slot_keeps_its_place_ahead_of_later_jobs() {
    let w = world();
    w.chat.pace_every(Duration::from_secs(1));
    assert_eq!(run(&w, job(&declared(0), "C1")), Outcome::Delivered);
    // A's slot is 1 s away; B, arriving meanwhile, gets the one after it.
    assert!(matches!(run(&w, job(&declared(1), "C1")), Outcome::Deferred { .. }));
    assert!(matches!(run(&w, job(&declared(2), "C1")), Outcome::Deferred { .. }));
    assert_eq!(w.deliverer.kept(), 4, "both hold a slot and a claim");
    // The queue shows A again just before its slot: it waits the rest and posts in it.
    w.timer.advance(Duration::from_millis(800));
    let claims = w.ledger.claim_calls();
    assert_eq!(run(&w, job(&declared(1), "C1")), Outcome::Delivered);
    assert_eq!(
        w.timer.now_ms() - START_MS,
        1000,
        "posted in its own slot, not a new one"
    );
    assert_eq!(w.ledger.claim_calls(), claims, "without claiming the channel again");
    assert_eq!(w.deliverer.kept(), 2, "what A kept is dropped once it is done");
    w.timer.advance(Duration::from_millis(800));
    assert_eq!(run(&w, job(&declared(2), "C1")), Outcome::Delivered);
    assert_eq!(w.deliverer.kept(), 0);
    let order: Vec<String> = w
        .chat
        .sent()
        .into_iter()
        .filter_map(|s| match s {
            Sent::Post { doc, .. } => doc.card.map(|c| c.incident.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["INC-2026-010", "INC-2026-011", "INC-2026-012"]);
}

#[test]
fn a_job_back_early_is_hidden_again_until_just_before_its_slot() {
    let w = world();
    w.chat.pace_every(Duration::from_secs(5));
    assert_eq!(run(&w, job(&declared(0), "C1")), Outcome::Delivered);
    assert_eq!(
        run(&w, job(&declared(1), "C1")),
        Outcome::Deferred {
            hide: Duration::from_secs(4)
        },
        "5 s away: hidden 4.7 s, rounded down to whole seconds"
    );
    w.timer.advance(Duration::from_millis(1000));
    assert_eq!(
        run(&w, job(&declared(1), "C1")),
        Outcome::Deferred {
            hide: Duration::from_secs(3)
        }
    );
    w.timer.advance(Duration::from_millis(3800));
    assert_eq!(run(&w, job(&declared(1), "C1")), Outcome::Delivered);
    assert_eq!(
        w.timer.now_ms() - START_MS,
        5000,
        "the last 200 ms were waited in-process"
    );
}

#[test]
fn a_wait_with_nothing_reserved_goes_back_to_the_queue_and_lets_the_channel_go() {
    let w = world();
    w.pacer.refuse(1, Duration::from_secs(1));
    let created = event("E1", EventKind::IncidentCreated, 1, Status::Open);
    match run(&w, job(&created, "C1")) {
        Outcome::Requeue { delay, throttled, .. } => {
            assert_eq!(delay, Duration::from_secs(1));
            assert!(!throttled, "pacing is not a platform refusal");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.timer.now_ms(), START_MS, "not waited in-process");
    assert_eq!(w.deliverer.kept(), 0);
    assert!(
        matches!(
            block_on(w.ledger.claim(&key("C1"), "another-job", w.timer.now_ms())).expect("claim"),
            Claim::Claimed { .. }
        ),
        "nothing reserved to come back for: the claim was released"
    );
    // Under a second: waited in-process.
    let w = world();
    w.pacer.refuse(1, Duration::from_millis(999));
    assert_eq!(run(&w, job(&created, "C1")), Outcome::Delivered);
    assert_eq!(w.timer.now_ms() - START_MS, 999);
}

#[test]
fn one_off_markers_are_kept_thirty_days() {
    let w = world();
    let text = DeliveryJob::text("weekly:9".into(), "acme", "C1", Scope::Summary, "hi".into());
    assert_eq!(run(&w, text), Outcome::Delivered);
    assert_eq!(
        w.ledger.marker_expiry("delivery#weekly:9"),
        Some(START_MS / 1000 + 30 * 86_400)
    );
}

#[test]
fn an_escalation_card_says_from_what_and_carries_the_note() {
    let w = world_on(
        json!({
            "default_channel": "C1",
            "templates": {"incident_escalated": {"slack": "{{.Note}} was {{.PreviousSeverity}}"}}
        }),
        FakeMessenger::on("slack"),
    );
    let mut e = event("E2", EventKind::IncidentEscalated, 2, Status::Open);
    e.previous_severity = Some(Severity::Sev4);
    e.entry.data.insert("note".into(), json!("customers affected"));
    assert_eq!(run(&w, job(&e, "C1")), Outcome::Delivered);
    let Some(Sent::Post { doc, .. }) = w.chat.sent().into_iter().next() else {
        panic!("posted");
    };
    assert!(
        doc.plain_text().contains("customers affected was SEV-4"),
        "{}",
        doc.plain_text()
    );
    let w = world();
    assert_eq!(run(&w, job(&e, "C1")), Outcome::Delivered);
    let Some(Sent::Post { doc, .. }) = w.chat.sent().into_iter().next() else {
        panic!("posted");
    };
    assert!(
        doc.plain_text().contains("Severity changed SEV-4 → SEV-3"),
        "{}",
        doc.plain_text()
    );
}

#[test]
fn cards_say_how_long_ago_the_incident_started_by_the_deliverer_clock() {
    let w = world();
    let mut e = event("E1", EventKind::IncidentCreated, 1, Status::Open);
    e.incident.declared_at = time::OffsetDateTime::from_unix_timestamp(START_MS / 1000 - 7200).expect("time");
    assert_eq!(run(&w, job(&e, "C1")), Outcome::Delivered);
    let Some(Sent::Post { doc, .. }) = w.chat.sent().into_iter().next() else {
        panic!("posted");
    };
    assert!(doc.plain_text().contains("2 hours ago"), "{}", doc.plain_text());
}

#[test]
fn a_kept_claim_is_relied_on_only_with_five_seconds_of_its_lease_left() {
    for (back_after_ms, claims_again) in [(LEASE_MS - 5001, false), (LEASE_MS - 5000, true)] {
        let w = world();
        w.chat.pace_every(Duration::from_secs(2));
        assert_eq!(run(&w, job(&declared(0), "C1")), Outcome::Delivered);
        let deferred_at = w.timer.now_ms();
        assert!(matches!(run(&w, job(&declared(1), "C1")), Outcome::Deferred { .. }));
        w.timer
            .advance(Duration::from_millis(u64::try_from(back_after_ms).expect("positive")));
        let claims = w.ledger.claim_calls();
        assert_eq!(run(&w, job(&declared(1), "C1")), Outcome::Delivered);
        assert_eq!(
            w.ledger.claim_calls() - claims,
            u64::from(claims_again),
            "back {} ms before the lease ends",
            deferred_at + LEASE_MS - w.timer.now_ms()
        );
    }
}

#[test]
fn a_claim_is_kept_for_a_slot_only_when_it_returns_well_within_the_lease() {
    // The slot is `interval` away; the claim is kept only when slot + 5 s < lease end.
    for (interval_ms, kept) in [(LEASE_MS - 5001, true), (LEASE_MS - 5000, false)] {
        let w = world();
        w.chat
            .pace_every(Duration::from_millis(u64::try_from(interval_ms).expect("positive")));
        assert_eq!(run(&w, job(&declared(0), "C1")), Outcome::Delivered);
        assert!(matches!(run(&w, job(&declared(1), "C1")), Outcome::Deferred { .. }));
        let key1 = MessageKey::new(&declared(1).incident.id, "acme", "C1");
        let other = block_on(w.ledger.claim(&key1, "another-job", w.timer.now_ms())).expect("claim");
        assert_eq!(matches!(other, Claim::Busy), kept, "slot {interval_ms} ms away");
    }
}
