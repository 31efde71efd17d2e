//! Discord's own promises: signatures (the published test vector, every failure a 401 that
//! changes nothing), PING over HTTP, direct messages refused politely, autocomplete, the declare
//! modal, registration, learned rate limits and a global 429, and one incident run from Slack
//! and Discord at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use im_core::action::{ActionKey, ActionRef};
use im_core::{IncidentId, Status};
use im_tests::discord_under_test::{APPLICATION, DiscordUnderTest, GUILD, signing_key};
use im_tests::slack_under_test::SlackUnderTest;
use im_tests::world::{UnderTest, World};
use serde_json::{Value, json};

fn answer(a: &im_core::inbound::HttpAnswer) -> Value {
    serde_json::from_slice(&a.body).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_on_every_request() {
    let d = DiscordUnderTest::start().await;
    let w = World::new(d.clone(), json!({}));
    let good = d.command("U1", "600", "declare Signed");
    assert_eq!(w.send(&good).await.status, 200);
    let before = w.publisher.events().len();

    let wrong_key = d.signed_with(
        &SigningKey::from_bytes(&[3u8; 32]),
        d.interaction(2, GUILD, "U1", "600", json!({})),
    );
    let mut altered_body = d.command("U1", "600", "declare Altered");
    altered_body.1 = String::from_utf8_lossy(&altered_body.1)
        .replace("Altered", "Tampered")
        .into_bytes();
    let mut altered_time = d.command("U1", "600", "declare Late");
    altered_time.0[1].1 = "1".into();
    let mut missing = d.command("U1", "600", "declare Unsigned");
    missing.0.retain(|(k, _)| !k.starts_with("x-signature"));
    for request in [wrong_key, altered_body, altered_time, missing] {
        let a = w.send(&request).await;
        assert_eq!((a.status, a.body.len()), (401, 0), "every failure is an empty 401");
    }
    assert_eq!(w.publisher.events().len(), before, "and changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_with_the_published_vector_is_answered_pong_as_json() {
    // PROTOCOLS.md §2.1: RFC 8032 TEST 1's key signed `1700000000{"type":1}`. There is no
    // freshness window on Discord's signature, so the old timestamp still verifies.
    let d = DiscordUnderTest::start().await;
    let rfc_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let w = World::new(d.clone(), json!({"public_key": rfc_key}));
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("x-signature-timestamp".to_string(), "1700000000".to_string()),
        ("x-signature-ed25519".to_string(), "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f".to_string()),
    ];
    let pong = w.send(&(headers, br#"{"type":1}"#.to_vec())).await;
    assert_eq!((pong.status, pong.content_type), (200, Some("application/json")));
    assert_eq!(answer(&pong), json!({"type": 1}));
    // Over HTTP, through the Discord webhook router.
    let app = discord_webhook::router(w.gateway.clone());
    let request = d.signed_with(&signing_key(), json!({"type": 1}));
    let mut builder = http::Request::post("/chatops/discord/acme");
    for (k, v) in &request.0 {
        builder = builder.header(k.as_str(), v.as_str());
    }
    // The world's provider now holds the RFC key: this one is signed with another.
    let (status, _, _) = im_tests::call(&app, builder.body(axum::body::Body::from(request.1)).expect("request")).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_autocomplete_and_the_declare_form() {
    let d = DiscordUnderTest::start().await;
    let w = World::new(d.clone(), json!({}));
    let mut dm = d.interaction(2, GUILD, "U1", "600", DiscordUnderTest::command_data("list"));
    dm.as_object_mut().expect("object").remove("guild_id");
    let refused = answer(&w.send(&d.signed_with(&signing_key(), dm)).await);
    assert_eq!(refused["type"], 4);
    assert_eq!(refused["data"]["flags"], 64);
    assert!(
        refused["data"]["content"]
            .as_str()
            .unwrap_or("")
            .contains("not in direct messages")
    );

    let db = w.declare("U1", "Database replica lag").await;
    w.declare("U1", "Checkout slow").await;
    let auto = d.interaction(
        4,
        GUILD,
        "U1",
        "600",
        json!({"name": "im", "options": [{"type": 1, "name": "ack",
        "options": [{"name": "incident", "type": 3, "value": "datab", "focused": true}]}]}),
    );
    let choices = answer(&w.send(&d.signed_with(&signing_key(), auto)).await);
    assert_eq!(choices["type"], 8);
    let values: Vec<&str> = choices["data"]["choices"]
        .as_array()
        .expect("choices")
        .iter()
        .filter_map(|c| c["value"].as_str())
        .collect();
    assert_eq!(values, [db.as_str()], "open incidents matching what is typed");

    let form = answer(&w.send(&d.command("U1", "600", "declare")).await);
    assert_eq!(
        (form["type"].as_u64(), form["data"]["custom_id"].as_str()),
        (Some(9), Some("im:declare"))
    );
    assert!(form["data"]["title"].as_str().is_some_and(|t| t.chars().count() <= 45));
    let submit = |title: &str, severity: &str| {
        let data = json!({"custom_id": "im:declare", "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "title", "value": title}]},
            {"type": 1, "components": [{"type": 4, "custom_id": "severity", "value": severity}]},
            {"type": 1, "components": [{"type": 4, "custom_id": "service", "value": "payments"}]}]});
        d.signed_with(&signing_key(), d.interaction(5, GUILD, "U1", "600", data))
    };
    let bad = answer(&w.send(&submit("Cards \"declined\"", "SEV-9")).await);
    assert_eq!(bad["data"]["flags"], 64);
    assert!(
        bad["data"]["content"]
            .as_str()
            .unwrap_or("")
            .contains("is not a severity")
    );
    let good = w.send(&submit("Cards \"declined\"", "sev1")).await;
    let id = im_tests::world::incident_id(&d.shown(&good).text).expect("declared");
    let inc = w.incident(&id).await;
    assert_eq!(inc.title, "Cards \"declined\"");
    assert_eq!(
        (inc.severity.as_str(), inc.service.as_deref()),
        ("SEV-1", Some("payments"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_a_bulk_overwrite_and_idempotent() {
    let d = DiscordUnderTest::start().await;
    let adapter = im_discord::DiscordAdapter::new(d.settings());
    let provider = im_core::memory::provider("dc", "discord", json!({}));
    let secrets = im_core::provider::ProviderSecrets::from_map(
        [("bot_token".to_string(), im_tests::discord_under_test::TOKEN.to_string())].into(),
    );
    let client = adapter.client(&provider, &secrets).expect("client");
    let first = im_discord::commands::register(&client, APPLICATION, Some(GUILD))
        .await
        .expect("registered");
    let second = im_discord::commands::register(&client, APPLICATION, Some(GUILD))
        .await
        .expect("again");
    assert_eq!(first, second, "the same list both times");
    let (count, commands) = d.fake.registrations();
    assert_eq!(count, 2);
    assert_eq!(commands.len(), 1, "one guild's list, overwritten");
    let names: Vec<&str> = first[0]["options"]
        .as_array()
        .expect("subs")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.contains(&"declare") && names.contains(&"assign") && names.contains(&"timeline"));
    im_discord::commands::register(&client, APPLICATION, None)
        .await
        .expect("global");
    assert_eq!(d.fake.registrations().1.len(), 2, "global commands have their own list");
}

/// (a) 300 deliveries over 30 channels, the fake announcing 5 per 5 s per channel and 50/s
/// globally: once a channel's bucket is learned from its first answer, no 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn learned_buckets_keep_every_channel_under_its_limit() {
    let d = DiscordUnderTest::start().await;
    d.fake.with_buckets(5, Duration::from_secs(5));
    let w = World::new(d.clone(), json!({}));
    let channels: Vec<String> = (0..30).map(|c| format!("{}", 800 + c)).collect();
    let mut tasks = Vec::new();
    for channel in channels.clone() {
        let deliverer = w.deliverer().clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..10u64 {
                let job = im_core::notify::DeliveryJob::text(
                    format!("bulk:{channel}:{n}"),
                    "acme",
                    &channel,
                    im_core::notify::Scope::Broadcast,
                    format!("message {n}"),
                );
                deliver(&deliverer, job).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(d.fake.rate_limited(), 0, "no 429 once the buckets were learned");
    for channel in &channels {
        assert_eq!(d.fake.top_level(channel).len(), 10);
    }
}

/// Runs a job to its end as the queue would: back after each requeue's delay.
async fn deliver(deliverer: &im_core::delivery::Deliverer, mut job: im_core::notify::DeliveryJob) {
    loop {
        match deliverer.run(job).await.expect("store") {
            im_core::delivery::Outcome::Requeue {
                job: again,
                delay,
                throttled,
            } => {
                assert!(throttled, "only throttling, never a failure");
                tokio::time::sleep(delay).await;
                job = *again;
            }
            other => {
                assert_eq!(other, im_core::delivery::Outcome::Delivered);
                return;
            }
        }
    }
}

/// (b) One injected global 429 with `retry_after: 1.5`: no request at all for 1.5 s, and every
/// delivery exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_global_rate_limit_pauses_every_request_and_loses_nothing() {
    let d = DiscordUnderTest::start().await;
    let w = World::new(d.clone(), json!({}));
    d.fake.inject_global_limit(1.5);
    let started = Instant::now();
    let job = |n: u64| {
        let channel = format!("{}", 900 + n % 10);
        im_core::notify::DeliveryJob::text(
            format!("g:{n}"),
            "acme",
            &channel,
            im_core::notify::Scope::Broadcast,
            format!("g {n}"),
        )
    };
    // The first send meets the global 429; everything after it holds off for 1.5 s.
    let first = {
        let deliverer = w.deliverer().clone();
        let job = job(0);
        tokio::spawn(async move { deliver(&deliverer, job).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut tasks = vec![first];
    for n in 1..20u64 {
        let deliverer = w.deliverer().clone();
        let job = job(n);
        tasks.push(tokio::spawn(async move { deliver(&deliverer, job).await }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert!(started.elapsed() >= Duration::from_millis(1500), "the pause was kept");
    assert_eq!(d.fake.violations(), 0, "no request during the announced pause");
    assert_eq!(d.fake.rate_limited(), 1, "one 429, the injected one");
    let delivered: usize = (0..10).map(|c| d.fake.top_level(&format!("{}", 900 + c)).len()).sum();
    assert_eq!(delivered, 20, "every delivery exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_incident_run_from_slack_and_discord() {
    let slack = SlackUnderTest::start().await;
    let discord = DiscordUnderTest::start().await;
    let discord_routing = json!({"default_channel": "610", "notification_channels": {"SEV-3": "611", "default": "610"},
        "escalation_channels": {}});
    let w = World::with_providers(vec![
        ("acme", slack.clone() as Arc<dyn UnderTest>, json!({})),
        ("dc", discord.clone() as Arc<dyn UnderTest>, discord_routing),
    ]);
    let id = w.declare("U0ALICE", "--sev SEV-3 Queue backlog").await;
    w.drain().await;
    assert_eq!(slack.top_level("C_MINOR").len(), 1, "one message in Slack");
    let on_discord = discord.top_level("611");
    assert_eq!(on_discord.len(), 1, "and one mirrored in Discord");
    let ack = ActionRef::new(ActionKey::Ack, IncidentId::parse(&id).expect("id"), None);
    let clicked = discord.click("555", "611", &on_discord[0].id, &ack);
    let answered = w.send_to("dc", &clicked).await;
    discord.clicked(&answered, &clicked);
    assert_eq!(w.incident(&id).await.status, Status::Acknowledged);
    w.drain().await;
    let slack_message = slack.top_level("C_MINOR").remove(0);
    assert_eq!(slack_message.version, Some(2), "edited to Acknowledged in Slack");
    assert!(slack_message.text.contains("Acknowledged"));
    let discord_message = discord.top_level("611").remove(0);
    assert_eq!(discord_message.version, Some(2));
    assert_eq!(slack.top_level("C_MINOR").len(), 1);
    assert_eq!(
        discord.top_level("611").len(),
        1,
        "one message per channel on each platform"
    );
    let sources: Vec<String> = w
        .timeline(&id)
        .await
        .iter()
        .map(|e| format!("{} {}", e.event_type, e.source))
        .collect();
    assert_eq!(
        sources,
        ["chatops.declare slack:acme", "chatops.acknowledge discord:dc"]
    );
}
