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
            json!({"signing_secret": SECRET, "bot_token": "xoxb-x", "rbac": {"default_role": "responder"}}),
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

    let id = p.declare("--sev SEV-1 --service checkout \"Checkout down\"").await;
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

fn lines(probes: &[im_core::probe::Probe]) -> Vec<String> {
    probes.iter().map(|p| p.line()).collect()
}

/// `im chatops test` asks Slack itself: the token, its scopes, the default channel; and says
/// what Slack cannot (the slash command) from the requests that arrived. Each failure is told
/// apart: bad token, missing scope, unknown channel, no signing secret, Slack unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_checks_a_slack_provider_through_its_api() {
    use im_core::probe::Verdict;
    use im_tests::pipeline::{BOT_TOKEN, Pipeline, SIGNING_SECRET};
    let p = Pipeline::start(false).await;
    let sender = im::send::Sender::new(p.clients.clone());
    let probes = sender.test("acme").await.expect("tested");
    assert_eq!(
        lines(&probes)[..3],
        [
            "✓ Connected to Slack workspace (Fake Workspace, as @incident-bot)".to_string(),
            "✓ Bot permissions verified (8 scopes)".to_string(),
            "✓ Default channel accessible (#c_general)".to_string(),
        ],
        "{probes:#?}"
    );
    assert_eq!(probes[3].verdict, Verdict::Unknown);
    assert!(probes[3].detail.starts_with("not seen yet"), "{}", probes[3].line());

    // A signed request through the webhook: now it has been seen.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = im::serve::app(im::serve::gateway(p.clients.clone(), clock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let target = SlashTarget {
        url: signed::endpoint(&format!("http://{addr}"), "acme"),
        signing_secret: SIGNING_SECRET.into(),
        user: "U0TESTER".into(),
        channel: "C0TEST".into(),
        team_id: "T0FAKE".into(),
        api_app_id: None,
    };
    let help = signed::send(&im::http_client().expect("client"), &target, "help")
        .await
        .expect("sent");
    assert_eq!(help.status, 200);
    let probes = sender.test("acme").await.expect("tested");
    assert_eq!(
        probes[3].line(),
        "✓ Slash commands configured (a signed request arrived in the last 30 days)"
    );

    // A token without pins:write and channels:manage.
    p.slack.with_scopes(&[
        "chat:write",
        "commands",
        "app_mentions:read",
        "channels:read",
        "users:read",
    ]);
    let probes = sender.test("acme").await.expect("tested");
    assert_eq!(probes[1].verdict, Verdict::Fail);
    assert!(
        probes[1].detail.contains("missing scopes: channels:manage, pins:write"),
        "{}",
        probes[1].line()
    );
    assert!(probes[2].detail.contains("not in") || probes[2].verdict == Verdict::Pass);
    p.slack.with_scopes(im_tests::fake_slack::FULL_SCOPES);

    let directory = p.stack.directory();
    let add = |name: &'static str, config: serde_json::Value| {
        let directory = &directory;
        async move { directory.add(name, "slack", config).await.expect("added") }
    };
    add(
        "revoked",
        json!({"bot_token": "xoxb-revoked", "signing_secret": SIGNING_SECRET, "default_channel": "C_GENERAL"}),
    )
    .await;
    let probes = sender.test("revoked").await.expect("tested");
    assert!(
        probes[0]
            .line()
            .starts_with("✗ Connected to Slack workspace — bad token"),
        "{}",
        probes[0].line()
    );
    assert!(
        probes[1..3].iter().all(|p| p.verdict == Verdict::Unknown),
        "{probes:#?}"
    );

    add(
        "lost",
        json!({"bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET, "default_channel": "C_NOPE"}),
    )
    .await;
    let probes = sender.test("lost").await.expect("tested");
    assert!(
        probes[2]
            .line()
            .starts_with("✗ Default channel accessible — C_NOPE: unknown channel"),
        "{}",
        probes[2].line()
    );

    add(
        "doc-example",
        json!({"bot_token": BOT_TOKEN, "default_channel": "C_GENERAL", "enable_slash_commands": true}),
    )
    .await;
    let probes = sender.test("doc-example").await.expect("tested");
    let last = probes.last().expect("a line");
    assert_eq!(last.verdict, Verdict::Fail);
    assert!(last.detail.starts_with("signing_secret is not set"), "{}", last.line());

    let mut offline = p.stack.config.clone();
    offline.delivery.slack_api_url = "http://127.0.0.1:9/api".into();
    let unreachable = im::send::Sender::new(Arc::new(im_aws::AwsClients::new(offline)));
    let probes = unreachable.test("acme").await.expect("tested");
    assert!(
        probes[0].detail.starts_with("platform unreachable"),
        "{}",
        probes[0].line()
    );
    let missing = sender.test("nobody").await.expect_err("unknown provider");
    assert!(missing.0.contains("not found"), "{}", missing.0);
    p.stack.teardown().await;
}

/// The same for Discord: token, default channel and /im's registration; permissions are said
/// to be unknowable rather than guessed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_checks_a_discord_provider_through_its_api() {
    use im_core::probe::Verdict;
    use im_tests::discord_under_test::{APPLICATION, DiscordUnderTest, GUILD, TOKEN, public_key_hex};
    let mut stack = TestStack::new().await;
    let discord = DiscordUnderTest::start().await;
    discord.fake.with_channel("800", "incidents");
    stack.config.delivery.discord_api_url = discord.fake.api_url.clone();
    stack.clients = Arc::new(im_aws::AwsClients::new(stack.config.clone()));
    let directory = stack.directory();
    let added = directory
        .add(
            "team-discord",
            "discord",
            json!({"bot_token": TOKEN, "application_id": APPLICATION, "public_key": public_key_hex(),
                   "guild_id": GUILD, "default_channel": "800"}),
        )
        .await
        .expect("added");
    let sender = im::send::Sender::new(stack.clients.clone());
    let probes = sender.test("team-discord").await.expect("tested");
    assert_eq!(lines(&probes)[0], "✓ Connected to Discord (as incident-bot)");
    assert_eq!(probes[1].verdict, Verdict::Unknown);
    assert_eq!(lines(&probes)[2], "✓ Default channel accessible (#incidents)");
    assert_eq!(probes[3].verdict, Verdict::Fail, "{}", probes[3].line());
    assert!(probes[3].detail.contains("im chatops register-commands team-discord"));
    im::register_discord(&stack.config, &directory, &added, None).await;
    let probes = sender.test("team-discord").await.expect("tested");
    assert_eq!(lines(&probes)[3], "✓ Slash commands configured (/im is registered)");
    stack.teardown().await;
}

