//! Our code on a warm slash command, with the AWS calls taken out (a store that does no I/O and
//! in-memory providers): the whole generic webhook path — provider lookup, the Slack adapter's
//! signature check and parse, the command grammar, RBAC and the use case, the neutral reply,
//! Block Kit and JSON bytes. Target: well under 20 µs. A per-stage breakdown follows, with the
//! signature check reported on its own. The same commands as Discord interactions follow (embeds
//! and components), with the Ed25519 check measured on its own: it costs tens of µs by itself.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group};
use im_core::delivery::{Deliverer, RetryPolicy};
use im_core::inbound::{PlatformAdapter, Platforms, Request};
use im_core::memory::{
    FixedClock, MemoryDirectory, MemoryInbox, MemoryLedger, MemoryPacer, MemoryProviders, MemoryWork, VirtualTimer,
};
use im_core::ports::{Change, CommitError, EventPublisher, IncidentStore, PublishError, StoreError};
use im_core::{Clock, IncidentService, Severity};
use im_core::{Incident, IncidentEvent, IncidentId, TimelineEntry};
use im_discord::{DiscordAdapter, DiscordSettings};
use im_slack::{SlackAdapter, SlackSettings};
use im_webhook::{Gateway, Parts, Via};

const SECRET: &str = "bench-signing-secret-0123456789abcdef";
const NOW: i64 = 1_764_237_600;

fn signed(text: &str) -> (Vec<(String, String)>, String) {
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
    let signature = im_slack::sign(SECRET, NOW, body.as_bytes());
    let headers = vec![
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ),
        ("x-slack-request-timestamp".to_string(), NOW.to_string()),
        ("x-slack-signature".to_string(), signature),
    ];
    (headers, body)
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
    async fn declared_between(
        &self,
        _: time::OffsetDateTime,
        _: time::OffsetDateTime,
    ) -> Result<Vec<Incident>, StoreError> {
        Ok(Vec::new())
    }
    async fn audit(&self, _: Option<&IncidentId>, _: &TimelineEntry) -> Result<(), StoreError> {
        Ok(())
    }
    async fn audit_day(&self, _: time::Date) -> Result<Vec<TimelineEntry>, StoreError> {
        Ok(Vec::new())
    }
}

struct NullPublisher;

impl EventPublisher for NullPublisher {
    async fn publish(&self, _: &IncidentEvent) -> Result<(), PublishError> {
        Ok(())
    }
}

/// A Discord `/im <verb>` interaction, signed at `NOW` with the bench key.
fn discord_signed(verb: &str, options: serde_json::Value) -> (Vec<(String, String)>, Vec<u8>) {
    use ed25519_dalek::Signer;
    let body = serde_json::json!({
        "id": "1100000000000000001", "application_id": "900", "type": 2, "guild_id": "700",
        "channel_id": "800", "token": "itoken-bench", "version": 1,
        "member": {"user": {"id": "300", "username": "alice"}},
        "data": {"id": "1", "name": "im", "type": 1, "options": [{"name": verb, "type": 1, "options": options}]},
    })
    .to_string()
    .into_bytes();
    let mut message = NOW.to_string().into_bytes();
    message.extend_from_slice(&body);
    let signature = hex::encode(discord_key().sign(&message).to_bytes());
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("x-signature-timestamp".to_string(), NOW.to_string()),
        ("x-signature-ed25519".to_string(), signature),
    ];
    (headers, body)
}

fn discord_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])
}

fn discord_cases() -> Vec<(&'static str, &'static str, serde_json::Value)> {
    let opt = |name: &str, value: &str| serde_json::json!({"name": name, "type": 3, "value": value});
    vec![
        ("help", "help", serde_json::json!([])),
        (
            "declare",
            "declare",
            serde_json::json!([
                opt("title", "Payment processing down"),
                opt("severity", "SEV-2"),
                opt("service", "checkout")
            ]),
        ),
        (
            "update",
            "update",
            serde_json::json!([opt("incident", "INC-2025-001"), opt("note", "Failover started")]),
        ),
    ]
}

