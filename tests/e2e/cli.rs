//! `im serve`'s app on a real socket, driven by `im chatops test-commands` logic.

use std::sync::Arc;

use im::signed::{self, SlashTarget};
use im::test_commands;
use im_core::ports::IncidentStore;
use im_core::{Clock, SystemClock};
use im_tests::TestStack;
use serde_json::json;

const SECRET: &str = "cli-test-signing-secret-0123456789abcdef";

/// `im serve`'s app (webhooks and `/dashboard`) on a real socket.
async fn serve(stack: &TestStack) -> String {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let usage: Arc<dyn im_core::usage::UsageLog> = Arc::new(im_aws::usage::DynamoUsage::new(stack.clients.clone()));
    let app = im::serve::app(im::serve::gateway(stack.clients.clone(), clock)).merge(im::dashboard::router(usage));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A stack with a Slack provider `company-slack`, served; the target signs as its user.
pub(crate) async fn setup() -> (TestStack, SlashTarget, String) {
    let stack = TestStack::new().await;
    stack
        .directory()
        .add(
            "company-slack",
            "slack",
            json!({"signing_secret": SECRET, "bot_token": "xoxb-x"}),
        )
        .await
        .expect("provider added");
    let base = serve(&stack).await;
    let target = SlashTarget {
        url: signed::endpoint(&base, "company-slack"),
        signing_secret: SECRET.into(),
        user: "U0TESTER".into(),
        channel: "C0TEST".into(),
        team_id: "T0TEST".into(),
        api_app_id: None,
    };
    (stack, target, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_commands_walk_the_whole_lifecycle_locally() {
    let (stack, target, _) = setup().await;
    let http = im::http_client().expect("client");
    let checks = test_commands::run(&http, &target, true).await;
    for check in &checks {
        assert!(check.ok, "{}", check.line());
    }
    assert_eq!(checks.len(), 12);
    let id = im_core::IncidentId::new(time::OffsetDateTime::now_utc().year(), 1);
    let incident = stack.store().get(&id).await.expect("read").expect("declared");
    assert!(incident.title.starts_with("[TEST]"));
    assert_eq!(incident.status, im_core::Status::Closed);
    assert_eq!(incident.assignee.map(|a| a.id), Some("U0IMTEST".to_string()));
    assert_eq!(stack.store().timeline(&id, 50).await.expect("timeline").len(), 7);
    stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_mode_touches_only_one_test_incident() {
    let (stack, target, _) = setup().await;
    let http = im::http_client().expect("client");
    let checks = test_commands::run(&http, &target, false).await;
    assert!(checks.iter().all(|c| c.ok), "{:#?}", checks);
    let id = im_core::IncidentId::new(time::OffsetDateTime::now_utc().year(), 1);
    let types: Vec<String> = stack
        .store()
        .timeline(&id, 50)
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, ["chatops.declare", "chatops.resolve", "chatops.close"]);
    stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_shows_up_as_failed_checks() {
    let (stack, mut target, _) = setup().await;
    target.signing_secret = "wrong".into();
    let http = im::http_client().expect("client");
    let checks = test_commands::run(&http, &target, false).await;
    assert!(checks.iter().all(|c| !c.ok));
    assert!(checks[0].detail.contains("HTTP 401"), "{}", checks[0].line());
    assert!(stack.store().list_active(10).await.expect("list").is_empty());
    stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_slack_provider_is_bound_to_the_workspace_and_app_of_its_token() {
    let slack = im_tests::fake_slack::FakeSlack::start().await;
    slack.with_token("xoxb-bind");
    let mut stack = TestStack::new().await;
    stack.config.delivery.slack_api_url = slack.api_url.clone();
    stack.clients = Arc::new(im_aws::AwsClients::new(stack.config.clone()));
    let directory = stack.directory();
    let added = directory
        .add(
            "bound",
            "slack",
            json!({"signing_secret": SECRET, "bot_token": "xoxb-bind"}),
        )
        .await
        .expect("added");
    let line = im::bind_slack(&stack.config, &directory, &added).await;
    assert!(line.contains("workspace T0FAKE and app A0FAKE"), "{line}");
    let stored = directory
        .store()
        .get_provider("bound")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(stored.config.platform_key("team_id"), Some("T0FAKE"));
    assert_eq!(stored.config.platform_key("api_app_id"), Some("A0FAKE"));

    let revoked = directory
        .add(
            "unbound",
            "slack",
            json!({"signing_secret": SECRET, "bot_token": "xoxb-revoked"}),
        )
        .await
        .expect("added");
    let line = im::bind_slack(&stack.config, &directory, &revoked).await;
    assert!(line.contains("not bound") && line.contains("invalid_auth"), "{line}");
    let stored = directory
        .store()
        .get_provider("unbound")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(stored.config.platform_key("team_id"), None);
    stack.teardown().await;
}

/// `im chatops add discord …` registers `/im` in the provider's server right away (what `add`
/// prints), again on demand and for another server, and says how to retry when Discord refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_discord_provider_registers_im_in_its_server() {
    use im_tests::discord_under_test::{APPLICATION, DiscordUnderTest, GUILD, TOKEN, public_key_hex};
    let stack = TestStack::new().await;
    let discord = DiscordUnderTest::start().await;
    let mut config = stack.config.clone();
    config.delivery.discord_api_url = discord.fake.api_url.clone();
    let directory = stack.directory();
    let provider = |token: &str| json!({"bot_token": token, "application_id": APPLICATION, "public_key": public_key_hex(), "guild_id": GUILD});
    let added = directory
        .add("team-discord", "discord", provider(TOKEN))
        .await
        .expect("added");
    let line = im::register_discord(&config, &directory, &added, None).await;
    assert!(line.starts_with("✓ Registered /im ("), "{line}");
    assert!(line.contains(&format!("in server {GUILD}")), "{line}");
    let (count, lists) = discord.fake.registrations();
    assert_eq!(count, 1);
    let subcommands = lists[&format!("{APPLICATION}/{GUILD}")][0]["options"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert!(line.contains(&format!("({subcommands} subcommands)")), "{line}");
    // Again (idempotent: the list is overwritten), and in another server.
    im::register_discord(&config, &directory, &added, None).await;
    let other = im::register_discord(&config, &directory, &added, Some("701")).await;
    assert!(other.contains("in server 701"), "{other}");
    let (count, lists) = discord.fake.registrations();
    assert_eq!((count, lists.len()), (3, 2));
    // A token Discord refuses: the provider stays, and the line says how to retry.
    let refused = directory
        .add("bad-discord", "discord", provider("not-the-token"))
        .await
        .expect("added");
    let line = im::register_discord(&config, &directory, &refused, None).await;
    assert!(line.starts_with("✗ Could not register /im with Discord"), "{line}");
    assert!(line.contains("im chatops register-commands bad-discord"), "{line}");
    assert!(directory.provider("bad-discord").await.expect("read").is_some());
    stack.teardown().await;
}

/// `im chatops notify | message | broadcast` through the providers' own clients: a stored
/// incident's card to every channel its state routes to (recorded on its timeline), a TEST card
/// for an id that is not stored (nothing stored), plain text that stays text, and a broadcast
/// that reports each provider, failures included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_notify_message_and_broadcast() {
    use im_tests::pipeline::Pipeline;
    let p = Pipeline::start(false).await;
    // The documentation's own example: no signing secret. Notifications work; inbound waits.
    let directory = p.stack.directory();
    let doc_example = directory
        .add(
            "company-slack",
            "slack",
            json!({"bot_token": im_tests::pipeline::BOT_TOKEN, "default_channel": "C_GENERAL",
                   "enable_slash_commands": true, "enable_notifications": true,
                   "notification_channels": {"SEV-1": "C_CRIT", "SEV-2": "C_MAJOR", "SEV-3": "C_MINOR", "SEV-4": "C_GENERAL"}}),
        )
        .await
        .expect("added without a signing secret");
    assert_eq!(
        directory.inbound_gaps(&doc_example).await.expect("gaps"),
        vec!["signing_secret"]
    );
    directory
        .add("no-default", "slack", json!({"bot_token": "xoxb-unknown-token"}))
        .await
        .expect("added");

    let id = p
        .declare("declare --sev SEV-1 --service checkout \"Checkout down\"")
        .await;
    let sender = im::send::Sender::new(p.clients.clone());
    let (sent, stored) = sender.notify("acme", &id).await.expect("notified");
    assert!(stored);
    let channels: Vec<&str> = sent.iter().map(|s| s.channel.as_str()).collect();
    assert_eq!(
        channels,
        ["C_CRIT", "C_EXEC"],
        "severity channel and management for SEV-1"
    );
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    assert!(
        p.slack
            .top_level("C_CRIT")
            .iter()
            .any(|m| m.text.contains("Checkout down"))
    );
    let timeline = p
        .stack
        .store()
        .timeline(&im_core::IncidentId::parse(&id).expect("id"), 20)
        .await
        .expect("timeline");
    let entry = timeline
        .iter()
        .find(|e| e.event_type == "chatops.notify")
        .expect("chatops.notify recorded");
    assert_eq!(entry.data["channels"], json!(["C_CRIT", "C_EXEC"]));
    assert_eq!(entry.source, "slack:acme");

    let before = p.stack.store().list_active(50).await.expect("list").len();
    let (test, stored) = sender.notify("acme", "INC-12345").await.expect("test card");
    assert!(!stored);
    assert_eq!(test[0].channel, "C_GENERAL");
    let card = p.slack.top_level("C_GENERAL").pop().expect("posted");
    assert!(
        card.text.contains("[TEST]") && card.text.contains("INC-12345"),
        "{}",
        card.text
    );
    assert_eq!(
        p.stack.store().list_active(50).await.expect("list").len(),
        before,
        "nothing stored"
    );

    let message = sender
        .message("acme", "Maintenance at 10:00 <!channel> <https://evil.example|click>")
        .await
        .expect("sent");
    assert!(message.result.is_ok(), "{message:?}");
    let posted = p.slack.top_level("C_GENERAL").pop().expect("posted");
    assert!(
        !posted.text.contains("<!channel>"),
        "user text is data: {}",
        posted.text
    );
    assert!(!posted.text.contains("<https://evil.example|"), "{}", posted.text);
    let missing = sender
        .message("no-default", "hello")
        .await
        .expect_err("no default channel");
    assert!(missing.0.contains("has no default_channel"), "{}", missing.0);
    let unknown = sender.message("nobody", "hello").await.expect_err("unknown");
    assert!(unknown.0.contains("not found"), "{}", unknown.0);

    let mut seen = Vec::new();
    let all = sender
        .broadcast("Planned maintenance window: 2AM-4AM EST", |s| seen.push(s.line()))
        .await
        .expect("broadcast");
    assert_eq!(all.len(), 3, "every active provider: {seen:?}");
    assert_eq!(seen.len(), 3, "a line as each completes");
    let failed: Vec<&str> = all
        .iter()
        .filter(|s| s.result.is_err())
        .map(|s| s.provider.as_str())
        .collect();
    assert_eq!(failed, ["no-default"]);
    assert_eq!(
        p.slack
            .top_level("C_GENERAL")
            .iter()
            .filter(|m| m.text.contains("Planned maintenance"))
            .count(),
        2,
        "acme and company-slack share the channel"
    );
    p.stack.teardown().await;
}