/// `channels`, `status` and the routing in `config`: what the bot can see and post to (every
/// page of Slack's list), every provider at a glance, and where each severity goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_status_and_routing_tell_an_operator_where_things_go() {
    use im_core::probe::Verdict;
    use im_tests::pipeline::{CHANNELS, Pipeline};
    let p = Pipeline::start(false).await;
    p.slack.without_bot("C_MINOR");
    p.slack.with_scopes(&["chat:write", "commands", "channels:read"]);
    let sender = im::send::Sender::new(p.clients.clone());
    let channels = sender.channels("acme").await.expect("listed");
    assert_eq!(channels.len(), CHANNELS.len(), "every page: {channels:#?}");
    let minor = channels.iter().find(|c| c.id == "C_MINOR").expect("C_MINOR");
    assert_eq!(minor.can_post, Verdict::Fail, "not a member, no chat:write.public");
    assert!(minor.detail.contains("/invite"));
    assert!(
        channels
            .iter()
            .filter(|c| c.id != "C_MINOR")
            .all(|c| c.can_post == Verdict::Pass)
    );
    p.slack.with_scopes(im_tests::fake_slack::FULL_SCOPES);
    let channels = sender.channels("acme").await.expect("listed");
    assert!(
        channels.iter().all(|c| c.can_post == Verdict::Pass),
        "chat:write.public reaches public channels"
    );

    p.stack
        .directory()
        .add(
            "half-done",
            "slack",
            json!({"bot_token": "xoxb-x", "default_channel": "C1"}),
        )
        .await
        .expect("added");
    let rows = sender.status().await.expect("status");
    let row = |name: &str| rows.iter().find(|r| r["provider"] == name).cloned().expect("row");
    assert_eq!(row("acme")["inbound"], "ready");
    assert_eq!(row("half-done")["inbound"], "needs signing_secret");
    assert_eq!(row("acme")["requests_seen"], false);

    let acme = p.stack.directory().provider("acme").await.expect("read").expect("acme");
    let routing = im::send::Sender::routing(&acme);
    assert_eq!(
        routing["SEV-1"]["declared"],
        json!(["C_CRIT (severity)", "C_EXEC (management)"])
    );
    assert_eq!(
        routing["SEV-2"]["sla_breach"],
        json!(["C_MAJOR (severity)", "C_SLA (sla_breach)", "C_EXEC (management)"])
    );
    assert_eq!(routing["SEV-4"]["declared"], json!(["C_GENERAL (severity)"]), "default");
    assert_eq!(
        routing["SEV-3"]["resolved"],
        json!(["C_MINOR (severity)", "<declared here> (home)"])
    );
    assert_eq!(
        routing["SEV-4"]["sla_breach"],
        json!(["C_GENERAL (severity)", "C_SLA (sla_breach)", "C_EXEC (management)"]),
        "a breach reaches management whatever the severity"
    );
    let mut with_services = (*acme).clone();
    with_services
        .config
        .service_channels
        .insert("payments".into(), "C_PAY".into());
    let routing = im::send::Sender::routing(&with_services);
    assert_eq!(
        routing["services"]["payments"],
        json!(["C_MINOR (severity)", "C_PAY (service)"]),
        "a payments incident at the default severity"
    );
    p.stack.teardown().await;
}

