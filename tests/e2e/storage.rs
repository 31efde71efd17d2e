//! The DynamoDB adapter against the emulator: atomic commits, conflicts, ids, outbox, idempotency.

use std::sync::Arc;

use im_aws::{DynamoStore, SqsPublisher};
use im_core::ports::IncidentStore;
use im_core::{
    AccessPolicy, Actor, IncidentService, Invocation, Reply, Settings, Severity, Status, SystemClock, UserRef,
};
use im_tests::TestStack;

type Service = IncidentService<DynamoStore, SqsPublisher, SystemClock>;

fn service(stack: &TestStack) -> Arc<Service> {
    Arc::new(IncidentService::new(
        stack.store(),
        SqsPublisher::new(stack.clients.clone()),
        SystemClock,
    ))
}

fn invocation(user: &str, line: &str) -> Invocation {
    let actor = Actor {
        platform: "slack".into(),
        provider: "company-slack".into(),
        user: UserRef::new(user, None),
        channel: Some("C1234567890".into()),
    };
    Invocation::chat(actor, "/im", line, None)
}

async fn run(svc: &Service, user: &str, line: &str) -> Reply {
    let policy = AccessPolicy::default();
    let settings = Settings {
        policy: &policy,
        role: im_core::Role::Responder,
        default_severity: Severity::Sev3,
        extra_help: &[],
    };
    let command = im_core::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    let outcome = svc.execute(&invocation(user, line), &settings, command).await;
    assert!(outcome.failure.is_none(), "{line}: {:?}", outcome.failure);
    outcome.reply
}

fn declared_id(reply: &Reply) -> im_core::IncidentId {
    match reply {
        Reply::Card { incident, .. } => incident.id.clone(),
        other => panic!("expected a card, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_acks_have_exactly_one_winner() {
    let stack = TestStack::new().await;
    let svc = service(&stack);
    let id = declared_id(&run(&svc, "U0", "declare --sev 1 Payments down").await);

    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let svc = svc.clone();
            let line = format!("ack {id} on it");
            tokio::spawn(async move { run(&svc, &format!("U{n:02}"), &line).await })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        match task.await.unwrap_or_else(|e| panic!("{e}")) {
            Reply::Card { incident, .. } => {
                assert_eq!(incident.status, Status::Acknowledged);
                winners += 1;
            }
            Reply::Refused { message } => {
                assert!(message.contains("is already acknowledged by U"), "{message}");
            }
            other => panic!("unexpected reply {other:?}"),
        }
    }
    assert_eq!(winners, 1);
    let timeline = stack.store().timeline(&id, 100).await.unwrap_or_else(|e| panic!("{e}"));
    let acks = timeline
        .iter()
        .filter(|e| e.event_type == "chatops.acknowledge")
        .count();
    assert_eq!(acks, 1, "exactly one acknowledge entry: {timeline:#?}");
    assert_eq!(timeline.len(), 2);
    let stored = stack
        .store()
        .get(&id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("stored"));
    assert_eq!(stored.version, 2);
    stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_update_racing_an_ack_is_applied_too() {
    let stack = TestStack::new().await;
    let svc = service(&stack);
    for round in 0..5 {
        let id = declared_id(&run(&svc, "U0", &format!("declare Race {round}")).await);
        let (a, b) = {
            let (s1, s2) = (svc.clone(), svc.clone());
            let (l1, l2) = (format!("ack {id}"), format!("update {id} \"Checked the dashboards\""));
            tokio::join!(
                tokio::spawn(async move { run(&s1, "U1", &l1).await }),
                tokio::spawn(async move { run(&s2, "U2", &l2).await })
            )
        };
        assert!(matches!(a, Ok(Reply::Card { .. })), "ack applied: {a:?}");
        assert!(matches!(b, Ok(Reply::Card { .. })), "update applied: {b:?}");
        let stored = stack
            .store()
            .get(&id)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("stored"));
        assert_eq!(stored.status, Status::Acknowledged);
        assert_eq!(stored.version, 3, "both changes counted");
        let types: Vec<String> = stack
            .store()
            .timeline(&id, 10)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|e| e.event_type)
            .collect();
        assert!(types.contains(&"chatops.acknowledge".to_string()) && types.contains(&"chatops.update".to_string()));
    }
    stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_declares_get_unique_gap_free_ids() {
    let stack = TestStack::new().await;
    let svc = service(&stack);
    let tasks: Vec<_> = (0..50)
        .map(|n| {
            let svc = svc.clone();
            tokio::spawn(async move { declared_id(&run(&svc, "U1", &format!("declare Incident number {n}")).await) })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        let id = t.await.unwrap_or_else(|e| panic!("{e}"));
        let seq: u32 = id.as_str().rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(0);
        seqs.push(seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=50).collect::<Vec<u32>>());
    stack.teardown().await;
}

#[tokio::test]
async fn committed_events_are_published_and_leave_the_sparse_outbox() {
    let stack = TestStack::new().await;
    let svc = service(&stack);
    let id = declared_id(&run(&svc, "U1", "declare DB down").await);
    run(&svc, "U1", &format!("ack {id}")).await;
    let events = stack.drain_events().await;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["incident_created", "incident_acknowledged"]);
    assert_eq!(events[1]["incident"]["status"], "Acknowledged");
    assert_eq!(events[1]["entry"]["event_type"], "chatops.acknowledge");
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let pending = stack
        .store()
        .unpublished_before(later, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(pending.is_empty(), "published events are out of the index: {pending:?}");

    // With no queue to publish to, the event stays findable through the sparse index.
    let mut offline = stack.config.clone();
    offline.incident_events_queue = None;
    let offline_clients = Arc::new(im_aws::AwsClients::new(offline));
    let offline_svc = IncidentService::new(
        DynamoStore::new(offline_clients.clone()),
        SqsPublisher::new(offline_clients),
        SystemClock,
    );
    let policy = AccessPolicy::default();
    let settings = Settings {
        policy: &policy,
        role: im_core::Role::Responder,
        default_severity: Severity::Sev3,
        extra_help: &[],
    };
    let line = format!("resolve {id} fixed");
    let outcome = offline_svc
        .execute(
            &invocation("U1", &line),
            &settings,
            im_core::parse(&line).unwrap_or_else(|e| panic!("{e}")),
        )
        .await;
    assert!(
        matches!(outcome.reply, Reply::Card { .. }),
        "the change itself is committed"
    );
    assert!(
        outcome
            .failure
            .as_deref()
            .is_some_and(|f| f.contains("left in the outbox"))
    );
    let pending = stack
        .store()
        .unpublished_before(later, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].incident_id, id);
    let event: serde_json::Value = serde_json::from_str(&pending[0].event_json).unwrap_or_default();
    assert_eq!(event["kind"], "incident_resolved");
    stack
        .store()
        .mark_event_published(&pending[0].incident_id, &pending[0].event_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        stack
            .store()
            .unpublished_before(later, 100)
            .await
            .unwrap_or_default()
            .is_empty()
    );
    stack.teardown().await;
}

#[tokio::test]
async fn a_retried_request_with_the_same_key_is_applied_once() {
    let stack = TestStack::new().await;
    let svc = service(&stack);
    let id = declared_id(&run(&svc, "U1", "declare DB down").await);
    let policy = AccessPolicy::default();
    let settings = Settings {
        policy: &policy,
        role: im_core::Role::Responder,
        default_severity: Severity::Sev3,
        extra_help: &[],
    };
    let line = format!("update {id} \"Failover started\"");
    let mut inv = invocation("U1", &line);
    inv.idempotency_key = Some(format!("slack:trigger:{}", stack.name));
    let cmd = || im_core::parse(&line).unwrap_or_else(|e| panic!("{e}"));
    let first = svc.execute(&inv, &settings, cmd()).await;
    assert!(matches!(first.reply, Reply::Card { .. }));
    let second = svc.execute(&inv, &settings, cmd()).await;
    assert!(second.reply.text().contains("already received"), "{:?}", second.reply);
    let updates = stack
        .store()
        .timeline(&id, 10)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.event_type == "chatops.update")
        .count();
    assert_eq!(updates, 1);
    stack.teardown().await;
}

