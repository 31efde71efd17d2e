//! The shared suites' harness: one platform under test behind the real gateway, use cases,
//! routing and delivery algorithm, over the in-memory store (fast, for the big matrices), with
//! the platform's client pointed at its local fake.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use im_core::action::ActionRef;
use im_core::chat::{BoxFuture, PaceRule};
use im_core::delivery::{Deliverer, Outcome, Paced, Pacer, RetryPolicy};
use im_core::directory::{PlatformDirectory, ProviderSource};
use im_core::inbound::{HttpAnswer, PlatformAdapter, Platforms};
use im_core::memory::{MemoryInbox, MemoryLedger, MemoryProviders, MemoryPublisher, MemoryStore, MemoryWork};
use im_core::notify::{DeliveryJob, HeldSlot};
use im_core::ports::{IncidentStore, StoreError};
use im_core::{Clock, Incident, IncidentId, IncidentService, SystemClock, TimelineEntry};
use im_webhook::{Gateway, Parts, Via};
use serde_json::{Value, json};

/// A request as a platform would send it: lowercase headers and the raw body.
pub type Signed = (Vec<(String, String)>, Vec<u8>);

/// A reply as the person sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub status: u16,
    pub text: String,
    /// Only the person who asked sees it.
    pub private: bool,
}

/// What a click did, as the clicker sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Clicked {
    pub status: u16,
    /// A note shown only to the clicker.
    pub private: Option<String>,
    /// A form was opened.
    pub form: bool,
}

/// A message on the platform's fake.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub id: String,
    pub text: String,
    /// The incident version it shows.
    pub version: Option<u64>,
    /// Its buttons and menus, by action id (`im:ack` …).
    pub actions: Vec<String>,
    /// The message as the platform received it.
    pub raw: Value,
}

/// What the suites need from a platform: how to write its requests, and what its fake shows.
pub trait UnderTest: Send + Sync {
    fn name(&self) -> &'static str;
    fn adapter(&self) -> Arc<dyn PlatformAdapter>;
    /// The provider's secrets.
    fn secrets(&self) -> Vec<(&'static str, String)>;
    /// Configuration keys binding the provider to the fake's workspace.
    fn binding(&self) -> Value;
    /// How a person is mentioned in command text (the platform's own markup).
    fn mention(&self, user: &str) -> String;
    /// Markup in a raw payload that the platform would act on (links, special mentions),
    /// other than mentions of people and our own formatting.
    fn live_markup(&self, raw: &str) -> Vec<String>;
    fn command(&self, user: &str, channel: &str, text: &str) -> Signed;
    /// The same command, but from another workspace (validly signed).
    fn foreign_command(&self, user: &str, channel: &str, text: &str) -> Signed;
    fn click(&self, user: &str, channel: &str, message: &str, action: &ActionRef) -> Signed;
    /// A click on the control of a posted message that shows `label` (a button, or an option
    /// of a menu), built from the ids the platform received: what a person's click sends.
    fn press(&self, user: &str, channel: &str, seen: &Seen, label: &str) -> Option<Signed>;
    fn submit_note(&self, user: &str, incident: &str, note: &str) -> Signed;
    /// A request signed with the wrong secret.
    fn forged(&self, user: &str, channel: &str, text: &str) -> Signed;
    fn shown(&self, answer: &HttpAnswer) -> Shown;
    fn clicked(&self, answer: &HttpAnswer, request: &Signed) -> Clicked;
    fn top_level(&self, channel: &str) -> Vec<Seen>;
    fn thread(&self, channel: &str, message: &str) -> Vec<String>;
    /// Late answers (slow work), newest last.
    fn follow_ups(&self) -> Vec<String>;
    /// The same, as the platform received them (for markup checks).
    fn follow_ups_raw(&self) -> Vec<String>;
    /// Plain language addressed to the bot (Slack: an `app_mention` event; Discord: `/im
    /// ask`); `n` makes the platform's ids unique. `None` where the platform has no such path.
    fn ask(&self, _user: &str, _channel: &str, _text: &str, _n: u32) -> Option<Signed> {
        None
    }
    /// Moves the sender's clock with the world's (for platforms whose signatures carry a time).
    fn shift_clock(&self, _seconds: i64) {}
    /// The bot's answers to the `n`th ask, oldest first.
    fn answers(&self, _channel: &str, _n: u32) -> Vec<String> {
        Vec::new()
    }
    /// The bot's last answer to the `n`th ask as the platform received it (to press its
    /// buttons).
    fn answered(&self, _channel: &str, _n: u32) -> Option<Seen> {
        None
    }
}

/// The system clock moved forward by what a test says (context TTLs).
#[derive(Default)]
pub struct ShiftedClock(Mutex<time::Duration>);

impl ShiftedClock {
    pub fn advance(&self, by: time::Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> time::OffsetDateTime {
        SystemClock.now() + *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Real-time pacing in memory: every wait happens in-process.
#[derive(Default)]
pub struct RealtimePacer {
    next: Mutex<HashMap<String, Instant>>,
}

impl Pacer for RealtimePacer {
    fn pace<'a>(
        &'a self,
        provider: &'a str,
        rule: &'a PaceRule,
        _held: Option<&'a HeldSlot>,
    ) -> BoxFuture<'a, Result<Paced, StoreError>> {
        let wait = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = next.entry(format!("{provider}#{}", rule.bucket)).or_insert(now);
            let at = (*slot).max(now);
            *slot = at + rule.interval;
            at - now
        };
        Box::pin(async move {
            tokio::time::sleep(wait).await;
            Ok(Paced::Go)
        })
    }
}

pub type MemoryGateway = Gateway<Arc<MemoryStore>, Arc<MemoryPublisher>>;

/// The use cases a world runs.
pub type Service = IncidentService<Arc<MemoryStore>, Arc<MemoryPublisher>, Arc<dyn Clock>>;

/// Channels the suites' provider routes to.
pub const ROUTING: &str = r#"{
    "default_channel": "C_GENERAL",
    "notification_channels": {"SEV-1": "C_CRIT", "SEV-2": "C_MAJOR", "SEV-3": "C_MINOR", "default": "C_GENERAL"},
    "escalation_channels": {"sla_breach": "C_SLA", "management": "C_EXEC"},
    "services": ["checkout", "payments", "search"],
    "rbac": {"default_role": "responder", "users": {"U0VIEWER": "viewer"}}
}"#;

