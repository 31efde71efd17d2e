//! Operator actions over every platform, shared by the `im` command and the REST API: connection
//! checks, channel listings, provider status and routing, notify / message / broadcast through a
//! provider's own client (the messenger the notifier uses), and the steps that follow adding a
//! provider (binding a Slack provider to its workspace, registering `/im` with Discord).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use im_aws::Config;
use im_aws::{AwsClients, DynamoStore, ProviderDirectory, SqsPublisher};
use im_core::card::IncidentMessage;
use im_core::chat::{ChatError, Messenger};
use im_core::directory::ProviderSource;
use im_core::inbound::Platforms;
use im_core::invocation::{Actor, Interface, Invocation};
use im_core::message::{Block, Doc, Text};
use im_core::ports::IncidentStore;
use im_core::probe::Probe;
use im_core::provider::{Provider, ProviderStatus};
use im_core::{Clock, EventKind, Incident, IncidentId, IncidentService, Origin, Severity, SystemClock, UserRef};
use serde_json::{Value, json};

/// Why an operator action could not be done, in words for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<im_core::StoreError> for Failure {
    fn from(e: im_core::StoreError) -> Self {
        Failure(e.to_string())
    }
}

/// What an operator command needs.
pub struct Sender {
    pub clients: Arc<AwsClients>,
    pub directory: ProviderDirectory,
    pub platforms: Platforms,
    pub clock: Arc<dyn Clock>,
}

/// Posts, waiting out the platform's rate limit (its own `Retry-After`, up to 30 s, three
/// times) and retrying a transient failure once; the same key on every try, so platforms with
/// idempotent sends never post twice.
async fn post_ref(messenger: &dyn Messenger, channel: &str, doc: &Doc) -> Result<im_core::chat::MessageRef, ChatError> {
    let key = ulid::Ulid::generate().to_string();
    let mut result = messenger.post(channel, doc, &key).await;
    for _ in 0..3 {
        match &result {
            Err(ChatError::RateLimited { wait, .. }) if *wait <= Duration::from_secs(30) => {
                tokio::time::sleep(*wait).await;
            }
            Err(ChatError::Transient(_)) => tokio::time::sleep(Duration::from_millis(500)).await,
            _ => break,
        }
        result = messenger.post(channel, doc, &key).await;
    }
    result
}

/// An incident of `severity` declared through `provider` now (in `channel`), for asking the
/// routing where changes of it would go.
/// `C_CRIT (severity)`: where a route goes and why.
fn described(routes: Vec<im_core::notify::Route>) -> Vec<String> {
    routes
        .into_iter()
        .map(|r| {
            let scope = serde_json::to_value(r.scope).ok();
            format!(
                "{} ({})",
                r.channel,
                scope.as_ref().and_then(|v| v.as_str()).unwrap_or_default()
            )
        })
        .collect()
}

fn sample_incident(
    provider: &Provider,
    severity: Severity,
    now: time::OffsetDateTime,
    channel: Option<&str>,
) -> Incident {
    Incident::declared(
        IncidentId::new(now.year(), 0),
        String::new(),
        severity,
        UserRef::new("-", None),
        now,
        Origin {
            platform: provider.platform.as_str().to_string(),
            provider: provider.name.clone(),
            channel: channel.map(str::to_string),
        },
    )
}

/// A provider with what acting on it needs.
pub(crate) struct Resolved {
    pub(crate) provider: Arc<Provider>,
    pub(crate) adapter: Option<Arc<dyn im_core::inbound::PlatformAdapter>>,
    pub(crate) secrets: Arc<im_core::provider::ProviderSecrets>,
}

impl Resolved {
    fn adapter(&self) -> Result<&Arc<dyn im_core::inbound::PlatformAdapter>, Failure> {
        self.adapter.as_ref().ok_or_else(|| {
            Failure(format!(
                "the {} platform is not available in this version yet",
                self.provider.platform
            ))
        })
    }
}

/// One channel's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub provider: String,
    pub channel: String,
    pub result: Result<(), String>,
}

impl Sent {
    pub fn line(&self) -> String {
        match &self.result {
            Ok(()) => format!("✓ {} → {}", self.provider, self.channel),
            Err(why) => format!("✗ {} → {}: {why}", self.provider, self.channel),
        }
    }
}