/// `im timeline`: one incident's entries, or the newest across incidents through the by-day
/// index, newest first, walking back over days; `--source` by interface, platform or provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeline_reads_recent_entries_across_incidents_by_day() {
    use im_core::memory::FixedClock;
    use im_tests::pipeline::Pipeline;
    let p = Pipeline::start(false).await;
    // An incident declared yesterday (its entry is in yesterday's partition).
    let yesterday = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let earlier = im_core::IncidentService::new(
        im_aws::DynamoStore::new(p.clients.clone()),
        im_aws::SqsPublisher::new(p.clients.clone()),
        Arc::new(FixedClock::at(yesterday)) as Arc<dyn Clock>,
    );
    let inv = im_core::Invocation::chat(
        im_core::Actor {
            platform: "slack".into(),
            provider: "acme".into(),
            user: im_core::UserRef::new("U0OLD", None),
            channel: Some("C_ORIGIN".into()),
        },
        "/im",
        "declare Yesterday's outage",
        None,
    );
    let policy = im_core::AccessPolicy::default();
    let settings = im_core::Settings {
        policy: &policy,
        role: im_core::Role::Responder,
        default_severity: im_core::Severity::Sev3,
        extra_help: &[],
    };
    let command = im_core::parse("declare Yesterday's outage").expect("parsed");
    let old = earlier.execute(&inv, &settings, command).await;
    let old_id = old.event.expect("declared").incident.id.to_string();
    let first = p.declare("--sev SEV-2 Checkout errors").await;
    let second = p.declare("--sev SEV-3 Search slow").await;
    p.run("U0BOB", &format!("ack {first} \"Looking\"")).await;

    let config = p.stack.config.clone();
    let recent = im::timeline(config.clone(), None, Some("chatops"), 20)
        .await
        .expect("recent");
    let seen: Vec<(String, &str)> = recent
        .iter()
        .map(|(id, e)| (id.to_string(), e.event_type.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (first.clone(), "chatops.acknowledge"),
            (second.clone(), "chatops.declare"),
            (first.clone(), "chatops.declare"),
            (old_id.clone(), "chatops.declare"),
        ],
        "newest first, yesterday's after today's"
    );
    let limited = im::timeline(config.clone(), None, None, 2).await.expect("limited");
    assert_eq!(limited.len(), 2);
    let none = im::timeline(config.clone(), None, Some("slack:other"), 20)
        .await
        .expect("filtered");
    assert!(none.is_empty());
    let acme = im::timeline(config.clone(), None, Some("slack:acme"), 20)
        .await
        .expect("filtered");
    assert_eq!(acme.len(), 4);
    let one = im::timeline(config.clone(), Some(&first), None, 20)
        .await
        .expect("one incident");
    let types: Vec<&str> = one.iter().map(|(_, e)| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["chatops.declare", "chatops.acknowledge"],
        "oldest first for one incident"
    );
    let missing = im::timeline(config.clone(), Some("INC-1999-001"), None, 20)
        .await
        .expect_err("unknown");
    assert!(missing.0.contains("not found"), "{}", missing.0);
    let bad = im::timeline(config, Some("nope"), None, 20).await.expect_err("bad id");
    assert!(bad.0.contains("not an incident id"), "{}", bad.0);
    p.stack.teardown().await;
}