pub struct World {
    pub platform: Arc<dyn UnderTest>,
    pub gateway: Arc<MemoryGateway>,
    pub store: Arc<MemoryStore>,
    pub publisher: Arc<MemoryPublisher>,
    pub providers: Arc<MemoryProviders>,
    pub work: Arc<MemoryWork>,
    /// Conversation context, questions and rotations the gateway keeps.
    pub memo: Arc<im_core::memory::MemoryMemo>,
    pub clock: Arc<ShiftedClock>,
    /// Requests by the platform's id (retries).
    pub inbox: Arc<MemoryInbox>,
    deliverer: Arc<Deliverer>,
    ledger: Arc<MemoryLedger>,
    /// The usage counters the gateway recorded.
    pub usage: Arc<im_core::memory::MemoryUsage>,
    published: Mutex<usize>,
    pub dead_letters: Mutex<Vec<(DeliveryJob, String)>>,
}

impl World {
    /// Provider `acme` of the platform, routed by [`ROUTING`] merged with `config`.
    pub fn new(platform: Arc<dyn UnderTest>, config: Value) -> Self {
        Self::with_providers(vec![("acme", platform, config)])
    }

    /// Several providers (the first is the one [`Self::send`] and the helpers use), each of its
    /// platform, routed by [`ROUTING`] merged with its `config`.
    pub fn with_providers(list: Vec<(&str, Arc<dyn UnderTest>, Value)>) -> Self {
        Self::build(list, |_| {})
    }

    /// [`Self::new`], with the use cases adjusted first (custom commands registered).
    pub fn new_with(platform: Arc<dyn UnderTest>, config: Value, adjust: impl FnOnce(&mut Service)) -> Self {
        Self::build(vec![("acme", platform, config)], adjust)
    }

