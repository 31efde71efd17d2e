//! The whole notification pipeline over the emulator and a strict fake Slack: commands go through
//! the real use cases (committing to DynamoDB and publishing to SQS), then the router and notifier
//! run as in-process pollers until both queues are empty.

use std::sync::Arc;
use std::time::{Duration, Instant};

use im_aws::config::DeliverySettings;
use im_aws::poller;
use im_aws::sqs::Queue;
use im_aws::{AwsClients, DynamoStore, SqsPublisher};
use im_core::{
    AccessPolicy, Actor, Clock, IncidentService, Invocation, Reply, Settings, Severity, SystemClock, UserRef,
};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::TestStack;
use crate::fake_slack::FakeSlack;

pub const BOT_TOKEN: &str = "xoxb-test-bot-token";
pub const SIGNING_SECRET: &str = "pipeline-signing-secret-0123456789abcdef";

/// Channels the default provider routes to.
pub const CHANNELS: &[&str] = &[
    "C_CRIT",
    "C_MAJOR",
    "C_MINOR",
    "C_INFO",
    "C_GENERAL",
    "C_SLA",
    "C_EXEC",
    "C_ORIGIN",
];

pub struct Pipeline {
    pub stack: TestStack,
    pub slack: FakeSlack,
    pub service: Arc<IncidentService<DynamoStore, SqsPublisher, Arc<dyn Clock>>>,
    pub router: Arc<router::Router>,
    pub notifier: Arc<notifier::Notifier>,
    pub clients: Arc<AwsClients>,
}

/// Delivery settings for tests: the fake's URLs; real Slack pacing unless `fast_updates`.
pub fn settings(slack: &FakeSlack, fast_updates: bool) -> DeliverySettings {
    DeliverySettings {
        slack_api_url: slack.api_url.clone(),
        slack_response_url_prefix: slack.response_prefix.clone(),
        slack_update_interval: if fast_updates {
            Duration::from_millis(110)
        } else {
            Duration::from_millis(1250)
        },
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_secs(2),
        chat_timeout: Duration::from_secs(5),
        ..DeliverySettings::default()
    }
}

impl Pipeline {
    /// A stack, a fake Slack with the routing channels, and provider `acme` routed to them.
    /// `fast_updates`: the fake allows 600 `chat.update` a minute and we pace to match (tests
    /// with many edits); otherwise Slack's Tier 3 (50/min) on both sides.
    pub async fn start(fast_updates: bool) -> Self {
        im_aws::telemetry::init_for_tests();
        let slack = FakeSlack::start().await;
        slack.with_token(BOT_TOKEN).with_channels(CHANNELS);
        if fast_updates {
            slack.with_update_limit(600);
        }
        let mut stack = TestStack::new().await;
        stack.config.delivery = settings(&slack, fast_updates);
        stack.config.secrets_min_refresh = Duration::ZERO;
        stack.clients = Arc::new(AwsClients::new(stack.config.clone()));
        stack
            .directory()
            .add(
                "acme",
                "slack",
                json!({
                    "bot_token": BOT_TOKEN, "signing_secret": SIGNING_SECRET,
                    "default_channel": "C_GENERAL",
                    "notification_channels": {"SEV-1": "C_CRIT", "SEV-2": "C_MAJOR", "SEV-3": "C_MINOR", "default": "C_GENERAL"},
                    "escalation_channels": {"sla_breach": "C_SLA", "management": "C_EXEC"},
                    "services": ["checkout", "payments", "search"],
                    "rbac": {"default_role": "responder"}
                }),
            )
            .await
            .expect("provider added");
        let clients = stack.clients.clone();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let service = Arc::new(IncidentService::new(
            DynamoStore::new(clients.clone()),
            SqsPublisher::new(clients.clone()),
            clock,
        ));
        let router = Arc::new(router::Router::new(clients.clone()).expect("router"));
        let platforms = im_platforms::registry(clients.config());
        let notifier = Arc::new(notifier::Notifier::new(clients.clone(), platforms).expect("notifier"));
        Self {
            stack,
            slack,
            service,
            router,
            notifier,
            clients,
        }
    }

