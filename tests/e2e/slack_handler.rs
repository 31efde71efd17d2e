//! The Slack webhook handler, fed the signed API Gateway events in `events/slack/` through
//! lambda_http's own event conversion, against the emulator.

use std::sync::Arc;

use axum::body::Body;
use im_core::memory::FixedClock;
use im_core::ports::IncidentStore;
use im_core::{Clock, IncidentId, Severity};
use im_tests::{FIXTURE_SECRET, FIXTURE_TIME, TestStack, lambda_event};
use serde_json::{Value, json};

struct Harness {
    stack: TestStack,
    router: axum::Router,
}

async fn harness_with_secret(secret: &str) -> Harness {
    harness_with(secret, None).await.0
}

/// The stack, provider `demo` (with `secret`), the gateway at the fixtures' time; Slack's API at
/// `slack_api` when given (a fake), else unreachable.
async fn harness_with(secret: &str, slack_api: Option<&str>) -> (Harness, Arc<im_webhook::aws::AwsGateway>) {
    let mut stack = TestStack::new().await;
    stack.config.secrets_min_refresh = std::time::Duration::ZERO;
    if let Some(url) = slack_api {
        stack.config.delivery.slack_api_url = url.to_string();
    }
    stack.clients = Arc::new(im_aws::AwsClients::new(stack.config.clone()));
    stack
        .directory()
        .add(
            "demo",
            "slack",
            json!({"signing_secret": secret, "bot_token": "xoxb-test", "default_channel": "C2147483705",
                   "rbac": {"default_role": "responder"}}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let at = time::OffsetDateTime::from_unix_timestamp(FIXTURE_TIME).unwrap_or_else(|e| panic!("{e}"));
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(at));
    let platforms = im_platforms::registry(stack.clients.config());
    let gateway = Arc::new(im_webhook::aws::gateway(stack.clients.clone(), clock, platforms));
    let harness = Harness {
        router: slack_webhook::router(gateway.clone()).merge(chatops_webhook::router(gateway.clone())),
        stack,
    };
    (harness, gateway)
}

async fn harness() -> Harness {
    harness_with_secret(FIXTURE_SECRET).await
}

impl Harness {
    async fn send(&self, fixture: &str) -> (u16, String, Value) {
        self.send_event(&format!("slack/{fixture}.json")).await
    }

    async fn send_event(&self, path: &str) -> (u16, String, Value) {
        let request = lambda_event(path).map(Body::new);
        im_tests::call(&self.router, request).await
    }

    async fn incident_count(&self) -> usize {
        self.stack
            .store()
            .list_active(100)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .len()
    }
}

#[tokio::test]
async fn signed_slash_command_declares_and_stores_an_incident() {
    let h = harness().await;
    let (status, _, body) = h.send("slash-declare").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["response_type"], "in_channel");
    assert!(
        body["text"]
            .as_str()
            .unwrap_or("")
            .contains("INC-2025-001 Payment processing down"),
        "{body}"
    );
    assert!(body["blocks"].as_array().is_some_and(|b| !b.is_empty()));

    let id = IncidentId::parse("INC-2025-001").unwrap_or_else(|e| panic!("{e}"));
    let stored = h
        .stack
        .store()
        .get(&id)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("incident stored"));
    assert_eq!(stored.title, "Payment processing down");
    assert_eq!(stored.severity, Severity::Sev2);
    assert_eq!(stored.service.as_deref(), Some("checkout"));
    assert_eq!(stored.declared_by.id, "U024BE7LH");
    assert_eq!(stored.origin.channel.as_deref(), Some("C2147483705"));
    let timeline = h.stack.store().timeline(&id, 10).await.unwrap_or_default();
    let entry = serde_json::to_value(&timeline[0]).unwrap_or_default();
    assert_eq!(entry["event_type"], "chatops.declare");
    assert_eq!(entry["actor"], "chatops:U024BE7LH");
    assert_eq!(entry["source"], "slack:demo");
    assert_eq!(entry["timestamp"], "2025-11-27T10:00:00Z");
    assert_eq!(
        entry["data"]["command"],
        "/im declare --sev SEV-2 --service checkout \"Payment processing down\""
    );
    let events = h.stack.drain_events().await;
    assert_eq!(events.len(), 1, "the change was published");

    // The same request again (same trigger_id) is not applied twice.
    let (status, _, again) = h.send("slash-declare").await;
    assert_eq!(status, 200);
    assert_eq!(again["response_type"], "ephemeral");
    assert!(
        again["text"].as_str().unwrap_or("").contains("already received"),
        "{again}"
    );
    assert_eq!(h.incident_count().await, 1);

    let (status, _, ack) = h.send("slash-ack").await;
    assert_eq!(status, 200);
    assert_eq!(ack["response_type"], "in_channel");
    assert!(ack["text"].as_str().unwrap_or("").contains("Acknowledged"), "{ack}");
    h.stack.teardown().await;
}