    fn build(list: Vec<(&str, Arc<dyn UnderTest>, Value)>, adjust: impl FnOnce(&mut Service)) -> Self {
        let providers = Arc::new(MemoryProviders::default());
        let mut platforms = Platforms::new();
        for (name, platform, config) in &list {
            let mut merged: Value = serde_json::from_str(ROUTING).expect("routing");
            for (k, v) in platform.binding().as_object().cloned().unwrap_or_default() {
                merged[k] = v;
            }
            // The test's own configuration has the last word.
            for (k, v) in config.as_object().cloned().unwrap_or_default() {
                merged[k] = v;
            }
            let adapter = platform.adapter();
            let (map, configured) =
                im_core::provider::ProviderConfig::split_for(merged, adapter.spec()).expect("config");
            let config =
                im_core::provider::ProviderConfig::for_platform(map, Some(adapter.spec())).expect("valid config");
            let at = time::OffsetDateTime::now_utc();
            let provider = im_core::provider::Provider {
                name: name.to_string(),
                platform: im_core::provider::Platform::named(platform.name()).expect("name"),
                status: im_core::provider::ProviderStatus::Active,
                config,
                secret_name: format!("test/chatops/{name}"),
                created_at: at,
                updated_at: at,
            };
            // The platform's secrets, and any the configuration carried (workflow credentials).
            let secrets = platform.secrets();
            let mut pairs: Vec<(&str, &str)> = secrets.iter().map(|(k, v)| (*k, v.as_str())).collect();
            pairs.extend(configured.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            providers.add(provider, &pairs);
            platforms = platforms.with(adapter);
        }
        let platform = list[0].1.clone();
        let store = Arc::new(MemoryStore::default());
        let publisher = Arc::new(MemoryPublisher::default());
        let ledger = Arc::new(MemoryLedger::default());
        let deliverer = Arc::new(Deliverer::new(
            ledger.clone(),
            Arc::new(RealtimePacer::default()),
            Arc::new(PlatformDirectory::new(providers.clone(), platforms.clone())),
            store.clone(),
            Arc::new(im_aws::deliveries::SystemTimer),
            RetryPolicy {
                max_attempts: 3,
                backoff_base: Duration::from_millis(20),
                backoff_cap: Duration::from_millis(200),
            },
        ));
        let shifted = Arc::new(ShiftedClock::default());
        let clock: Arc<dyn Clock> = shifted.clone();
        let memo = Arc::new(im_core::memory::MemoryMemo::default());
        let inbox = Arc::new(MemoryInbox::default());
        let work = Arc::new(MemoryWork::default());
        let usage = Arc::new(im_core::memory::MemoryUsage::default());
        let mut service = IncidentService::new(store.clone(), publisher.clone(), clock.clone());
        adjust(&mut service);
        let gateway = Arc::new(Gateway::new(Parts {
            service,
            providers: providers.clone(),
            platforms,
            deliverer: deliverer.clone(),
            inbox: inbox.clone(),
            work: work.clone(),
            clock,
            usage: Arc::new(im_core::usage::LogRecorder(usage.clone())),
            memo: memo.clone(),
            roles: Arc::new(im_platforms::policy::HttpRoleSource::new()),
            workflows: Arc::new(im_platforms::policy::HttpWorkflows::new()),
        }));
        Self {
            platform,
            gateway,
            store,
            publisher,
            providers,
            work,
            memo,
            clock: shifted,
            inbox,
            deliverer,
            ledger,
            usage,
            published: Mutex::new(0),
            dead_letters: Mutex::new(Vec::new()),
        }
    }

    pub async fn send(&self, request: &Signed) -> HttpAnswer {
        self.gateway
            .handle(Via::Platform(self.platform.name()), "acme", &request.0, &request.1)
            .await
    }

    /// A request to another provider of this world, on the generic route.
    pub async fn send_to(&self, provider: &str, request: &Signed) -> HttpAnswer {
        self.gateway
            .handle(Via::Generic, provider, &request.0, &request.1)
            .await
    }

    /// The delivery algorithm this world runs (for tests that drive jobs themselves).
    pub fn deliverer(&self) -> &Arc<Deliverer> {
        &self.deliverer
    }

    /// A slash command by `user` in `C_ORIGIN`.
    pub async fn command(&self, user: &str, text: &str) -> Shown {
        let answer = self.send(&self.platform.command(user, "C_ORIGIN", text)).await;
        self.platform.shown(&answer)
    }

    /// Declares and returns the incident id.
    pub async fn declare(&self, user: &str, text: &str) -> String {
        let shown = self.command(user, &format!("declare {text}")).await;
        incident_id(&shown.text).unwrap_or_else(|| panic!("declare failed: {shown:?}"))
    }

    pub async fn click(&self, user: &str, channel: &str, message: &str, action: &ActionRef) -> Clicked {
        let request = self.platform.click(user, channel, message, action);
        let answer = self.send(&request).await;
        self.platform.clicked(&answer, &request)
    }

    /// Clicks the control labelled `label` on a posted message (see [`UnderTest::press`]).
    pub async fn press(&self, user: &str, channel: &str, seen: &Seen, label: &str) -> Clicked {
        let request = self
            .platform
            .press(user, channel, seen, label)
            .unwrap_or_else(|| panic!("no control `{label}` on {}", seen.raw));
        let answer = self.send(&request).await;
        self.platform.clicked(&answer, &request)
    }

    pub async fn incident(&self, id: &str) -> Incident {
        let id = IncidentId::parse(id).expect("id");
        self.store.get(&id).await.expect("read").expect("exists")
    }

    pub async fn timeline(&self, id: &str) -> Vec<TimelineEntry> {
        let id = IncidentId::parse(id).expect("id");
        self.store.timeline(&id, 100).await.expect("timeline")
    }

    /// The incident's entries of `event_type`, oldest first.
    pub async fn entries(&self, id: &str, event_type: &str) -> Vec<TimelineEntry> {
        let mut all = self.timeline(id).await;
        all.retain(|e| e.event_type == event_type);
        all
    }

    /// How many entries of `event_type` the incident's timeline has.
    pub async fn count(&self, id: &str, event_type: &str) -> usize {
        self.entries(id, event_type).await.len()
    }

    /// Moves the world's clock (and its platform's) forward.
    pub fn advance(&self, by: time::Duration) {
        self.clock.advance(by);
        self.platform.shift_clock(by.whole_seconds());
    }

    /// Runs the queued slow work (war rooms, mentions) only.
    pub async fn run_work(&self) {
        for work in self.work.take() {
            self.gateway.run_work(&work).await.expect("work");
        }
    }

    /// Plain language by `user` in `channel`, handled through the worker; the bot's answers.
    pub async fn ask(&self, user: &str, channel: &str, text: &str, n: u32) -> Vec<String> {
        let request = self
            .platform
            .ask(user, channel, text, n)
            .expect("the platform takes plain language");
        let answer = self.send(&request).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        self.run_work().await;
        self.platform.answers(channel, n)
    }

    /// Routes every published event, delivers every job (retries included) and runs every
    /// piece of slow work, until nothing is left.
    pub async fn drain(&self) {
        let mut queue: VecDeque<(DeliveryJob, Instant)> = VecDeque::new();
        for _ in 0..50 {
            let mut progressed = false;
            for work in self.work.take() {
                self.gateway.run_work(&work).await.expect("work");
                progressed = true;
            }
            let events = self.publisher.events();
            let from = std::mem::replace(&mut *self.published.lock().expect("lock"), events.len());
            let providers = self.providers.all().await.expect("providers");
            for event in &events[from..] {
                let jobs =
                    im_core::delivery::jobs_for(providers.iter().map(|p| p.as_ref()), self.ledger.as_ref(), event)
                        .await
                        .expect("route");
                queue.extend(jobs.into_iter().map(|j| (j, Instant::now())));
                progressed = true;
            }
            while let Some((job, not_before)) = queue.pop_front() {
                progressed = true;
                tokio::time::sleep_until(not_before.into()).await;
                match self.deliverer.run(job).await.expect("store") {
                    Outcome::Requeue { job, delay, .. } => queue.push_back((*job, Instant::now() + delay)),
                    Outcome::DeadLetter { job, reason } => self.dead_letters.lock().expect("lock").push((*job, reason)),
                    Outcome::Deferred { .. } => panic!("real-time pacing never defers"),
                    Outcome::Delivered | Outcome::Skipped(_) => {}
                }
            }
            if !progressed {
                return;
            }
        }
        panic!("the pipeline did not settle");
    }
}

/// The first incident id in a text.
pub fn incident_id(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.starts_with("INC-"))
        .map(str::to_string)
}

/// `{"type": "ping"}` for the generic endpoint.
pub fn ping() -> Signed {
    (Vec::new(), json!({"type": "ping"}).to_string().into_bytes())
}