/// Every inbound request is recorded (provider, kind, verdict, latency) and never its body:
/// `webhooks --recent` lists them newest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_webhooks_show_each_request_and_never_its_body() {
    let (stack, mut target, base) = setup().await;
    let http = im::http_client().expect("client");
    let planted = "PLANTED-body-text-never-kept";
    signed::send(&http, &target, &format!("declare {planted}"))
        .await
        .expect("sent");
    target.signing_secret = "a-wrong-signing-secret-0123456789abcdef".into();
    let refused = signed::send(&http, &target, "help").await.expect("sent");
    assert_eq!(refused.status, 401);
    let unknown = http
        .post(format!("{base}/chatops/slack/nobody"))
        .body("token=x")
        .send()
        .await
        .expect("sent");
    assert_eq!(unknown.status(), 404);

    let log = im_aws::usage::DynamoUsage::new(stack.clients.clone());
    let records = log
        .recent_requests(time::OffsetDateTime::now_utc().date(), 10)
        .await
        .expect("records");
    let seen: Vec<(&str, &str, u16)> = records
        .iter()
        .map(|r| (r.provider.as_str(), r.kind.as_str(), r.status))
        .collect();
    assert_eq!(
        seen,
        [
            ("nobody", "", 404),
            ("company-slack", "", 401),
            ("company-slack", "command", 200)
        ],
        "newest first: {records:#?}"
    );
    assert_eq!(records[0].verdict, "no slack integration named `nobody`");
    assert_eq!(records[1].verdict, "the signature does not match");
    assert_eq!(
        (records[2].verdict.as_str(), records[2].platform.as_str()),
        ("answered", "slack")
    );
    let text = serde_json::to_string(&records).expect("json");
    assert!(!text.contains(planted), "no body is kept: {text}");
    stack.teardown().await;
}

/// `im chatops health`: credentials, the last delivery and the week's counts, dead letters for
/// this provider (with what to do), the backlog.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_reports_deliveries_dead_letters_and_backlog() {
    use im_core::probe::Verdict;
    use im_tests::pipeline::{Pipeline, synthetic_event};
    let p = Pipeline::start(true).await;
    let sender = im::send::Sender::new(p.clients.clone());
    let before = sender.health("acme").await.expect("health");
    assert_eq!(
        before[0].line(),
        "✓ Credentials valid (Fake Workspace, as @incident-bot)"
    );
    assert_eq!(
        before[1].verdict,
        Verdict::Unknown,
        "no deliveries yet: {}",
        before[1].line()
    );
    assert_eq!(before[2].line(), "✓ Dead letters (none)");

    p.enqueue(&[
        p.job(&synthetic_event(1, im_core::Severity::Sev3), "C_MINOR"),
        p.job(&synthetic_event(2, im_core::Severity::Sev3), "C_GONE"),
    ])
    .await;
    p.drain(1, std::time::Duration::from_secs(60)).await;
    let after = sender.health("acme").await.expect("health");
    assert_eq!(after[1].verdict, Verdict::Pass, "{}", after[1].line());
    assert!(
        after[1].detail.ends_with("1 delivered, 1 failed in 7 days"),
        "{}",
        after[1].line()
    );
    assert!(after[1].detail.starts_with("last "), "{}", after[1].line());
    assert_eq!(after[2].verdict, Verdict::Fail);
    assert!(
        after[2]
            .detail
            .starts_with("1 waiting (e.g. channel_not_found in C_GONE)"),
        "{}",
        after[2].line()
    );
    assert_eq!(
        after[3].line(),
        "✓ Delivery backlog (0 message(s) waiting, all providers)"
    );
    let missing = sender.health("nobody").await.expect_err("unknown");
    assert!(missing.0.contains("not found"));
    p.stack.teardown().await;
}

