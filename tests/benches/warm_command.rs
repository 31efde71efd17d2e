//! Our code on a warm slash command, with the AWS calls taken out (in-memory adapters):
//! signature check → form parse → command parse → RBAC + use case → Block Kit → JSON bytes.
//! Target: well under 20 µs.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use im_core::block_on::block_on;
use std::sync::atomic::{AtomicU64, Ordering};

use im_core::memory::FixedClock;
use im_core::ports::{Change, CommitError, EventPublisher, IncidentStore, PublishError, StoreError};
use im_core::slack::{self, SlackRequest};
use im_core::{AccessPolicy, Actor, IncidentService, Invocation, Severity, UserRef};
use im_core::{Incident, IncidentEvent, IncidentId, TimelineEntry};
use secrecy::SecretString;

const SECRET: &str = "bench-signing-secret";
const NOW: i64 = 1_764_237_600;

fn signed(text: &str) -> (String, String) {
    let body = serde_urlencoded::to_string([
        ("team_id", "T0001"),
        ("channel_id", "C2147483705"),
        ("user_id", "U024BE7LH"),
        ("user_name", "alice"),
        ("command", "/im"),
        ("text", text),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
    ])
    .unwrap_or_default();
    let signature = slack::sign(SECRET, NOW, body.as_bytes());
    (body, signature)
}

/// A store that does no I/O and keeps nothing, so the benchmark measures our code only
/// (the in-memory test store would grow by a million incidents over a run).
struct NullStore {
    seq: AtomicU64,
    incident: Incident,
}

impl IncidentStore for NullStore {
    async fn allocate_id(&self, year: i32) -> Result<IncidentId, StoreError> {
        Ok(IncidentId::new(year, self.seq.fetch_add(1, Ordering::Relaxed) + 1))
    }
    async fn get(&self, _: &IncidentId) -> Result<Option<Incident>, StoreError> {
        Ok(Some(self.incident.clone()))
    }
    async fn commit(&self, _: &Change) -> Result<(), CommitError> {
        Ok(())
    }
    async fn list_active(&self, _: usize) -> Result<Vec<Incident>, StoreError> {
        Ok(vec![self.incident.clone()])
    }
    async fn timeline(&self, _: &IncidentId, _: usize) -> Result<Vec<TimelineEntry>, StoreError> {
        Ok(Vec::new())
    }
    async fn mark_published(&self, _: &IncidentEvent) -> Result<(), StoreError> {
        Ok(())
    }
}

struct NullPublisher;

impl EventPublisher for NullPublisher {
    async fn publish(&self, _: &IncidentEvent) -> Result<(), PublishError> {
        Ok(())
    }
}

type Service = IncidentService<NullStore, NullPublisher, FixedClock>;

fn handle(
    service: &Service,
    secret: &SecretString,
    body: &str,
    signature: &str,
    idempotency: Option<String>,
) -> Vec<u8> {
    let ts = NOW.to_string();
    slack::verify(secret, Some(&ts), Some(signature), body.as_bytes(), NOW).unwrap_or_else(|e| panic!("{e}"));
    let Ok(SlackRequest::Command(cmd)) =
        slack::parse_request(Some("application/x-www-form-urlencoded"), body.as_bytes())
    else {
        panic!("a command");
    };
    let command = im_core::parse(&cmd.text).unwrap_or_else(|e| panic!("{e}"));
    let actor = Actor {
        platform: "slack".into(),
        provider: "demo".into(),
        user: UserRef::new(cmd.user_id.clone(), cmd.user_name.clone()),
        channel: Some(cmd.channel_id.clone()),
    };
    let invocation = Invocation::chat(actor, &cmd.command, &cmd.text, idempotency);
    let policy = AccessPolicy::default();
    let settings = im_core::Settings {
        policy: &policy,
        default_severity: Severity::Sev3,
    };
    let outcome = block_on(service.execute(&invocation, &settings, command));
    let now = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_vec(&slack::render(&outcome.reply, now)).unwrap_or_default()
}

fn service() -> Service {
    let now = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap_or_else(|e| panic!("{e}"));
    let mut incident = im_core::memory::incident(1, Severity::Sev2, im_core::Status::Open);
    incident.id = IncidentId::new(2025, 1);
    incident.title = "DB down".into();
    incident.service = Some("checkout".into());
    IncidentService::new(
        NullStore {
            seq: AtomicU64::new(0),
            incident,
        },
        NullPublisher,
        FixedClock::at(now),
    )
}

fn bench(c: &mut Criterion) {
    let secret = SecretString::from(SECRET);
    let mut group = c.benchmark_group("warm_slash_command");

    let svc = service();
    let (body, sig) = signed("help");
    group.bench_function("help", |b| b.iter(|| handle(&svc, &secret, &body, &sig, None)));

    let svc = service();
    let (body, sig) = signed(r#"declare --sev SEV-2 --service checkout "Payment processing down""#);
    group.bench_function("declare", |b| b.iter(|| handle(&svc, &secret, &body, &sig, None)));

    let svc = service();
    handle(
        &svc,
        &secret,
        &signed("declare DB down").0,
        &signed("declare DB down").1,
        None,
    );
    let (body, sig) = signed("update INC-2025-001 \"Failover started\"");
    let mut n = 0u64;
    group.bench_function("update", |b| {
        b.iter(|| {
            n += 1;
            handle(&svc, &secret, &body, &sig, Some(n.to_string()))
        })
    });
    group.finish();

    // Where a declare's time goes, stage by stage.
    let mut stages = c.benchmark_group("declare_stages");
    let (body, sig) = signed(r#"declare --sev SEV-2 --service checkout "Payment processing down""#);
    let ts = NOW.to_string();
    stages.bench_function("verify", |b| {
        b.iter(|| slack::verify(&secret, Some(&ts), Some(&sig), body.as_bytes(), NOW))
    });
    stages.bench_function("parse_form", |b| {
        b.iter(|| slack::parse_request(Some("application/x-www-form-urlencoded"), body.as_bytes()))
    });
    let text = r#"declare --sev SEV-2 --service checkout "Payment processing down""#;
    stages.bench_function("parse_command", |b| b.iter(|| im_core::parse(text)));
    let svc = service();
    let policy = AccessPolicy::default();
    let settings = im_core::Settings {
        policy: &policy,
        default_severity: Severity::Sev3,
    };
    let actor = Actor {
        platform: "slack".into(),
        provider: "demo".into(),
        user: UserRef::new("U024BE7LH", Some("alice".into())),
        channel: Some("C2147483705".into()),
    };
    let invocation = Invocation::chat(actor, "/im", text, None);
    stages.bench_function("execute", |b| {
        b.iter(|| {
            let command = im_core::parse(text).unwrap_or_else(|e| panic!("{e}"));
            block_on(svc.execute(&invocation, &settings, command))
        })
    });
    let command = im_core::parse(text).unwrap_or_else(|e| panic!("{e}"));
    let outcome = block_on(svc.execute(&invocation, &settings, command));
    let now = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap_or_else(|e| panic!("{e}"));
    stages.bench_function("render", |b| b.iter(|| slack::render(&outcome.reply, now)));
    let rendered = slack::render(&outcome.reply, now);
    stages.bench_function("to_json", |b| b.iter(|| serde_json::to_vec(&rendered)));
    stages.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