fn gateway() -> Gateway<NullStore, NullPublisher> {
    let now = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap_or_else(|e| panic!("{e}"));
    let mut incident = im_core::memory::incident(1, Severity::Sev2, im_core::Status::Open);
    incident.id = IncidentId::new(2025, 1);
    incident.title = "DB down".into();
    incident.service = Some("checkout".into());
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(now));
    let providers = Arc::new(MemoryProviders::default());
    let demo = im_core::memory::provider("demo", "slack", serde_json::json!({"default_channel": "C2147483705"}));
    providers.add(demo, &[("signing_secret", SECRET), ("bot_token", "xoxb-bench")]);
    let guild = im_core::memory::provider(
        "guild",
        "discord",
        serde_json::json!({"application_id": "900", "guild_id": "700", "default_channel": "800",
            "public_key": hex::encode(discord_key().verifying_key().to_bytes())}),
    );
    providers.add(guild, &[("bot_token", "discord-bench-token")]);
    let timer = VirtualTimer::at(NOW * 1000);
    let deliverer = Deliverer::new(
        Arc::new(MemoryLedger::default()),
        Arc::new(MemoryPacer::new(timer.clone())),
        Arc::new(MemoryDirectory::default()),
        Arc::new(im_core::memory::MemoryStore::default()),
        timer,
        RetryPolicy::default(),
    );
    Gateway::new(Parts {
        service: IncidentService::new(
            NullStore {
                seq: AtomicU64::new(0),
                incident,
            },
            NullPublisher,
            clock.clone(),
        ),
        providers,
        platforms: Platforms::new()
            .with(Arc::new(SlackAdapter::new(SlackSettings::default())))
            .with(Arc::new(DiscordAdapter::new(DiscordSettings::default()))),
        deliverer: Arc::new(deliverer),
        usage: Arc::new(im_core::usage::LogRecorder(im_core::memory::MemoryUsage::default())),
        inbox: Arc::new(MemoryInbox::default()),
        memo: Arc::new(im_core::memory::MemoryMemo::default()),
        roles: Arc::new(im_platforms::policy::HttpRoleSource::new()),
        workflows: Arc::new(im_platforms::policy::HttpWorkflows::new()),
        work: Arc::new(MemoryWork::default()),
        clock,
    })
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let gw = gateway();
    let mut group = c.benchmark_group("warm_slash_command");
    for (name, text) in [
        ("help", "help"),
        (
            "declare",
            r#"declare --sev SEV-2 --service checkout "Payment processing down""#,
        ),
        ("update", "update INC-2025-001 \"Failover started\""),
    ] {
        let (headers, body) = signed(text);
        group.bench_function(name, |b| {
            b.iter(|| {
                let answer = runtime.block_on(gw.handle(Via::Platform("slack"), "demo", &headers, body.as_bytes()));
                assert_eq!(answer.status, 200);
                answer
            })
        });
    }
    group.finish();

    let mut discord = c.benchmark_group("warm_discord_command");
    for (name, verb, options) in discord_cases() {
        let (headers, body) = discord_signed(verb, options);
        discord.bench_function(name, |b| {
            b.iter(|| {
                let answer = runtime.block_on(gw.handle(Via::Platform("discord"), "guild", &headers, &body));
                assert_eq!(answer.status, 200);
                answer
            })
        });
    }
    let (headers, body) = discord_signed("help", serde_json::json!([]));
    let adapter = DiscordAdapter::new(DiscordSettings::default());
    let guild = im_core::memory::provider(
        "guild",
        "discord",
        serde_json::json!({"public_key": hex::encode(discord_key().verifying_key().to_bytes())}),
    );
    let none = im_core::provider::ProviderSecrets::default();
    let request = Request::new(&headers, &body);
    discord.bench_function("verify_ed25519", |b| {
        b.iter(|| adapter.verify(&request, &guild, &none, NOW))
    });
    discord.finish();

    // A Discord declare without its signature check: parse, then the card answer rendered.
    let mut stages = c.benchmark_group("discord_declare_stages");
    let (_, verb, options) = discord_cases().into_iter().nth(1).expect("declare");
    let (headers, body) = discord_signed(verb, options);
    let request = Request::new(&headers, &body);
    stages.bench_function("parse_request", |b| b.iter(|| adapter.parse(&request, "guild")));
    let now = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap_or_else(|e| panic!("{e}"));
    let reply = im_core::Reply::Card {
        kind: im_core::reply::CardKind::Declared,
        incident: im_core::memory::incident(1, Severity::Sev2, im_core::Status::Open),
        note: None,
    };
    stages.bench_function("render_answer", |b| {
        b.iter(|| {
            let answer = im_core::inbound::Answer::Reply {
                doc: reply.doc(now),
                visibility: im_core::inbound::Visibility::Channel,
            };
            let exchange = im_core::inbound::Exchange {
                provider: &guild,
                secrets: &none,
                ctx: None,
            };
            runtime.block_on(adapter.answer(exchange, answer))
        })
    });
    stages.finish();

    // Where a declare's time goes, stage by stage.
    let mut stages = c.benchmark_group("declare_stages");
    let text = r#"declare --sev SEV-2 --service checkout "Payment processing down""#;
    let (headers, body) = signed(text);
    let adapter = SlackAdapter::new(SlackSettings::default());
    let demo = im_core::memory::provider("demo", "slack", serde_json::json!({}));
    let secrets =
        im_core::provider::ProviderSecrets::from_map([("signing_secret".to_string(), SECRET.to_string())].into());
    let request = Request::new(&headers, body.as_bytes());
    stages.bench_function("verify_signature", |b| {
        b.iter(|| adapter.verify(&request, &demo, &secrets, NOW))
    });
    stages.bench_function("parse_request", |b| b.iter(|| adapter.parse(&request, "demo")));
    stages.bench_function("parse_command", |b| b.iter(|| im_core::parse(text)));
    let now = time::OffsetDateTime::from_unix_timestamp(NOW).unwrap_or_else(|e| panic!("{e}"));
    let reply = im_core::Reply::Card {
        kind: im_core::reply::CardKind::Declared,
        incident: im_core::memory::incident(1, Severity::Sev2, im_core::Status::Open),
        note: None,
    };
    stages.bench_function("reply_doc", |b| b.iter(|| reply.doc(now)));
    let doc = reply.doc(now);
    let renderer = im_slack::Renderer::new("demo");
    stages.bench_function("render_block_kit", |b| {
        b.iter(|| renderer.reply(&doc, im_core::inbound::Visibility::Channel))
    });
    let rendered = renderer.reply(&doc, im_core::inbound::Visibility::Channel);
    stages.bench_function("to_json", |b| b.iter(|| serde_json::to_vec(&rendered)));
    stages.finish();
}