/// `test-notifications`: a TEST card in every routed channel, edited, then deleted (nothing left
/// behind); a channel the bot cannot post in is a ✗ naming why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_notifications_post_edit_and_delete_in_every_routed_channel() {
    use im_core::probe::Verdict;
    use im_tests::pipeline::Pipeline;
    let p = Pipeline::start(true).await;
    p.slack.without_bot("C_SLA");
    let sender = im::send::Sender::new(p.clients.clone());
    let probes = sender.test_notifications("acme").await.expect("ran");
    let channels: Vec<&str> = probes.iter().map(|p| p.check.as_str()).collect();
    assert_eq!(
        channels,
        ["C_CRIT", "C_EXEC", "C_SLA", "C_MAJOR", "C_MINOR", "C_GENERAL"]
    );
    for probe in &probes {
        if probe.check == "C_SLA" {
            assert_eq!(probe.verdict, Verdict::Fail);
            assert!(
                probe.detail.starts_with("posting failed: refused: not_in_channel"),
                "{}",
                probe.line()
            );
        } else {
            assert_eq!(probe.line(), format!("✓ {} (posted, edited, deleted)", probe.check));
        }
    }
    assert_eq!(p.slack.calls("chat.update").len(), 5, "each posted card was edited");
    assert!(p.slack.all_messages().is_empty(), "nothing left behind");
    p.stack.teardown().await;
}

