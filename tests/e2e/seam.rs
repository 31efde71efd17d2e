//! The seam's own promises: the generic endpoint for any provider and its ping, slow clicks
//! answered inside the deadline and finished once, mentions, and the security gates that are
//! Slack-specific in how they are sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use im_core::action::{ActionKey, ActionRef};
use im_core::chat::BoxFuture;
use im_core::directory::{ProviderSource, ResolvedProvider};
use im_core::inbound::Platforms;
use im_core::memory::{MemoryProviders, MemoryPublisher, MemoryStore};
use im_core::ports::StoreError;
use im_core::provider::{Provider, ProviderSecrets};
use im_core::{IncidentId, Status};
use im_tests::echo_fake::EchoUnderTest;
use im_tests::slack_under_test::SlackUnderTest;
use im_tests::world::{UnderTest, World, ping};
use im_webhook::Via;
use serde_json::{Value, json};

fn act(key: ActionKey, id: &str) -> ActionRef {
    ActionRef::new(key, IncidentId::parse(id).expect("id"), None)
}

/// Counts secret reads, to show what a ping does not touch.
struct Counting {
    inner: Arc<MemoryProviders>,
    secret_reads: AtomicUsize,
}

impl ProviderSource for Counting {
    fn provider<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Arc<Provider>>, StoreError>> {
        self.inner.provider(name)
    }
    fn secrets<'a>(&'a self, provider: &'a Provider) -> BoxFuture<'a, Result<Arc<ProviderSecrets>, StoreError>> {
        self.secret_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.secrets(provider)
    }
    fn refresh_secrets<'a>(
        &'a self,
        provider: &'a Provider,
    ) -> BoxFuture<'a, Result<Option<Arc<ProviderSecrets>>, StoreError>> {
        self.secret_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.refresh_secrets(provider)
    }
    fn all(&self) -> BoxFuture<'_, Result<Vec<Arc<Provider>>, StoreError>> {
        self.inner.all()
    }
    fn resolve<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ResolvedProvider>, StoreError>> {
        self.secret_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.resolve(name)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generic_endpoint_serves_every_platform_by_provider_name_and_answers_ping() {
    let slack = SlackUnderTest::start().await;
    let echo = EchoUnderTest::start().await;
    let providers = Arc::new(MemoryProviders::default());
    let platforms: [(&str, &dyn UnderTest); 2] = [("company-slack", slack.as_ref()), ("team-echo", echo.as_ref())];
    for (name, platform) in platforms {
        let mut config = platform.binding();
        config["default_channel"] = json!("C_GENERAL");
        let spec = platform.adapter();
        let (map, _) = im_core::provider::ProviderConfig::split_for(config, spec.spec()).expect("config");
        let mut provider = im_core::memory::provider(name, "slack", json!({}));
        provider.platform = im_core::provider::Platform::named(platform.name()).expect("name");
        provider.config = im_core::provider::ProviderConfig::for_platform(map, Some(spec.spec())).expect("valid");
        let secrets = platform.secrets();
        providers.add(
            provider,
            &secrets.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(),
        );
    }
    let counting = Arc::new(Counting {
        inner: providers,
        secret_reads: AtomicUsize::new(0),
    });
    let publisher = Arc::new(MemoryPublisher::default());
    let w = World::new(slack.clone(), json!({}));
    let gateway = im_webhook::Gateway::new(im_webhook::Parts {
        service: im_core::IncidentService::new(
            Arc::new(MemoryStore::default()),
            publisher.clone(),
            Arc::new(im_core::SystemClock) as Arc<dyn im_core::Clock>,
        ),
        providers: counting.clone(),
        platforms: Platforms::new().with(slack.adapter()).with(echo.adapter()),
        deliverer: w.gateway.deliverer.clone(),
        inbox: Arc::new(im_core::memory::MemoryInbox::default()),
        work: Arc::new(im_core::memory::MemoryWork::default()),
        clock: Arc::new(im_core::SystemClock),
        usage: Arc::new(im_core::usage::NoUsage),
        memo: Arc::new(im_core::memory::MemoryMemo::default()),
        roles: Arc::new(im_platforms::policy::HttpRoleSource::new()),
        workflows: Arc::new(im_platforms::policy::HttpWorkflows::new()),
    });
    let send = |name: &'static str, request: &(Vec<(String, String)>, Vec<u8>)| {
        let (gateway, request) = (&gateway, request.clone());
        async move { gateway.handle(Via::Generic, name, &request.0, &request.1).await }
    };

    // Ping: the provider's name and platform; no secret read, nothing written.
    for (name, platform) in [("company-slack", "slack"), ("team-echo", "echo")] {
        let pong = send(name, &ping()).await;
        assert_eq!(pong.status, 200);
        let body: Value = serde_json::from_slice(&pong.body).expect("json");
        assert_eq!(
            body,
            json!({"type": "pong", "provider": name, "platform": platform, "status": "active"})
        );
    }
    let unknown = send("nobody", &ping()).await;
    assert_eq!(unknown.status, 404);
    assert!(String::from_utf8_lossy(&unknown.body).contains("`nobody`"));
    assert_eq!(
        counting.secret_reads.load(Ordering::SeqCst),
        0,
        "a ping reads no secret"
    );
    assert!(publisher.events().is_empty());

    // Each provider's own requests work on its name; another platform's signature does not.
    let declared = send(
        "company-slack",
        &slack.command("U0ALICE", "C_GENERAL", "declare Slack via generic"),
    )
    .await;
    assert!(
        slack.shown(&declared).text.contains("Slack via generic"),
        "{declared:?}"
    );
    let declared = send(
        "team-echo",
        &echo.command("U0ALICE", "C_GENERAL", "declare Echo via generic"),
    )
    .await;
    assert!(echo.shown(&declared).text.contains("Echo via generic"), "{declared:?}");
    let crossed = send("team-echo", &slack.command("U0ALICE", "C_GENERAL", "declare Crossed")).await;
    assert_eq!(crossed.status, 401, "a Slack-signed request on an Echo provider");
    assert_eq!(publisher.events().len(), 2);
    let origins: Vec<String> = publisher.events().iter().map(|e| e.entry.source.clone()).collect();
    assert_eq!(origins, ["slack:company-slack", "echo:team-echo"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_war_room_is_answered_at_once_and_created_once() {
    let slack = SlackUnderTest::start().await;
    // Slack takes 5 s to create a channel: far past its own 3 s deadline.
    slack.fake.with_delay("conversations.create", Duration::from_secs(5));
    let w = World::new(slack.clone(), json!({}));
    let id = w.declare("U0ALICE", "--sev SEV-3 Cache stampede").await;
    w.drain().await;
    let ts = slack.top_level("C_MINOR")[0].id.clone();
    let click = slack.click("U0BOB", "C_MINOR", &ts, &act(ActionKey::WarRoom, &id));
    let answer = w.send(&click).await;
    assert_eq!(
        (answer.status, answer.body.len()),
        (200, 0),
        "acknowledged, nothing to show yet"
    );
    assert!(
        slack.fake.calls("conversations.create").is_empty(),
        "answered before any channel work"
    );
    let queued = w.work.queued.lock().expect("lock").clone();
    assert_eq!(queued.len(), 1, "the slow part is queued for the worker");
    // The same click again (a retry): acknowledged, not queued twice.
    assert_eq!(w.send(&click).await.status, 200);
    assert_eq!(w.work.queued.lock().expect("lock").len(), 1);

    w.drain().await;
    // The queue delivers the work again (at-least-once): still one channel.
    w.gateway.run_work(&queued[0]).await.expect("redelivery");
    assert_eq!(
        slack.fake.calls("conversations.create").len(),
        1,
        "one channel, however often"
    );
    let room = w.incident(&id).await.war_room.expect("recorded");
    assert_eq!(slack.fake.members(&room.channel), ["U0BOB"]);
    assert!(
        slack
            .follow_ups()
            .iter()
            .any(|t| t.contains("is open, and you are in it"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_act_once_and_answer_in_the_thread() {
    let slack = SlackUnderTest::start().await;
    let w = World::new(slack.clone(), json!({}));
    let id = w.declare("U0ALICE", "--sev SEV-3 Disk full").await;
    slack
        .fake
        .with_message("C_ORIGIN", "1764237600.900001", "<@U0BOT> ack it");
    let mention = slack.mention_event(
        "Ev01",
        "U0BOB",
        "C_ORIGIN",
        "1764237600.900001",
        &format!("ack {id}"),
        None,
    );
    let answer = w.send(&mention).await;
    assert_eq!(answer.status, 200);
    w.run_work().await;
    assert_eq!(w.incident(&id).await.status, Status::Acknowledged);
    let thread = slack.thread("C_ORIGIN", "1764237600.900001");
    assert_eq!(thread.len(), 1, "{thread:?}");
    assert!(thread[0].contains("Acknowledged"), "{thread:?}");

    // Slack retries (sequentially and at once): acknowledged, never acted on twice.
    let retry = slack.mention_event(
        "Ev01",
        "U0BOB",
        "C_ORIGIN",
        "1764237600.900001",
        &format!("ack {id}"),
        Some(1),
    );
    let (a, b) = tokio::join!(w.send(&retry), w.send(&retry));
    assert_eq!((a.status, b.status), (200, 200));
    w.run_work().await;
    assert_eq!(slack.thread("C_ORIGIN", "1764237600.900001").len(), 1);
    assert_eq!(w.count(&id, "chatops.acknowledge").await, 1);

    // `/im` or `im` before the verb is fine; chatter gets a short help and changes nothing.
    slack.fake.with_message("C_ORIGIN", "1764237600.900002", "…");
    let update = slack.mention_event(
        "Ev02",
        "U0BOB",
        "C_ORIGIN",
        "1764237600.900002",
        &format!("/im update {id} rebooting"),
        None,
    );
    w.send(&update).await;
    w.run_work().await;
    assert!(w.timeline(&id).await.iter().any(|e| e.event_type == "chatops.update"));
    slack.fake.with_message("C_ORIGIN", "1764237600.900003", "…");
    let chatter = slack.mention_event(
        "Ev03",
        "U0BOB",
        "C_ORIGIN",
        "1764237600.900003",
        "thanks, you're great",
        None,
    );
    w.send(&chatter).await;
    w.run_work().await;
    let help = slack.thread("C_ORIGIN", "1764237600.900003");
    assert!(
        help.iter().any(|t| t.contains("I only act on incident requests")),
        "{help:?}"
    );
    assert_eq!(w.timeline(&id).await.len(), 3, "chatter changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_specific_gates() {
    let slack = SlackUnderTest::start().await;
    let w = World::new(slack.clone(), json!({}));
    let id = w.declare("U0ALICE", "--sev SEV-3 Gates").await;
    w.drain().await;
    let ts = slack.top_level("C_MINOR")[0].id.clone();

    // An action that is not ours runs nothing.
    let foreign = slack.foreign_click("U0BOB", "C_MINOR", &ts, "im:nuke", &id);
    assert_eq!(w.send(&foreign).await.status, 200);
    assert_eq!(w.incident(&id).await.version, 1);

    // A signing secret too short to trust verifies nothing, even a correct signature.
    let short = "s3cret";
    let mut provider = (*w.providers.provider("acme").await.expect("read").expect("exists")).clone();
    provider.name = "weak".into();
    w.providers.add(
        provider,
        &[("signing_secret", short), ("bot_token", "xoxb-suite-token")],
    );
    let request = slack.command_signed_with(short, "U0ALICE", "C_ORIGIN", "declare Weak");
    let answer = w
        .gateway
        .handle(Via::Platform("slack"), "weak", &request.0, &request.1)
        .await;
    assert_eq!(answer.status, 401);

    // A rotated signing secret is picked up: the store has the new one, the cache the old one.
    let rotated = "rotated-signing-secret-0123456789abcdef";
    w.providers.rotate(
        "acme",
        &[("signing_secret", rotated), ("bot_token", "xoxb-suite-token")],
    );
    let request = slack.command_signed_with(rotated, "U0ALICE", "C_ORIGIN", "list");
    assert_eq!(w.send(&request).await.status, 200);
}

/// The emulator-backed case for Echo: the real AWS adapters, SQS pollers and the HTTP router,
/// with Echo registered beside Slack and nothing else changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn echo_on_the_emulator() {
    use im_aws::poller;
    im_aws::telemetry::init_for_tests();
    let echo = EchoUnderTest::start().await;
    let stack = im_tests::TestStack::new().await;
    let mut config = serde_json::from_str::<Value>(im_tests::world::ROUTING).expect("routing");
    config["workspace"] = json!("W1");
    config["echo_secret"] = json!(im_tests::echo_fake::SECRET);
    config["echo_token"] = json!(im_tests::echo_fake::TOKEN);
    let directory = stack.directory().with_specs(vec![&im_tests::echo::SPEC]);
    directory.add("beta", "echo", config).await.expect("an echo provider");
    let platforms = im_platforms::registry(stack.clients.config()).with(echo.adapter());
    let clock: Arc<dyn im_core::Clock> = Arc::new(im_core::SystemClock);
    let gateway = Arc::new(im_webhook::aws::gateway(
        stack.clients.clone(),
        clock,
        platforms.clone(),
    ));
    let app = chatops_webhook::router(gateway.clone());
    let post = |request: (Vec<(String, String)>, Vec<u8>)| {
        let mut builder = http::Request::post("/chatops/beta");
        for (k, v) in &request.0 {
            builder = builder.header(k.as_str(), v.as_str());
        }
        builder.body(axum::body::Body::from(request.1)).expect("request")
    };
    let (status, _, pong) = im_tests::call(&app, post(ping())).await;
    assert_eq!((status, pong["platform"].as_str()), (200, Some("echo")));
    let (status, _, reply) = im_tests::call(
        &app,
        post(echo.command("U0ALICE", "C_ORIGIN", "declare --sev SEV-3 Queue stuck")),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let id = im_tests::world::incident_id(reply["reply"]["text"].as_str().unwrap_or("")).expect("declared");

    let router = Arc::new(router::Router::new(stack.clients.clone()).expect("router"));
    let notifier = Arc::new(notifier::Notifier::new(stack.clients.clone(), platforms).expect("notifier"));
    let queue = |logical: &str| {
        let url = stack.provisioned.queue_urls[logical].clone();
        Arc::new(im_aws::sqs::Queue::new(
            stack.clients.clone(),
            im_aws::config::QueueRef::Url(url),
        ))
    };
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut handles = poller::spawn(queue("IncidentEventsQueue"), router, 1, stop.clone());
    handles.extend(poller::spawn(queue("DeliveriesQueue"), notifier, 1, stop));
    let started = std::time::Instant::now();
    while echo.top_level("C_MINOR").is_empty() && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    let posted = echo.top_level("C_MINOR");
    assert_eq!(posted.len(), 1, "routed and delivered through SQS to Echo");
    assert!(posted[0].text.contains(&id) && posted[0].text.contains("Queue stuck"));
    assert!(posted[0].actions.contains(&"im:ack".to_string()));
    stack.teardown().await;
}

/// Slack retries an event it got no answer for. A retry while the original may still be
/// running is acknowledged and not acted on; once the original's lease ran out (it crashed
/// before finishing), the next retry acts, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_mention_whose_original_never_finished_acts_once() {
    use im_core::Clock;
    use im_core::work::Inbox;
    let slack = SlackUnderTest::start().await;
    let w = World::new(slack.clone(), json!({}));
    let id = w.declare("U0ALICE", "--sev SEV-3 Queue stuck").await;
    // The original began and its process died: no answer, no finish.
    let began = w.clock.now().unix_timestamp() * 1000;
    w.inbox.begin("slack:acme:EvCrash", began, 60_000).await.expect("begin");
    slack.fake.with_message("C_ORIGIN", "1764237600.910001", "…");
    let retry = |n| {
        slack.mention_event(
            "EvCrash",
            "U0BOB",
            "C_ORIGIN",
            "1764237600.910001",
            &format!("ack {id}"),
            Some(n),
        )
    };
    assert_eq!(w.send(&retry(1)).await.status, 200);
    w.run_work().await;
    assert_eq!(
        w.incident(&id).await.status,
        Status::Open,
        "the original may still be running"
    );
    w.advance(time::Duration::seconds(61));
    assert_eq!(w.send(&retry(2)).await.status, 200);
    assert_eq!(w.send(&retry(3)).await.status, 200);
    w.run_work().await;
    assert_eq!(w.incident(&id).await.status, Status::Acknowledged);
    assert_eq!(w.count(&id, "chatops.acknowledge").await, 1);
    assert_eq!(slack.thread("C_ORIGIN", "1764237600.910001").len(), 1, "answered once");
}