#[tokio::test]
async fn plain_bodies_and_read_only_commands() {
    let h = harness().await;
    let (status, _, body) = h.send("slash-declare-plain-body").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["text"]
            .as_str()
            .unwrap_or("")
            .contains("Database connection timeout")
    );

    let (status, _, help) = h.send("slash-help").await;
    assert_eq!(status, 200);
    assert_eq!(help["response_type"], "ephemeral");
    let help_text = help.to_string();
    for verb in [
        "declare", "ack", "resolve", "close", "status", "list", "escalate", "assign", "update", "timeline",
    ] {
        assert!(help_text.contains(&format!("/im {verb}")), "help mentions {verb}");
    }
    let (status, _, list) = h.send("slash-list").await;
    assert_eq!(status, 200);
    assert_eq!(list["response_type"], "ephemeral");
    assert!(
        list["text"].as_str().unwrap_or("").contains("1 open incident"),
        "{list}"
    );
    assert_eq!(h.incident_count().await, 1, "reads store nothing");
    h.stack.teardown().await;
}

#[tokio::test]
async fn rejected_requests_change_nothing() {
    let h = harness().await;
    for (fixture, want_status, want_empty_body) in [
        ("slash-bad-signature", 401, true),
        ("slash-stale-timestamp", 401, true),
        ("slash-missing-headers", 401, true),
        ("slash-unknown-instance", 404, false),
        ("slash-not-form", 400, false),
        ("slash-too-large", 413, false),
    ] {
        let (status, text, body) = h.send(fixture).await;
        assert_eq!(status, want_status, "{fixture}: {text}");
        if want_empty_body {
            assert!(text.is_empty(), "{fixture}: a 401 says nothing");
        } else {
            let message = body["error"].as_str().unwrap_or("");
            assert!(!message.is_empty(), "{fixture}: a clear message, got {text}");
        }
    }
    let (_, _, not_form) = h.send("slash-not-form").await;
    assert!(
        not_form["error"].as_str().unwrap_or("").contains("form-encoded"),
        "{not_form}"
    );
    let (_, _, too_large) = h.send("slash-too-large").await;
    assert!(too_large["error"].as_str().unwrap_or("").contains("64 KiB"));
    let (_, _, unknown) = h.send("slash-unknown-instance").await;
    assert!(unknown["error"].as_str().unwrap_or("").contains("nobody"));

    assert_eq!(h.incident_count().await, 0);
    assert!(h.stack.drain_events().await.is_empty());
    h.stack.teardown().await;
}

#[tokio::test]
async fn wrong_commands_get_an_ephemeral_usage_reply() {
    let h = harness().await;
    let (status, _, unknown) = h.send("slash-unknown-command").await;
    assert_eq!(status, 200);
    assert_eq!(unknown["response_type"], "ephemeral");
    assert!(
        unknown["text"]
            .as_str()
            .unwrap_or("")
            .contains("`frobnicate` is not a command"),
        "{unknown}"
    );
    let (status, _, usage) = h.send("slash-bad-usage").await;
    assert_eq!(status, 200);
    assert_eq!(usage["response_type"], "ephemeral");
    let text = usage["text"].as_str().unwrap_or("");
    assert!(text.contains("`SEV-9` is not a severity"), "{text}");
    assert!(text.contains("Usage: /im escalate INCIDENT-ID SEV-1..4"), "{text}");
    let (_, _, ack_missing) = h.send("slash-ack").await;
    assert!(
        ack_missing["text"]
            .as_str()
            .unwrap_or("")
            .contains("INC-2025-001 was not found"),
        "{ack_missing}"
    );
    assert_eq!(h.incident_count().await, 0);
    h.stack.teardown().await;
}