/// `interact-test`: the button goes to the default channel; a click signed as Slack signs it,
/// through the real webhook, is seen within the wait; a forged click is refused and never
/// counts; no click means ✗ when the wait ends. The same for a Discord provider trusting the
/// local key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interact_test_waits_for_a_verified_click() {
    use im_tests::pipeline::Pipeline;
    let p = Pipeline::start(true).await;
    let app = im::serve::app(p.gateway());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let http = im::http_client().expect("client");
    let sender = im::send::Sender::new(p.clients.clone());
    let wait = std::time::Duration::from_secs(5);

    let (message, nonce) = sender.post_test_button("acme", 120).await.expect("posted");
    let posted = p.slack.top_level("C_GENERAL").pop().expect("the button");
    assert!(posted.blocks.to_string().contains("im:test"), "{posted:?}");
    let acme = sender.directory.provider("acme").await.expect("read").expect("acme");
    let secrets = im_core::directory::ProviderSource::secrets(&sender.directory, &acme)
        .await
        .expect("secrets");
    // A click signed with another secret is refused and does not count.
    let forged = im_core::provider::ProviderSecrets::from_map(
        [(
            "signing_secret".to_string(),
            "not-the-signing-secret-0123456789abcdef".to_string(),
        )]
        .into(),
    );
    let status = im::interact::click(&http, &base, &acme, &forged, &message, &nonce)
        .await
        .expect("sent");
    assert_eq!(status, 401);
    assert!(
        !sender
            .wait_for_click("acme", &nonce, std::time::Duration::from_secs(1))
            .await
            .expect("waited")
    );
    let status = im::interact::click(&http, &base, &acme, &secrets, &message, &nonce)
        .await
        .expect("sent");
    assert_eq!(status, 200);
    assert!(
        sender.wait_for_click("acme", &nonce, wait).await.expect("waited"),
        "the click was seen"
    );
    sender.remove_message("acme", &message).await.expect("removed");
    assert!(
        p.slack.top_level("C_GENERAL").iter().all(|m| m.ts != message.id),
        "cleaned up"
    );

    // Discord, with a provider that trusts the local key pair.
    let discord = im_tests::fake_discord::FakeDiscord::start().await;
    discord
        .with_token("local-discord-token")
        .with_channel("800", "incidents");
    let mut config = p.stack.config.clone();
    config.delivery.discord_api_url = discord.api_url.clone();
    let clients = Arc::new(im_aws::AwsClients::new(config));
    let local_key = hex::encode(im_discord::verify::local_signing_key().verifying_key().to_bytes());
    im_aws::ProviderDirectory::new(clients.clone())
        .add(
            "local-discord",
            "discord",
            json!({"bot_token": "local-discord-token", "public_key": local_key, "application_id": "900100",
                   "guild_id": "700100", "default_channel": "800", "rbac": {"default_role": "responder"}}),
        )
        .await
        .expect("added");
    let dgw = Arc::new(im_webhook::aws::gateway(
        clients.clone(),
        Arc::new(SystemClock),
        im_platforms::registry(clients.config()),
    ));
    let dapp = im::serve::app(dgw);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dbase = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, dapp).await;
    });
    let dsender = im::send::Sender::new(clients.clone());
    let (dmessage, dnonce) = dsender.post_test_button("local-discord", 120).await.expect("posted");
    let provider = dsender
        .directory
        .provider("local-discord")
        .await
        .expect("read")
        .expect("provider");
    let dsecrets = im_core::directory::ProviderSource::secrets(&dsender.directory, &provider)
        .await
        .expect("secrets");
    let status = im::interact::click(&http, &dbase, &provider, &dsecrets, &dmessage, &dnonce)
        .await
        .expect("sent");
    assert_eq!(status, 200);
    assert!(
        dsender
            .wait_for_click("local-discord", &dnonce, wait)
            .await
            .expect("waited")
    );
    // A provider that does not trust the local key cannot be clicked locally.
    let (_, other_nonce) = sender.post_test_button("acme", 1).await.expect("posted");
    assert!(
        !sender
            .wait_for_click("acme", &other_nonce, std::time::Duration::from_millis(600))
            .await
            .expect("waited")
    );
    p.stack.teardown().await;
}

/// `test-commands` on Discord: the whole lifecycle as typed `/im` interactions, signed with the
/// local key pair for a provider that trusts it, through the real webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_commands_walk_the_lifecycle_on_discord() {
    let mut stack = TestStack::new().await;
    let discord = im_tests::fake_discord::FakeDiscord::start().await;
    discord
        .with_token("local-discord-token")
        .with_channel("800", "incidents");
    stack.config.delivery.discord_api_url = discord.api_url.clone();
    stack.clients = Arc::new(im_aws::AwsClients::new(stack.config.clone()));
    let local_key = hex::encode(im_discord::verify::local_signing_key().verifying_key().to_bytes());
    stack
        .directory()
        .add(
            "local-discord",
            "discord",
            json!({"bot_token": "local-discord-token", "public_key": local_key, "application_id": "900100",
                   "guild_id": "700100", "default_channel": "800", "rbac": {"default_role": "responder"}}),
        )
        .await
        .expect("added");
    let base = serve(&stack).await;
    let target = im::test_commands::DiscordTarget {
        url: format!("{base}/chatops/discord/local-discord"),
        application_id: "900100".into(),
        guild_id: Some("700100".into()),
        channel: "800".into(),
        user: "100000000000000002".into(),
    };
    let checks = im::test_commands::run_discord(&im::http_client().expect("client"), &target, true).await;
    for check in &checks {
        assert!(check.ok, "{}", check.line());
    }
    assert_eq!(
        checks.len(),
        11,
        "every step but the usage error, which typed options cannot express"
    );
    let id = im_core::IncidentId::new(time::OffsetDateTime::now_utc().year(), 1);
    let incident = stack.store().get(&id).await.expect("read").expect("declared");
    assert_eq!(incident.status, im_core::Status::Closed);
    assert_eq!(incident.origin.platform, "discord");
    stack.teardown().await;
}