/// The operator, as the timeline names them.
pub(crate) fn operator() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "operator".into())
}

impl Sender {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        let platforms = crate::registry(clients.config());
        Self {
            directory: ProviderDirectory::new(clients.clone()),
            clients,
            platforms,
            clock: Arc::new(SystemClock),
        }
    }

    /// The provider's record, or a failure naming it.
    pub(crate) async fn record(&self, name: &str) -> Result<Arc<Provider>, Failure> {
        self.directory
            .provider(name)
            .await?
            .ok_or_else(|| Failure(format!("provider `{name}` not found (see `im chatops list`)")))
    }

    /// The provider, its platform's adapter (`None` when this build lacks the platform) and
    /// its secrets.
    pub(crate) async fn resolve(&self, name: &str) -> Result<Resolved, Failure> {
        let provider = self.record(name).await?;
        let adapter = self.platforms.get(provider.platform.as_str()).cloned();
        let secrets = ProviderSource::secrets(&self.directory, &provider)
            .await
            .map_err(|e| Failure(format!("reading the secrets of `{name}`: {e}")))?;
        Ok(Resolved {
            provider,
            adapter,
            secrets,
        })
    }

    async fn provider(&self, name: &str) -> Result<(Arc<Provider>, Arc<dyn Messenger>), Failure> {
        let r = self.resolve(name).await?;
        let messenger = r
            .adapter()?
            .messenger(&r.provider, &r.secrets)
            .map_err(|e| Failure(format!("`{name}` cannot send: {e}")))?;
        Ok((r.provider, messenger))
    }

    /// [`post_ref`], as one channel's result.
    async fn post(&self, provider: &Provider, messenger: &dyn Messenger, channel: &str, doc: &Doc) -> Sent {
        Sent {
            provider: provider.name.clone(),
            channel: channel.to_string(),
            result: post_ref(messenger, channel, doc)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }

    /// `test NAME`: the platform's own checks, then what only we can tell: whether its inbound
    /// key is set, and (for platforms that cannot report their command setup) whether a signed
    /// request has arrived.
    pub async fn test(&self, name: &str) -> Result<Vec<Probe>, Failure> {
        let Resolved {
            provider,
            adapter,
            secrets,
        } = self.resolve(name).await?;
        let Some(adapter) = adapter else {
            return Ok(vec![Probe::fail(
                "Platform available",
                format!(
                    "the {} platform is not available in this version yet",
                    provider.platform
                ),
            )]);
        };
        let mut probes = adapter.probe(&provider, &secrets).await;
        if provider.status == ProviderStatus::Inactive {
            probes.insert(
                0,
                Probe::fail(
                    "Provider active",
                    format!("`{name}` is inactive: im chatops update {name} --enable"),
                ),
            );
        }
        // From the secrets already read for the probe.
        let gaps = match self.directory.spec(provider.platform.as_str()) {
            Some(spec) => im_aws::providers::missing_inbound(spec, &provider.config, |k| {
                secrets
                    .get(k)
                    .is_some_and(|v| !secrecy::ExposeSecret::expose_secret(v).trim().is_empty())
            }),
            None => Vec::new(),
        };
        const COMMANDS: &str = "Slash commands configured";
        if !gaps.is_empty() {
            probes.retain(|p| p.check != COMMANDS);
            probes.push(Probe::fail(
                COMMANDS,
                format!(
                    "{} is not set, so every request is refused: im chatops update {name} --config '{{\"{}\": \"…\"}}'",
                    gaps.join(", "),
                    gaps[0]
                ),
            ));
        } else if !probes.iter().any(|p| p.check == COMMANDS) {
            let store = im_aws::deliveries::DeliveryStore::new(self.clients.clone());
            let seen = store.is_marked(&format!("seen:{name}")).await?;
            probes.push(if seen {
                Probe::pass(COMMANDS, "a signed request arrived in the last 30 days")
            } else {
                Probe::unknown(
                    COMMANDS,
                    format!(
                        "not seen yet: {} cannot report it; send /im help there (Request URL …/chatops/{}/{name})",
                        provider.platform, provider.platform
                    ),
                )
            });
        }
        Ok(probes)
    }

    /// `health --provider NAME`: credentials, the last delivery and the week's deliveries, dead
    /// letters waiting, and the delivery backlog.
    pub async fn health(&self, name: &str) -> Result<Vec<Probe>, Failure> {
        let r = self.resolve(name).await?;
        let mut out = Vec::new();
        match &r.adapter {
            None => out.push(Probe::fail(
                "Credentials valid",
                format!(
                    "the {} platform is not available in this version yet",
                    r.provider.platform
                ),
            )),
            Some(adapter) => {
                if let Some(first) = adapter.probe(&r.provider, &r.secrets).await.into_iter().next() {
                    out.push(Probe {
                        check: "Credentials valid".into(),
                        ..first
                    });
                }
            }
        }
        let today = self.clock.now().date();
        let log = im_aws::usage::DynamoUsage::new(self.clients.clone());
        let days = im_core::usage::UsageLog::days(&log, today - time::Duration::days(6), today).await?;
        let key = |what: &str| format!("{what}|{}", name.replace('|', "/"));
        let (delivered, failed, last) = days.iter().fold((0u64, 0u64, 0u64), |(d, f, l), (_, c)| {
            (
                d + c.get(&key("delivered_by")).copied().unwrap_or(0),
                f + c.get(&key("failed_by")).copied().unwrap_or(0),
                l.max(c.get(&key("last_delivery")).copied().unwrap_or(0)),
            )
        });
        const DELIVERY: &str = "Deliveries";
        let week = format!("{delivered} delivered, {failed} failed in 7 days");
        out.push(match (delivered, failed) {
            (0, 0) => Probe::unknown(DELIVERY, "none in 7 days"),
            (0, _) => Probe::fail(DELIVERY, week),
            _ => {
                let ago = self
                    .clock
                    .now()
                    .unix_timestamp()
                    .max(0)
                    .unsigned_abs()
                    .saturating_sub(last);
                let ago =
                    im_core::template::human_duration(time::Duration::seconds(i64::try_from(ago).unwrap_or(i64::MAX)));
                Probe::pass(DELIVERY, format!("last {ago} ago; {week}"))
            }
        });
        let config = self.clients.config();
        match &config.deliveries_dlq {
            None => out.push(Probe::unknown("Dead letters", "DELIVERIES_DLQ_URL is not set")),
            Some(dlq) => {
                let queue = im_aws::sqs::Queue::new(self.clients.clone(), dlq.clone());
                let letters = im_aws::dlq::list(&queue, 1000)
                    .await
                    .map_err(|e| Failure(e.to_string()))?;
                let mine: Vec<_> = letters.iter().filter(|l| l.provider == name).collect();
                out.push(match mine.first() {
                    None => Probe::pass("Dead letters", "none"),
                    Some(first) => Probe::fail(
                        "Dead letters",
                        format!(
                            "{} waiting (e.g. {} in {}): im chatops dlq list, fix, then im chatops dlq redrive",
                            mine.len(),
                            first.reason,
                            first.channel
                        ),
                    ),
                });
            }
        }
        match &config.deliveries_queue {
            None => out.push(Probe::unknown("Delivery backlog", "DELIVERIES_QUEUE_URL is not set")),
            Some(q) => {
                let depth = im_aws::sqs::Queue::new(self.clients.clone(), q.clone())
                    .depth()
                    .await
                    .map_err(|e| Failure(e.to_string()))?;
                out.push(Probe::pass(
                    "Delivery backlog",
                    format!("{depth} message(s) waiting, all providers"),
                ));
            }
        }
        Ok(out)
    }

    /// `test-notifications --provider NAME`: a TEST card in each channel the provider routes
    /// anything to, edited once, then deleted. One check per channel.
    pub async fn test_notifications(&self, name: &str) -> Result<Vec<Probe>, Failure> {
        let (provider, messenger) = self.provider(name).await?;
        let now = self.clock.now();
        let mut channels: Vec<String> = Vec::new();
        for severity in [Severity::Sev1, Severity::Sev2, Severity::Sev3, Severity::Sev4] {
            let incident = sample_incident(&provider, severity, now, None);
            for kind in [EventKind::IncidentCreated, EventKind::SlaBreach] {
                for route in im_core::notify::route_incident(&provider.name, &provider.config, kind, &incident, &[]) {
                    if !channels.contains(&route.channel) {
                        channels.push(route.channel);
                    }
                }
            }
        }
        if channels.is_empty() {
            return Err(Failure(format!(
                "`{name}` routes nothing anywhere (notifications off, or no channels): see `im chatops config --provider {name}`"
            )));
        }
        let mut out = Vec::new();
        for channel in channels {
            let card = TestCard {
                title: Some(format!("Notification test for {channel}")),
                ..TestCard::default()
            };
            let doc = test_card("INC-TEST", &provider, now, EventKind::IncidentCreated, &card);
            let message = match post_ref(messenger.as_ref(), &channel, &doc).await {
                Ok(m) => m,
                Err(e) => {
                    out.push(Probe::fail(
                        channel.clone(),
                        format!("posting failed: {}", im_core::probe::explain(&e)),
                    ));
                    continue;
                }
            };
            let edited = test_card("INC-TEST", &provider, now, EventKind::IncidentAcknowledged, &card);
            if let Err(e) = messenger.update(&message, &edited).await {
                out.push(Probe::fail(
                    channel.clone(),
                    format!("posted, but editing failed: {}", im_core::probe::explain(&e)),
                ));
                continue;
            }
            out.push(match messenger.delete(&message).await {
                Ok(()) => Probe::pass(channel.clone(), "posted, edited, deleted"),
                Err(e) => Probe::fail(
                    channel.clone(),
                    format!(
                        "posted and edited, but deleting failed: {}",
                        im_core::probe::explain(&e)
                    ),
                ),
            });
        }
        Ok(out)
    }

    /// `interact-test NAME`, first half: a message with a test button in the default channel.
    /// Returns the message and the nonce its button carries.
    pub async fn post_test_button(
        &self,
        name: &str,
        timeout_s: u64,
    ) -> Result<(im_core::chat::MessageRef, IncidentId), Failure> {
        let (provider, messenger) = self.provider(name).await?;
        let channel = provider
            .config
            .default_channel
            .clone()
            .ok_or_else(|| Failure(format!("`{name}` has no default_channel to post the test button in")))?;
        let mut random = [0u8; 4];
        let seq = match getrandom::fill(&mut random) {
            Ok(()) => u64::from(u32::from_le_bytes(random)),
            Err(_) => u64::from(self.clock.now().nanosecond()),
        };
        let nonce = IncidentId::new(self.clock.now().year(), 1_000_000 + seq % 1_000_000_000);
        let mut doc = Doc::new(Text::from("Interactivity test from im"));
        doc.push(Block::Paragraph(Text::from(format!(
            "🧪 Interactivity test from im: click the button within {timeout_s} s. Nothing about any incident changes."
        ))));
        doc.push(Block::Buttons(vec![im_core::message::Element::Button {
            action: im_core::action::ActionKey::Test,
            label: "Click to test".into(),
            style: im_core::message::Style::Primary,
            incident: nonce.clone(),
            value: None,
        }]));
        let message = post_ref(messenger.as_ref(), &channel, &doc)
            .await
            .map_err(|e| Failure(format!("posting the test button: {}", im_core::probe::explain(&e))))?;
        Ok((message, nonce))
    }

    /// `interact-test NAME`, second half: waits until a verified click on the button arrived.
    pub async fn wait_for_click(&self, name: &str, nonce: &IncidentId, timeout: Duration) -> Result<bool, Failure> {
        let store = im_aws::deliveries::DeliveryStore::new(self.clients.clone());
        let mark = im_core::action::interact_test_mark(name, nonce);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if store.is_marked(&mark).await? {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Removes a message the operator commands posted (best effort).
    pub async fn remove_message(&self, name: &str, message: &im_core::chat::MessageRef) -> Result<(), Failure> {
        let (_, messenger) = self.provider(name).await?;
        messenger
            .delete(message)
            .await
            .map_err(|e| Failure(im_core::probe::explain(&e)))
    }

    /// `channels --provider NAME`.
    pub async fn channels(&self, name: &str) -> Result<Vec<im_core::probe::ChannelInfo>, Failure> {
        let r = self.resolve(name).await?;
        r.adapter()?.channels(&r.provider, &r.secrets).await.map_err(|e| {
            Failure(format!(
                "listing the channels of `{name}`: {}",
                im_core::probe::explain(&e)
            ))
        })
    }

    /// `status`: one row per provider.
    pub async fn status(&self) -> Result<Vec<serde_json::Value>, Failure> {
        let store = im_aws::deliveries::DeliveryStore::new(self.clients.clone());
        let mut rows = Vec::new();
        for provider in self.directory.list().await? {
            let gaps = self
                .directory
                .inbound_gaps(&provider)
                .await
                .map_err(|e| Failure(e.to_string()))?;
            let seen = store.is_marked(&format!("seen:{}", provider.name)).await?;
            rows.push(serde_json::json!({
                "provider": provider.name,
                "platform": provider.platform.as_str(),
                "status": provider.status.as_str(),
                "channels": provider.config.channel_count(),
                "notifications": provider.config.enable_notifications,
                "inbound": if gaps.is_empty() { "ready".to_string() } else { format!("needs {}", gaps.join(", ")) },
                "requests_seen": seen,
                "platform_available": self.platforms.get(provider.platform.as_str()).is_some(),
            }));
        }
        Ok(rows)
    }

    /// The channels each kind of change reaches on a provider (`config --provider`).
    pub fn routing(provider: &Provider) -> serde_json::Value {
        let now = time::OffsetDateTime::now_utc();
        let mut out = serde_json::Map::new();
        for severity in [Severity::Sev1, Severity::Sev2, Severity::Sev3, Severity::Sev4] {
            let incident = sample_incident(provider, severity, now, Some("<declared here>"));
            let channels = |kind| {
                described(im_core::notify::route_incident(
                    &provider.name,
                    &provider.config,
                    kind,
                    &incident,
                    &[],
                ))
            };
            out.insert(
                severity.as_str().to_string(),
                serde_json::json!({
                    "declared": channels(EventKind::IncidentCreated),
                    "sla_breach": channels(EventKind::SlaBreach),
                    "resolved": channels(EventKind::IncidentResolved),
                }),
            );
        }
        // Where a declared incident of each service with its own channel goes, at the default
        // severity.
        let mut services = serde_json::Map::new();
        for service in provider.config.service_channels.keys() {
            let mut incident =
                sample_incident(provider, provider.config.default_severity, now, Some("<declared here>"));
            incident.service = Some(service.clone());
            let routes = im_core::notify::route_incident(
                &provider.name,
                &provider.config,
                EventKind::IncidentCreated,
                &incident,
                &[],
            );
            services.insert(service.clone(), serde_json::json!(described(routes)));
        }
        if !services.is_empty() {
            out.insert("services".into(), serde_json::Value::Object(services));
        }
        serde_json::Value::Object(out)
    }

    /// `notify NAME INCIDENT`: a stored incident's card, untracked, to each channel a change of
    /// its state would reach on this provider, recorded on its timeline (`chatops.notify`); an id
    /// that is not stored sends a card marked TEST to the default channel and stores nothing.
    pub async fn notify(&self, name: &str, incident: &str) -> Result<(Vec<Sent>, bool), Failure> {
        self.notify_as(name, incident, None, &TestCard::default()).await
    }

    /// [`Self::notify`] as a change of `kind` (else the incident's state), with what a TEST card
    /// shows for an id that is not stored (the REST API's `data`).
    pub async fn notify_as(
        &self,
        name: &str,
        incident: &str,
        kind: Option<EventKind>,
        test: &TestCard,
    ) -> Result<(Vec<Sent>, bool), Failure> {
        let (provider, messenger) = self.provider(name).await?;
        let now = self.clock.now();
        let store = DynamoStore::new(self.clients.clone());
        let stored = match IncidentId::parse(incident) {
            Ok(id) => store.get(&id).await?,
            Err(_) => None,
        };
        let Some(stored) = stored else {
            let channel = provider.config.default_channel.clone().ok_or_else(|| {
                Failure(format!(
                    "{incident} is not a stored incident, and `{name}` has no default_channel for a test card"
                ))
            })?;
            let doc = test_card(
                incident,
                &provider,
                now,
                kind.unwrap_or(EventKind::IncidentCreated),
                test,
            );
            return Ok((
                vec![self.post(&provider, messenger.as_ref(), &channel, &doc).await],
                false,
            ));
        };
        let kind = kind.unwrap_or_else(|| EventKind::for_status(stored.status));
        let routes = im_core::notify::route_incident(&provider.name, &provider.config, kind, &stored, &[]);
        if routes.is_empty() {
            return Err(Failure(format!(
                "`{name}` routes {} nowhere (notifications off, or no channel for {}): see `im chatops config --provider {name}`",
                stored.id, stored.severity
            )));
        }
        // The card the notifier would post: with the owning team's members to assign.
        let teams = ProviderSource::teams(&self.directory).await?;
        let doc = IncidentMessage::new(&stored, kind, &provider.config, now)
            .card_with_teams(provider.platform.as_str(), &teams);
        let mut sent = Vec::new();
        for route in &routes {
            sent.push(self.post(&provider, messenger.as_ref(), &route.channel, &doc).await);
        }
        let delivered: Vec<String> = sent
            .iter()
            .filter(|s| s.result.is_ok())
            .map(|s| s.channel.clone())
            .collect();
        if !delivered.is_empty() {
            let service = IncidentService::new(store, SqsPublisher::new(self.clients.clone()), self.clock.clone());
            let inv = Invocation {
                actor: Actor {
                    platform: provider.platform.as_str().to_string(),
                    provider: provider.name.clone(),
                    user: UserRef::new(operator(), None),
                    channel: None,
                },
                interface: Interface::Chatops,
                prefix: "im chatops".into(),
                command_line: format!("im chatops notify {name} {}", stored.id),
                idempotency_key: None,
            };
            let outcome = service
                .record_notify(&inv, &stored.id, &provider.name, &delivered)
                .await;
            if let Some(failure) = outcome.failure {
                return Err(Failure(format!(
                    "sent, but the timeline entry was not recorded: {failure}"
                )));
            }
        }
        Ok((sent, true))
    }

    /// `message NAME TEXT`: the text, as plain text, to the provider's default channel.
    pub async fn message(&self, name: &str, text: &str) -> Result<Sent, Failure> {
        let (provider, messenger) = self.provider(name).await?;
        let channel = provider.config.default_channel.clone().ok_or_else(|| {
            Failure(format!(
                "`{name}` has no default_channel: set one with `im chatops update {name} --config '{{\"default_channel\": \"…\"}}'`"
            ))
        })?;
        let text = im_core::redact::Redactor::new(&provider.config.redact_patterns).text(text);
        Ok(self
            .post(&provider, messenger.as_ref(), &channel, &Doc::text(text))
            .await)
    }

    /// `broadcast TEXT`: [`Self::message`] to every active provider at once; `each` sees every
    /// result as it completes. Providers without a default channel are reported, not skipped.
    pub async fn broadcast(&self, text: &str, mut each: impl FnMut(&Sent)) -> Result<Vec<Sent>, Failure> {
        let providers: Vec<Provider> = self
            .directory
            .list()
            .await?
            .into_iter()
            .filter(|p| p.status == ProviderStatus::Active)
            .collect();
        if providers.is_empty() {
            return Err(Failure("no active providers to broadcast to".into()));
        }
        let mut pending: futures_util::stream::FuturesUnordered<_> = providers
            .iter()
            .map(|p| async move {
                match self.message(&p.name, text).await {
                    Ok(sent) => sent,
                    Err(Failure(why)) => Sent {
                        provider: p.name.clone(),
                        channel: p.config.default_channel.clone().unwrap_or_else(|| "-".into()),
                        result: Err(why),
                    },
                }
            })
            .collect();
        let mut all = Vec::new();
        while let Some(sent) = pending.next().await {
            each(&sent);
            all.push(sent);
        }
        Ok(all)
    }
}

/// The card for an id that is not stored: clearly a test, naming what was asked for.
/// What a TEST card shows (defaults: "Test notification", SEV-4, no message).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestCard {
    pub title: Option<String>,
    pub severity: Option<Severity>,
    pub message: Option<String>,
}

pub fn test_card(asked: &str, provider: &Provider, now: time::OffsetDateTime, kind: EventKind, test: &TestCard) -> Doc {
    let origin = Origin {
        platform: provider.platform.as_str().to_string(),
        provider: provider.name.clone(),
        channel: None,
    };
    let id = IncidentId::parse(asked).unwrap_or_else(|_| IncidentId::new(now.year(), 0));
    // Text from another system is redacted like what people type.
    let redactor = im_core::redact::Redactor::new(&provider.config.redact_patterns);
    let note = test.message.as_deref().map(|m| redactor.text(m));
    let incident = Incident::declared(
        id,
        redactor.text(test.title.as_deref().unwrap_or("Test notification")),
        test.severity.unwrap_or(Severity::Sev4),
        UserRef::new(operator(), None),
        now,
        origin,
    );
    let mut message = IncidentMessage::new(&incident, kind, &provider.config, now);
    message.note = note.as_deref();
    let mut doc = message.card(provider.platform.as_str());
    let banner = format!(
        "🧪 TEST notification from im: {asked} is not a stored incident; nothing was stored. \
         This is how incident cards look here."
    );
    doc.summary = Text::from(format!("[TEST] {asked}: {} ({})", incident.title, incident.severity));
    doc.blocks.insert(0, Block::Paragraph(Text::from(banner)));
    doc
}

/// Binds a new Slack provider to the workspace and app its bot token belongs to (unless the
/// configuration names them), so a validly signed request from any other is refused. Returns
/// the line to show.
pub async fn bind_slack(config: &Config, directory: &ProviderDirectory, provider: &Provider) -> String {
    if provider.config.platform_key("team_id").is_some() && provider.config.platform_key("api_app_id").is_some() {
        return "  Bound to the workspace and app in the configuration.".into();
    }
    let unbound = |why: String| {
        format!(
            "! Could not ask Slack which workspace this token belongs to ({why}): requests are not bound to a \
             workspace yet; set team_id and api_app_id to bind them."
        )
    };
    let secrets = match directory.secrets().read_raw(&provider.secret_name).await {
        Ok(Some(s)) => im_core::provider::ProviderSecrets::from_map(s),
        Ok(None) => return unbound("no secret".into()),
        Err(e) => return unbound(e.to_string()),
    };
    let adapter = im_slack::SlackAdapter::new(crate::slack_settings(config));
    let identity = match adapter.client(provider, &secrets) {
        Ok(client) => client.identity().await,
        Err(e) => return unbound(e.to_string()),
    };
    let (team, app) = match identity {
        Ok(found) => found,
        Err(e) => return unbound(e.to_string()),
    };
    let mut patch = serde_json::Map::new();
    if provider.config.platform_key("team_id").is_none() {
        patch.insert("team_id".into(), json!(team));
    }
    if let Some(app) = &app
        && provider.config.platform_key("api_app_id").is_none()
    {
        patch.insert("api_app_id".into(), json!(app));
    }
    match directory.update(&provider.name, Some(Value::Object(patch)), None).await {
        Ok(_) => format!(
            "✓ Bound to Slack workspace {team}{}: requests from any other are refused",
            app.map(|a| format!(" and app {a}")).unwrap_or_default()
        ),
        Err(e) => unbound(e.to_string()),
    }
}

/// Registers `/im` for a Discord provider (in its guild when it names one, or `guild`).
/// Returns the line to show.
pub async fn register_discord(
    config: &Config,
    directory: &ProviderDirectory,
    provider: &Provider,
    guild: Option<&str>,
) -> String {
    let failed = |why: String| {
        format!(
            "✗ Could not register /im with Discord ({why}); run `im chatops register-commands {}` to retry",
            provider.name
        )
    };
    let Some(app) = provider.config.platform_key("application_id") else {
        return failed("the provider has no application_id".into());
    };
    let secrets = match directory.secrets().read_raw(&provider.secret_name).await {
        Ok(Some(s)) => im_core::provider::ProviderSecrets::from_map(s),
        Ok(None) => return failed("no secret".into()),
        Err(e) => return failed(e.to_string()),
    };
    let adapter = im_discord::DiscordAdapter::new(crate::discord_settings(config));
    let client = match adapter.client(provider, &secrets) {
        Ok(client) => client,
        Err(e) => return failed(e.to_string()),
    };
    let guild = guild.or(provider.config.platform_key("guild_id"));
    match im_discord::commands::register(&client, app, guild).await {
        Ok(list) => format!(
            "✓ Registered /im ({} subcommands) {}",
            list.first()
                .and_then(|c| c["options"].as_array())
                .map(Vec::len)
                .unwrap_or(0),
            match guild {
                Some(g) => format!("in server {g} (available at once)"),
                None => "globally (Discord may take up to an hour to show it)".into(),
            }
        ),
        Err(e) => failed(e.to_string()),
    }
}
