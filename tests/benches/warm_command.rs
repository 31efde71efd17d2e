//! Our code on a warm slash command, with the AWS calls taken out (in-memory adapters):
//! signature check → form parse → command parse → RBAC + use case → Block Kit → JSON bytes.
//! Target: well under 20 µs.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use im_core::block_on::block_on;
use im_core::memory::{FixedClock, MemoryPublisher, MemoryStore};
use im_core::slack::{self, SlackRequest};
use im_core::{AccessPolicy, Actor, IncidentService, Interface, Invocation, Severity, UserRef};
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

fn handle(
    service: &IncidentService<MemoryStore, MemoryPublisher, FixedClock>,
    secret: &SecretString,
    body: &str,
    signature: &str,
    idempotency: Option<String>,
) -> Vec<u8> {
    let ts = NOW.to_string();
    slack::verify(secret, Some(&ts), Some(signature), body.as_bytes(), NOW)
        .unwrap_or_else(|e| panic!("{e}"));
    let Ok(SlackRequest::Command(cmd)) =
        slack::parse_request(Some("application/x-www-form-urlencoded"), body.as_bytes())
    else {
        panic!("a command");
    };
    let command = im_core::parse(&cmd.text).unwrap_or_else(|e| panic!("{e}"));
    let invocation = Invocation {
        actor: Actor {
            platform: "slack".into(),
            provider: "demo".into(),
            user: UserRef::new(cmd.user_id.clone(), cmd.user_name.clone()),
            channel: Some(cmd.channel_id.clone()),
        },
        interface: Interface::Chatops,
        prefix: cmd.command.clone(),
        command_line: format!("{} {}", cmd.command, cmd.text),
        idempotency_key: idempotency,
    };
    let policy = AccessPolicy::default();
    let settings = im_core::Settings {
        policy: &policy,
        default_severity: Severity::Sev3,
    };
    let outcome = block_on(service.execute(&invocation, &settings, command));
    let now = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_vec(&slack::render(&outcome.reply, now)).unwrap_or_default()
}

fn service() -> IncidentService<MemoryStore, MemoryPublisher, FixedClock> {
    let now = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap_or_else(|e| panic!("{e}"));
    IncidentService::new(
        MemoryStore::default(),
        MemoryPublisher::default(),
        FixedClock::at(now),
    )
}

fn bench(c: &mut Criterion) {
    let secret = SecretString::from(SECRET);
    let mut group = c.benchmark_group("warm_slash_command");

    let svc = service();
    let (body, sig) = signed("help");
    group.bench_function("help", |b| {
        b.iter(|| handle(&svc, &secret, &body, &sig, None))
    });

    let svc = service();
    let (body, sig) = signed(r#"declare --sev SEV-2 --service checkout "Payment processing down""#);
    group.bench_function("declare", |b| {
        b.iter(|| handle(&svc, &secret, &body, &sig, None))
    });

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
}

criterion_group!(benches, bench);
criterion_main!(benches);