    pub fn queue(&self, logical: &str) -> Arc<Queue> {
        let url = self.stack.provisioned.queue_urls[logical].clone();
        Arc::new(Queue::new(self.clients.clone(), im_aws::config::QueueRef::Url(url)))
    }

    /// Runs a slash command as user `user` in channel `C_ORIGIN` of provider `acme`.
    pub async fn run(&self, user: &str, line: &str) -> Reply {
        let policy = AccessPolicy::default();
        let settings = Settings {
            policy: &policy,
            role: im_core::Role::Responder,
            default_severity: Severity::Sev3,
            extra_help: &[],
        };
        let actor = Actor {
            platform: "slack".into(),
            provider: "acme".into(),
            user: UserRef::new(user, None).on("acme"),
            channel: Some("C_ORIGIN".into()),
        };
        let invocation = Invocation::chat(actor, "/im", line, None);
        // As Slack would send it: `<@U1|carol>` is a mention, `&lt;` an escaped `<`.
        let segments = im_slack::text::segments(line, "acme");
        let command = im_core::command::parse_segments(&segments).unwrap_or_else(|e| panic!("{line}: {e}"));
        let outcome = self.service.execute(&invocation, &settings, command).await;
        assert!(outcome.failure.is_none(), "{line}: {:?}", outcome.failure);
        outcome.reply
    }

    /// Declares and returns the id.
    pub async fn declare(&self, line: &str) -> String {
        match self.run("U0ALICE", &format!("declare {line}")).await {
            Reply::Card { incident, .. } => incident.id.to_string(),
            other => panic!("declare failed: {other:?}"),
        }
    }

    /// The gateway the webhooks and the interaction worker share, wired to this stack and the
    /// fake Slack.
    pub fn gateway(&self) -> Arc<im_webhook::aws::AwsGateway> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let platforms = im_platforms::registry(self.clients.config());
        Arc::new(im_webhook::aws::gateway(self.clients.clone(), clock, platforms))
    }

    /// Runs the router, notifier (`notifiers` receive loops) and interaction-worker pollers
    /// until every queue stays empty.
    pub async fn drain(&self, notifiers: usize, timeout: Duration) {
        let (stop_tx, stop) = watch::channel(false);
        let events = self.queue("IncidentEventsQueue");
        let deliveries = self.queue("DeliveriesQueue");
        let work = self.queue("InteractionWorkQueue");
        let mut handles = poller::spawn(events.clone(), self.router.clone(), 1, stop.clone());
        handles.extend(poller::spawn(
            deliveries.clone(),
            self.notifier.clone(),
            notifiers,
            stop.clone(),
        ));
        let worker = Arc::new(im_webhook::worker::WorkHandler(self.gateway()));
        handles.extend(poller::spawn(work.clone(), worker, 1, stop));
        let started = Instant::now();
        let mut quiet = 0;
        while started.elapsed() < timeout {
            // Depth is costly on the emulator (it scans the queue), so ask twice a second.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let busy = events.depth().await.unwrap_or(1)
                + deliveries.depth().await.unwrap_or(1)
                + work.depth().await.unwrap_or(1);
            quiet = if busy == 0 { quiet + 1 } else { 0 };
            if quiet >= 3 {
                break;
            }
        }
        let _ = stop_tx.send(true);
        for h in handles {
            let _ = h.await;
        }
        assert!(
            quiet >= 3,
            "queues did not drain within {timeout:?}: events {:?}, deliveries {:?}, posted to {:?}",
            events.depth().await,
            deliveries.depth().await,
            self.slack.channels_posted_to()
        );
    }

    /// Messages now waiting in the deliveries dead-letter queue (peeked, left in place).
    pub async fn dead_letters(&self) -> Vec<(Value, String)> {
        let dlq = self.queue("DeliveriesDLQ");
        let mut out = Vec::new();
        for _ in 0..5 {
            let batch = dlq
                .receive(10, Duration::ZERO, Some(Duration::ZERO))
                .await
                .expect("receive dlq");
            if batch.is_empty() {
                break;
            }
            for m in batch {
                if out.iter().any(|(v, _): &(Value, String)| {
                    v["job_id"] == serde_json::from_str::<Value>(&m.body).unwrap_or_default()["job_id"]
                }) {
                    continue;
                }
                let reason = m.attributes.get("reason").cloned().unwrap_or_default();
                out.push((serde_json::from_str(&m.body).unwrap_or_default(), reason));
            }
        }
        out
    }
}