#[tokio::test]
async fn list_reads_the_status_index() {
    let stack = TestStack::new().await;
    let svc = service(&stack);
    let a = declared_id(&run(&svc, "U1", "declare --sev 3 Slow search").await);
    let b = declared_id(&run(&svc, "U1", "declare --sev 1 --service payments Payments down").await);
    let c = declared_id(&run(&svc, "U1", "declare --sev 2 Login errors").await);
    run(&svc, "U1", &format!("resolve {c}")).await;
    run(&svc, "U1", &format!("ack {a}")).await;
    match run(&svc, "U1", "list").await {
        Reply::List { incidents } => {
            let ids: Vec<_> = incidents.iter().map(|i| i.id.clone()).collect();
            assert_eq!(ids, [b.clone(), a.clone()], "active only, most severe first");
            assert_eq!(incidents[0].service.as_deref(), Some("payments"));
        }
        other => panic!("{other:?}"),
    }
    stack.teardown().await;
}

/// Usage counters: concurrent adds are never lost, a period reads only the days that have a
/// record, and names with any characters come back as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn usage_counters_add_up_under_concurrency_and_read_back_by_day() {
    use im_core::usage::UsageLog;
    let stack = TestStack::new().await;
    let usage = std::sync::Arc::new(im_aws::usage::DynamoUsage::new(stack.clients.clone()));
    let d1 = time::macros::date!(2026 - 11 - 30);
    let d2 = time::macros::date!(2026 - 12 - 02);
    let adds: Vec<_> = (0..20)
        .map(|i| {
            let usage = usage.clone();
            tokio::spawn(async move {
                let counters = vec![
                    ("commands|slack|acme|list".to_string(), 1),
                    (format!("users|acme:U{}", i % 3), 1),
                    ("click_ms|slack".to_string(), 25),
                ];
                usage.add(d1, &counters).await
            })
        })
        .collect();
    for add in adds {
        add.await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    usage
        .add(d2, &[("channels|acme|C 1 é".to_string(), 2)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let days = usage.days(d1, d2).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(days.len(), 2, "2026-12-01 has no record");
    let (day, first) = &days[0];
    assert_eq!(*day, d1);
    assert_eq!(first.get("commands|slack|acme|list"), Some(&20));
    assert_eq!(first.get("click_ms|slack"), Some(&500));
    assert_eq!(first.get("users|acme:U0"), Some(&7));
    assert!(
        !first.contains_key("expires_at") && !first.contains_key("item_type"),
        "{first:?}"
    );
    assert_eq!(days[1].1.get("channels|acme|C 1 é"), Some(&2));
    assert!(
        usage
            .days(d2.next_day().expect("day"), d2.next_day().expect("day"))
            .await
            .expect("read")
            .is_empty()
    );
    stack.teardown().await;
}
