//! The scheduled monitor: SLA breaches (once per incident and target), the outbox sweep, weekly
//! summaries. Its clock is injected; everything else is real.

use std::sync::Arc;
use std::time::Duration;

use im_aws::{AwsClients, DynamoStore, SqsPublisher};
use im_core::memory::FixedClock;
use im_core::ports::IncidentStore;
use im_core::{
    AccessPolicy, Actor, Clock, IncidentId, IncidentService, Invocation, Reply, Settings, Severity, UserRef,
};
use im_tests::pipeline::Pipeline;
use sla_monitor::SlaMonitor;
use time::OffsetDateTime;

const DRAIN: Duration = Duration::from_secs(60);

fn monitor_at(p: &Pipeline, at: OffsetDateTime) -> (SlaMonitor, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at(at));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    (SlaMonitor::new(p.clients.clone(), dyn_clock).expect("monitor"), clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_sla_breach_fires_once_per_target_not_on_every_tick() {
    let p = Pipeline::start(true).await;
    let id = p.declare("--sev SEV-1 Payments down").await;
    p.drain(2, DRAIN).await;
    let declared = OffsetDateTime::now_utc();
    let (monitor, clock) = monitor_at(&p, declared + time::Duration::minutes(4));
    assert_eq!(
        monitor.tick().await.expect("tick").breaches,
        0,
        "within the 5-minute ack target"
    );
    clock.advance(time::Duration::minutes(2));
    assert_eq!(monitor.tick().await.expect("tick").breaches, 1, "ack target breached");
    for _ in 0..3 {
        clock.advance(time::Duration::minutes(1));
        assert_eq!(
            monitor.tick().await.expect("tick").breaches,
            0,
            "reported once, not on every tick"
        );
    }
    clock.advance(time::Duration::minutes(60));
    assert_eq!(
        monitor.tick().await.expect("tick").breaches,
        1,
        "resolve target breached"
    );
    assert_eq!(monitor.tick().await.expect("tick").breaches, 0);

    let incident_id = IncidentId::parse(&id).expect("id");
    let timeline = p.stack.store().timeline(&incident_id, 50).await.expect("timeline");
    let breaches: Vec<&im_core::TimelineEntry> = timeline.iter().filter(|e| e.event_type == "sla.breach").collect();
    assert_eq!(breaches.len(), 2);
    assert_eq!(breaches[0].actor, "sla:monitor");
    assert_eq!(breaches[0].data["target"], "ack");
    assert_eq!(breaches[1].data["target"], "resolve");
    let stored = p.stack.store().get(&incident_id).await.expect("read").expect("exists");
    assert_eq!(stored.sla_breaches, ["ack", "resolve"]);

    p.drain(2, DRAIN).await;
    assert_eq!(
        p.slack.top_level("C_SLA").len(),
        1,
        "the breach reaches the SLA channel once"
    );
    assert_eq!(p.slack.top_level("C_CRIT").len(), 1, "and edits the existing messages");
    let crit = &p.slack.top_level("C_CRIT")[0];
    let thread = p.slack.thread("C_CRIT", &crit.ts);
    assert_eq!(thread.iter().filter(|m| m.text.contains("sla.breach")).count(), 2);

    // An acknowledged incident cannot breach the ack target any more.
    let id2 = p.declare("--sev SEV-2 Slow API").await;
    p.run("U0BOB", &format!("ack {id2}")).await;
    let (monitor2, _) = monitor_at(&p, declared + time::Duration::minutes(20));
    assert_eq!(monitor2.tick().await.expect("tick").breaches, 0);
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_between_commit_and_publish_is_swept_and_delivered() {
    let p = Pipeline::start(true).await;
    // A webhook that commits but dies before publishing: its publisher has no queue.
    let mut crashed = p.stack.config.clone();
    crashed.incident_events_queue = None;
    let clients = Arc::new(AwsClients::new(crashed));
    let clock: Arc<dyn Clock> = Arc::new(im_core::SystemClock);
    let service = IncidentService::new(DynamoStore::new(clients.clone()), SqsPublisher::new(clients), clock);
    let policy = AccessPolicy::default();
    let settings = Settings {
        policy: &policy,
        role: im_core::Role::Responder,
        default_severity: Severity::Sev3,
        extra_help: &[],
    };
    let line = "declare --sev SEV-3 Lost event";
    let actor = Actor {
        platform: "slack".into(),
        provider: "acme".into(),
        user: UserRef::new("U0ALICE", None),
        channel: Some("C_ORIGIN".into()),
    };
    let inv = Invocation::chat(actor, "/im", line, None);
    let outcome = service
        .execute(&inv, &settings, im_core::parse(line).expect("parse"))
        .await;
    assert!(matches!(outcome.reply, Reply::Card { .. }));
    assert!(outcome.failure.is_some(), "the publish failed");
    p.drain(2, DRAIN).await;
    assert!(
        p.slack.top_level("C_MINOR").is_empty(),
        "nothing was published, nothing delivered"
    );

    let (mut monitor, _) = monitor_at(&p, OffsetDateTime::now_utc());
    monitor.outbox_grace = Duration::ZERO;
    assert_eq!(monitor.tick().await.expect("tick").republished, 1);
    assert_eq!(monitor.tick().await.expect("tick").republished, 0, "swept once");
    p.drain(2, DRAIN).await;
    let posted = p.slack.top_level("C_MINOR");
    assert_eq!(posted.len(), 1);
    assert!(posted[0].text.contains("Lost event"));
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_weekly_summary_goes_to_each_default_channel_once() {
    let p = Pipeline::start(true).await;
    let a = p.declare("--sev SEV-1 Payments down").await;
    p.declare("--sev SEV-3 Search slow").await;
    p.run("U0BOB", &format!("ack {a}")).await;
    p.run("U0BOB", &format!("resolve {a}")).await;
    p.drain(2, DRAIN).await;
    // A week later, the monitor summarises the week these incidents were declared in.
    let (monitor, _) = monitor_at(&p, OffsetDateTime::now_utc() + time::Duration::weeks(1));
    assert_eq!(monitor.tick().await.expect("tick").summaries, 1);
    assert_eq!(monitor.tick().await.expect("tick").summaries, 0, "once per week");
    p.drain(2, DRAIN).await;
    let general = p.slack.top_level("C_GENERAL");
    assert_eq!(general.len(), 1);
    let text = &general[0].text;
    assert!(text.contains("Weekly incident summary"), "{text}");
    assert!(text.contains("*2 incidents*"), "{text}");
    assert!(text.contains("SEV-1: 1 · SEV-2: 0 · SEV-3: 1 · SEV-4: 0"), "{text}");
    assert!(
        text.contains("*Mean time to acknowledge:*") && text.contains("*Still open:* 1"),
        "{text}"
    );
    p.stack.teardown().await;
}