/// A declared-incident event that never touched storage, for feeding the notifier directly.
pub fn synthetic_event(seq: u64, severity: im_core::Severity) -> im_core::IncidentEvent {
    let at = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let mut incident = im_core::memory::incident(1000 + seq, severity, im_core::Status::Open);
    incident.title = format!("Synthetic incident {seq}");
    incident.declared_at = at;
    incident.updated_at = at;
    im_core::IncidentEvent {
        event_id: format!("EV{seq:06}"),
        kind: im_core::EventKind::IncidentCreated,
        incident,
        previous_severity: None,
        entry: im_core::TimelineEntry {
            event_type: "chatops.declare".into(),
            timestamp: at,
            actor: "chatops:U0ALICE".into(),
            source: "slack:acme".into(),
            data: Default::default(),
        },
        at,
    }
}

impl Pipeline {
    /// Puts delivery jobs on the deliveries queue as the router would.
    pub async fn enqueue(&self, jobs: &[im_core::notify::DeliveryJob]) {
        let bodies = jobs
            .iter()
            .map(|j| serde_json::to_string(j).expect("job json"))
            .collect();
        self.queue("DeliveriesQueue").send_all(bodies).await.expect("enqueue");
    }

    /// One job per event for `channel`.
    pub fn job(&self, event: &im_core::IncidentEvent, channel: &str) -> im_core::notify::DeliveryJob {
        let route = im_core::notify::Route {
            channel: channel.into(),
            scope: im_core::notify::Scope::Severity,
        };
        im_core::notify::DeliveryJob::for_event("acme", &route, event)
    }
}

impl Pipeline {
    /// The Slack and generic webhook routers, wired to this stack and the fake Slack.
    pub fn webhook(&self) -> axum::Router {
        let gateway = self.gateway();
        slack_webhook::router(gateway.clone()).merge(chatops_webhook::router(gateway))
    }

    /// Posts a correctly signed form body to `/chatops/slack/acme`; returns status and body.
    pub async fn post_signed(&self, router: &axum::Router, form: &[(&str, &str)]) -> (u16, Value) {
        let body = serde_urlencoded::to_string(form).expect("form");
        let ts = time::OffsetDateTime::now_utc().unix_timestamp();
        let request = http::Request::post("/chatops/slack/acme")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", im_slack::sign(SIGNING_SECRET, ts, body.as_bytes()))
            .body(axum::body::Body::from(body))
            .expect("request");
        let (status, _, json) = crate::call(router, request).await;
        (status, json)
    }

    /// Clicks a button or picks a menu option on the message `ts` in `channel`, as `user`.
    pub async fn click(&self, router: &axum::Router, user: &str, channel: &str, ts: &str, action: Value) -> u16 {
        let trigger = format!("trigger.{}", ulid::Ulid::generate());
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user, "username": user.to_lowercase()},
            "team": {"id": "T0FAKE"},
            "channel": {"id": channel},
            "message": {"ts": ts},
            "container": {"type": "message", "channel_id": channel, "message_ts": ts},
            "trigger_id": trigger,
            "response_url": format!("{}{trigger}", self.slack.response_prefix),
            "actions": [action],
        });
        self.post_signed(router, &[("payload", &payload.to_string())]).await.0
    }
}