#[tokio::test]
async fn events_api_url_verification_and_unhandled_events() {
    let h = harness().await;
    let (status, _, body) = h.send("url-verification").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    let (status, _, _) = h.send("event-unhandled").await;
    assert_eq!(status, 200, "an event we do not handle is acknowledged, not retried");
    h.stack.teardown().await;
}

#[tokio::test]
async fn a_rotated_signing_secret_is_picked_up_without_a_restart() {
    let h = harness_with_secret("the-old-signing-secret-0123456789abcdef").await;
    let (status, _, _) = h.send("slash-help").await;
    assert_eq!(status, 401, "signed with the new secret, which is not stored yet");
    // Rotate through a separate admin (as the CLI would): the running app's cache is stale.
    h.stack
        .directory()
        .update("demo", Some(json!({"signing_secret": FIXTURE_SECRET})), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, _, body) = h.send("slash-help").await;
    assert_eq!(status, 200, "{body}");
    h.stack.teardown().await;
}

#[tokio::test]
async fn the_generic_endpoint_events_ping_and_serve_slack_by_provider_name() {
    let h = harness().await;
    let (status, _, pong) = h.send_event("chatops-webhook/ping.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        pong,
        json!({"type": "pong", "provider": "demo", "platform": "slack", "status": "active"})
    );
    let (status, _, help) = h.send_event("chatops-webhook/slack-help.json").await;
    assert_eq!(status, 200, "{help}");
    assert!(
        help["text"].as_str().unwrap_or("").contains("Incident commands"),
        "{help}"
    );
    assert_eq!(h.incident_count().await, 0);
    h.stack.teardown().await;
}

#[test]
fn the_interaction_worker_event_carries_work() {
    let json = std::fs::read_to_string(im_tests::repo_root().join("events/interaction-worker/sqs-work.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    let messages = im_aws::lambda::messages(event);
    assert_eq!(messages.len(), 1);
    let work: im_core::work::Work = serde_json::from_str(&messages[0].body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        work.task,
        im_core::work::Task::WarRoom {
            incident: IncidentId::parse("INC-2025-001").expect("id")
        }
    );
    assert_eq!(work.requester.user.provider.as_deref(), Some("demo"));
}

/// A mention through the Events API against the emulator: acknowledged at once, understood by
/// the worker from the SQS queue, context kept in DynamoDB ("show me INC-…" then "ack it"), the
/// answer in the mention's thread, and Slack's retry of an event not acted on twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_are_understood_by_the_worker_with_context_in_dynamodb() {
    let slack = im_tests::fake_slack::FakeSlack::start().await;
    slack.with_token("xoxb-test").with_channels(&["C2147483705"]);
    slack.with_message("C2147483705", "1764237600.000301", "…");
    slack.with_message("C2147483705", "1764237600.000302", "…");
    let (h, gateway) = harness_with(FIXTURE_SECRET, Some(&slack.api_url)).await;
    let (status, _, _) = h.send("slash-declare").await;
    assert_eq!(status, 200);
    let (status, body, _) = h.send("event-app-mention-status").await;
    assert_eq!(
        (status, body.as_str()),
        (200, ""),
        "acknowledged at once, nothing in the answer"
    );
    // Slack's retry of the same event while it is being handled: acknowledged, not queued again.
    let (status, _, _) = h.send("event-app-mention-status").await;
    assert_eq!(status, 200);
    assert_eq!(
        h.stack.run_queued_work(&gateway).await,
        1,
        "one piece of work for the event"
    );
    let thread = slack.thread("C2147483705", "1764237600.000301");
    assert_eq!(thread.len(), 1, "{thread:?}");
    assert!(thread[0].text.contains("INC-2025-001"), "{thread:?}");
    let (status, _, _) = h.send("event-app-mention-ack-it").await;
    assert_eq!(status, 200);
    assert_eq!(h.stack.run_queued_work(&gateway).await, 1);
    let id = im_core::IncidentId::new(2025, 1);
    let incident = h
        .stack
        .store()
        .get(&id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("declared");
    assert_eq!(
        incident.status,
        im_core::Status::Acknowledged,
        "\"it\" was the incident just shown"
    );
    let timeline = h
        .stack
        .store()
        .timeline(&id, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        timeline
            .iter()
            .any(|e| e.event_type == "chatops.acknowledge" && e.data["command"] == "ack it"),
        "{timeline:?}"
    );
    assert_eq!(slack.thread("C2147483705", "1764237600.000302").len(), 1);
    h.stack.teardown().await;
}
