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
    let a = p.declare("--sev SEV-1 --service payments Payments down").await;
    p.declare("--sev SEV-3 --service search Search slow").await;
    p.run("U0BOB", &format!("ack {a}")).await;
    p.run("U0BOB", &format!("resolve {a}")).await;
    p.drain(2, DRAIN).await;
    // The payments team's channel gets the week of its services only.
    let mut teams = im_core::team::Teams::default();
    teams
        .set(im_core::team::Team {
            name: "payments".into(),
            services: vec!["payments".into(), "checkout".into()],
            members: vec!["slack:U0ANN=Ann".into()],
            channel: Some("acme:C_MAJOR".into()),
        })
        .expect("team");
    p.stack.directory().write_teams(&teams).await.expect("teams stored");
    // A week later, the monitor summarises the week these incidents were declared in.
    let (monitor, _) = monitor_at(&p, OffsetDateTime::now_utc() + time::Duration::weeks(1));
    assert_eq!(
        monitor.tick().await.expect("tick").summaries,
        2,
        "the default channel and the team's"
    );
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
    let team = p.slack.top_level("C_MAJOR");
    let summary = team
        .iter()
        .find(|m| m.text.contains("Weekly incident summary"))
        .expect("the team's summary");
    assert!(
        summary.text.contains("*1 incident"),
        "only the team's services: {}",
        summary.text
    );
    assert!(
        summary.text.contains("SEV-1: 1 · SEV-2: 0 · SEV-3: 0 · SEV-4: 0"),
        "{}",
        summary.text
    );
    p.stack.teardown().await;
}

/// Retention: a closed incident and its timeline are deleted once its retention has passed
/// (hourly, audited); open incidents stay; ids are never reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_incidents_are_deleted_at_the_end_of_their_retention() {
    let p = Pipeline::start(false).await;
    let old = p.declare("--sev SEV-3 Closed long ago").await;
    let second = p.declare("--sev SEV-3 Closed too").await;
    let open = p.declare("--sev SEV-3 Still open").await;
    for id in [&old, &second] {
        p.run("U0ALICE", &format!("resolve {id} fixed")).await;
        p.run("U0ALICE", &format!("close {id}")).await;
    }
    let store = p.stack.store();
    let old_id = IncidentId::parse(&old).expect("id");
    assert!(store.timeline(&old_id, 10).await.expect("timeline").len() >= 3);

    let mut config = p.clients.config().clone();
    config.closed_retention_days = Some(30);
    let clients = Arc::new(AwsClients::new(config));
    let now = OffsetDateTime::now_utc();
    // Both were closed just now: 29 days later nothing is due, 31 days later both are.
    let at = |days: i64| {
        let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(
            now + time::Duration::days(days) + time::Duration::hours(1),
        ));
        SlaMonitor::new(clients.clone(), clock).expect("monitor")
    };
    assert_eq!(at(29).tick().await.expect("tick").expired, 0, "within the retention");
    let monitor = at(31);
    assert_eq!(monitor.tick().await.expect("tick").expired, 2);
    assert_eq!(monitor.tick().await.expect("tick").expired, 0, "once an hour");
    assert!(store.get(&old_id).await.expect("read").is_none());
    assert!(
        store.timeline(&old_id, 10).await.expect("timeline").is_empty(),
        "the timeline went too"
    );
    assert!(
        store
            .get(&IncidentId::parse(&second).expect("id"))
            .await
            .expect("read")
            .is_none()
    );
    assert!(
        store
            .get(&IncidentId::parse(&open).expect("id"))
            .await
            .expect("read")
            .is_some(),
        "an open incident is never deleted"
    );
    let later = now + time::Duration::days(31);
    let audit = store.audit_day(later.date()).await.expect("audit");
    let deleted: Vec<&str> = audit
        .iter()
        .filter(|e| e.event_type == "retention.deleted")
        .filter_map(|e| e.data["incident"].as_str())
        .collect();
    assert_eq!(deleted.len(), 2, "{audit:#?}");
    assert!(deleted.contains(&old.as_str()));
    // The counter stays: the next incident gets a new number.
    let next = p.declare("--sev SEV-4 After the sweep").await;
    let numbers: Vec<u64> = [&old, &second, &open, &next]
        .iter()
        .map(|id| id.rsplit('-').next().and_then(|n| n.parse().ok()).expect("number"))
        .collect();
    assert_eq!(numbers[3], numbers[2] + 1, "{numbers:?}");
    p.stack.teardown().await;
}