/// `IM_BENCH_COUNT=N IM_BENCH_CASE=help`: runs one case N times and exits, for instruction
/// counts under `valgrind --tool=callgrind` (repeatable where wall time on a shared machine is
/// not: compare counts at two N to take out start-up).
fn count_mode() -> bool {
    let (Ok(n), Ok(case)) = (std::env::var("IM_BENCH_COUNT"), std::env::var("IM_BENCH_CASE")) else {
        return false;
    };
    let n: usize = n.parse().expect("a count");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let gw = gateway();
    // `discord-help`, `discord-declare`, `discord-update`: the Discord interactions.
    if let Some(name) = case.strip_prefix("discord-") {
        let (_, verb, options) = discord_cases()
            .into_iter()
            .find(|(n, ..)| *n == name)
            .expect("a Discord case");
        let (headers, body) = discord_signed(verb, options);
        for _ in 0..n {
            let answer = runtime.block_on(gw.handle(Via::Platform("discord"), "guild", &headers, &body));
            assert_eq!(answer.status, 200);
        }
        return true;
    }
    let text = match case.as_str() {
        "help" => "help",
        "declare" => r#"declare --sev SEV-2 --service checkout "Payment processing down""#,
        _ => "update INC-2025-001 \"Failover started\"",
    };
    let (headers, body) = signed(text);
    for _ in 0..n {
        let answer = runtime.block_on(gw.handle(Via::Platform("slack"), "demo", &headers, body.as_bytes()));
        assert_eq!(answer.status, 200);
    }
    true
}

criterion_group!(benches, bench);

fn main() {
    if count_mode() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
