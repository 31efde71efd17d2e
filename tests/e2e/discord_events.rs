//! The Discord webhook, fed the signed API Gateway events in `events/discord/` (and the generic
//! endpoint's) through lambda_http's own event conversion, against the emulator.

use std::sync::Arc;

use axum::body::Body;
use im_core::memory::FixedClock;
use im_core::ports::IncidentStore;
use im_core::{Clock, IncidentId, Status};
use im_tests::{FIXTURE_TIME, TestStack, fake_discord::FakeDiscord, lambda_event};
use serde_json::{Value, json};

struct Harness {
    stack: TestStack,
    router: axum::Router,
    gateway: Arc<im_webhook::aws::AwsGateway>,
    fake: FakeDiscord,
}

async fn harness() -> Harness {
    let mut stack = TestStack::new().await;
    let fake = FakeDiscord::start().await;
    fake.with_token("discord-fixture-token");
    stack.config.delivery.discord_api_url = fake.api_url.clone();
    stack.clients = Arc::new(im_aws::AwsClients::new(stack.config.clone()));
    stack
        .directory()
        .add(
            "demo-discord",
            "discord",
            json!({"public_key": im_tests::fixture_discord_public_key(), "application_id": "900100",
                   "guild_id": "700100", "bot_token": "discord-fixture-token", "default_channel": "800100",
                   "rbac": {"default_role": "responder"}}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let gateway = fixture_gateway(&stack);
    Harness {
        router: discord_webhook::router(gateway.clone()).merge(chatops_webhook::router(gateway.clone())),
        stack,
        gateway,
        fake,
    }
}

/// A gateway over the stack at the fixtures' time (a new one reads provider records afresh).
fn fixture_gateway(stack: &TestStack) -> Arc<im_webhook::aws::AwsGateway> {
    let at = time::OffsetDateTime::from_unix_timestamp(FIXTURE_TIME).unwrap_or_else(|e| panic!("{e}"));
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(at));
    let platforms = im_platforms::registry(stack.clients.config());
    Arc::new(im_webhook::aws::gateway(stack.clients.clone(), clock, platforms))
}

impl Harness {
    /// The fixtures' incident's timeline.
    async fn timeline(&self) -> Vec<im_core::TimelineEntry> {
        self.stack
            .store()
            .timeline(&IncidentId::new(2025, 1), 20)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn send(&self, fixture: &str) -> (u16, Value) {
        let (status, _, body) = im_tests::call(&self.router, lambda_event(fixture).map(Body::new)).await;
        (status, body)
    }

    async fn incident(&self) -> Option<im_core::Incident> {
        let id = IncidentId::parse("INC-2025-001").unwrap_or_else(|e| panic!("{e}"));
        self.stack.store().get(&id).await.unwrap_or_else(|e| panic!("{e}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_discord_fixture_gets_its_answer() {
    let h = harness().await;
    // Refused before anything is read: no state change.
    for fixture in ["discord/bad-signature.json", "discord/missing-headers.json"] {
        let (status, body) = h.send(fixture).await;
        assert_eq!((status, body), (401, Value::Null), "{fixture}");
    }
    assert_eq!(h.send("discord/ping.json").await, (200, json!({"type": 1})));
    let (status, help) = h.send("discord/command-help.json").await;
    assert_eq!((status, &help["type"]), (200, &json!(4)), "{help}");
    assert!(help.to_string().contains("declare"), "{help}");
    let (_, dm) = h.send("discord/direct-message.json").await;
    assert_eq!(dm["data"]["flags"], 64, "answered privately: {dm}");
    assert!(h.incident().await.is_none());

    let (status, declared) = h.send("discord/command-declare.json").await;
    assert_eq!(status, 200, "{declared}");
    let incident = h.incident().await.expect("declared");
    assert_eq!(
        (incident.title.as_str(), incident.service.as_deref()),
        ("Payment processing down", Some("checkout"))
    );
    assert_eq!(incident.severity.as_str(), "SEV-2");
    let (_, list) = h.send("discord/command-list.json").await;
    // Discord markdown escapes the hyphens; the reader sees the plain id.
    let shown = list["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .replace('\\', "");
    assert!(shown.contains("INC-2025-001"), "{list}");
    let (_, choices) = h.send("discord/autocomplete-incident.json").await;
    assert_eq!(choices["type"], 8, "{choices}");
    assert_eq!(choices["data"]["choices"][0]["value"], "INC-2025-001", "{choices}");

    let (status, clicked) = h.send("discord/component-ack.json").await;
    assert_eq!(status, 200, "{clicked}");
    assert_eq!(clicked["type"], 7, "the clicked message is edited in place: {clicked}");
    assert_eq!(h.incident().await.expect("exists").status, Status::Acknowledged);
    let (status, updated) = h.send("discord/modal-status-update.json").await;
    assert_eq!(status, 200, "{updated}");
    let timeline = h.timeline().await;
    assert!(
        timeline
            .iter()
            .any(|e| e.data.get("note").and_then(Value::as_str) == Some("Failover to the EU region done")),
        "{timeline:?}"
    );
    // The generic endpoint serves the same provider by name.
    let (status, generic) = h.send("chatops-webhook/discord-help.json").await;
    assert_eq!((status, &generic["type"]), (200, &json!(4)), "{generic}");
    h.stack.teardown().await;
}

/// `/im ask` against the emulator: a deferred answer at once, the worker (from SQS) understands
/// the question, keeps the incident shown as context in DynamoDB, and "ack it" acts on it; the
/// answers are the interaction's follow-ups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_is_understood_by_the_worker_with_context_in_dynamodb() {
    let h = harness().await;
    let (status, _) = h.send("discord/command-declare.json").await;
    assert_eq!(status, 200);
    let (status, deferred) = h.send("discord/command-ask-status.json").await;
    assert_eq!((status, &deferred["type"]), (200, &json!(5)), "deferred: {deferred}");
    assert_eq!(h.stack.run_queued_work(&h.gateway).await, 1);
    let answers = h.fake.follow_ups();
    assert!(
        answers
            .last()
            .is_some_and(|(_, body)| body.to_string().replace('\\', "").contains("INC-2025-001")),
        "{answers:?}"
    );
    let (status, _) = h.send("discord/command-ask-ack-it.json").await;
    assert_eq!(status, 200);
    assert_eq!(h.stack.run_queued_work(&h.gateway).await, 1);
    assert_eq!(h.incident().await.expect("exists").status, Status::Acknowledged);
    h.stack.teardown().await;
}

/// The gate on DynamoDB: a member who left the server is refused (Discord's members endpoint,
/// through the fake), the refusal lands on the incident's timeline in the table, and the
/// verification of a member is cached there (an outage of the endpoint then changes nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_checks_membership_and_records_refusals_in_dynamodb() {
    let h = harness().await;
    let (status, _) = h.send("discord/command-declare.json").await;
    assert_eq!(status, 200);
    assert_eq!(h.fake.member_lookups(), ["300100"], "the declarer was looked up once");
    let cached = im_core::conversation::Memo::get(
        &im_aws::deliveries::DeliveryStore::new(h.stack.clients.clone()),
        &im_core::access::identity_key("demo-discord", "300100"),
        FIXTURE_TIME,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cached.is_some_and(|v| v.contains("\"active\":true")),
        "the verification is kept in the table"
    );

    // The endpoint down: the verification a moment ago stands.
    h.fake.members_down(true);
    let (status, clicked) = h.send("discord/component-ack.json").await;
    assert_eq!(status, 200, "{clicked}");
    assert_eq!(h.incident().await.expect("exists").status, Status::Acknowledged);

    // Now the same person's role is taken away: the status update is refused and recorded.
    h.stack
        .directory()
        .set_rbac("demo-discord", |policy| {
            policy
                .users
                .insert("300100".into(), im_core::rbac::Member::role(im_core::Role::Viewer));
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // (The functions read provider records through a short cache; a new gateway reads it now.)
    let gateway = fixture_gateway(&h.stack);
    let router = discord_webhook::router(gateway);
    let (status, _, updated) =
        im_tests::call(&router, lambda_event("discord/modal-status-update.json").map(Body::new)).await;
    assert_eq!(status, 200);
    assert!(updated.to_string().contains("You need the responder role"), "{updated}");
    let timeline = h.timeline().await;
    let denied: Vec<_> = timeline.iter().filter(|e| e.event_type == "chatops.denied").collect();
    assert_eq!(denied.len(), 1, "{timeline:?}");
    assert_eq!(denied[0].actor, "chatops:300100");
    assert_eq!(denied[0].source, "discord:demo-discord");
    h.stack.teardown().await;
}
