//! The gates every inbound request passes, once for every platform.

use std::sync::Arc;
use std::time::{Duration, Instant};

use im_core::action::{ActionKey, ActionRef, Resolved};
use im_core::card::IncidentMessage;
use im_core::chat::MessageRef;
use im_core::command::{Segment, parse_segments, plain_text};
use im_core::delivery::{Deliverer, Edit, MessageKey, Target};
use im_core::directory::ProviderSource;
use im_core::inbound::{
    Answer, Context, Exchange, Form, HttpAnswer, Inbound, PlatformAdapter, Platforms, Request, Submission, Visibility,
    check_tenant,
};
use im_core::invocation::{Actor, Interface, Invocation};
use im_core::message::Doc;
use im_core::ports::{EventPublisher, IncidentStore};
use im_core::provider::{Provider, ProviderSecrets, ProviderStatus};
use im_core::reply::{CardKind, Reply};
use im_core::timeline::EventKind;
use im_core::usage::{Usage, UsageRecorder};
use im_core::work::{Begin, Inbox, Requester, Task, Work, WorkQueue};
use im_core::{Clock, Command, IncidentService};
use serde_json::json;
use tracing::{Instrument, error, info, info_span, warn};

use crate::gate::{Through, What};
use crate::rejections::Rejections;

/// Which route a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `/chatops/<platform>/{instance}`: the provider must be of that platform.
    Platform(&'static str),
    /// `/chatops/{provider}`: whatever the provider's platform is.
    Generic,
}

/// What a gateway is made of.
pub struct Parts<S, P> {
    pub service: IncidentService<S, P, Arc<dyn Clock>>,
    pub providers: Arc<dyn ProviderSource>,
    pub platforms: Platforms,
    pub deliverer: Arc<Deliverer>,
    pub inbox: Arc<dyn Inbox>,
    pub work: Arc<dyn WorkQueue>,
    pub clock: Arc<dyn Clock>,
    /// Usage counters and metrics (`im chatops stats`, `/dashboard`, CloudWatch).
    pub usage: Arc<dyn UsageRecorder>,
    /// Conversation context, open questions, on-call rotations, identity checks, limits.
    pub memo: Arc<dyn im_core::conversation::Memo>,
    /// External policy endpoints (`rbac.policy_url`).
    pub roles: Arc<dyn im_core::access::RoleSource>,
    /// Workflow commands' receivers (`workflows`).
    pub workflows: Arc<dyn im_core::workflow::WorkflowSender>,
}

/// Every gate, once for every platform, over the parts.
pub struct Gateway<S, P> {
    parts: Parts<S, P>,
    pub(crate) gate: im_core::access::Gate,
    rejections: Rejections,
    /// Providers this process recorded a verified request for, and when.
    seen: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
}

/// How long the record that a provider's requests arrive (`seen:<provider>`) lasts; `im chatops
/// test` reads it for the checks a platform cannot answer itself (Slack's slash command setup).
pub const SEEN_TTL_SECONDS: i64 = 30 * 86_400;
/// How often one process renews it.
const SEEN_EVERY: Duration = Duration::from_secs(3600);

impl<S, P> std::ops::Deref for Gateway<S, P> {
    type Target = Parts<S, P>;

    fn deref(&self) -> &Parts<S, P> {
        &self.parts
    }
}

/// The most time recording usage may add to an answer.
const USAGE_BUDGET: Duration = Duration::from_millis(250);

/// How long a request id's handling may take before a retry may take it over.
const INBOX_LEASE_MS: i64 = 60_000;

fn error(status: u16, message: impl Into<String>) -> HttpAnswer {
    HttpAnswer {
        status,
        ..HttpAnswer::json(&json!({ "error": message.into() }))
    }
}

fn unauthorized() -> HttpAnswer {
    HttpAnswer {
        status: 401,
        content_type: None,
        body: Vec::new(),
    }
}

fn private(text: impl Into<String>) -> Doc {
    Reply::Refused { message: text.into() }.doc(time::OffsetDateTime::now_utc())
}

/// `{"type": "ping"}` (a connectivity check, unsigned).
fn is_ping(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|v| v.get("type").and_then(|t| t.as_str()) == Some("ping"))
}

/// What the request record says about a request, filled in as it is handled.
#[derive(Default)]
struct Note {
    platform: String,
    kind: String,
    reason: String,
}

/// One request, once verified: the provider, its adapter and secrets, and when it started.
struct Call<'a> {
    provider: &'a Provider,
    adapter: &'a Arc<dyn PlatformAdapter>,
    secrets: &'a ProviderSecrets,
    started: Instant,
}

impl Call<'_> {
    fn platform(&self) -> &str {
        self.adapter.spec().name
    }

    fn exchange<'b>(&'b self, ctx: &'b Context) -> Exchange<'b> {
        Exchange {
            provider: self.provider,
            secrets: self.secrets,
            ctx: Some(ctx),
        }
    }

    /// What is left of the platform's deadline.
    fn remaining(&self) -> Duration {
        self.adapter.deadline().saturating_sub(self.started.elapsed())
    }

    /// The provider and its client, for the access gate.
    fn through(&self) -> Through<'_> {
        Through {
            provider: self.provider,
            secrets: self.secrets,
            messenger: self.adapter.messenger(self.provider, self.secrets).ok(),
        }
    }

    /// Slow work for the interaction worker, keyed by the request's id (stable across retries).
    fn work(&self, ctx: &Context, task: Task, command_line: String) -> Work {
        Work {
            id: ctx
                .request_id
                .clone()
                .unwrap_or_else(|| ulid::Ulid::generate().to_string()),
            provider: self.provider.name.clone(),
            platform: self.platform().to_string(),
            requester: Requester {
                user: ctx.user.clone(),
                channel: ctx.channel.clone(),
                reply_to: ctx.reply_to.clone(),
                message: ctx.message.clone(),
            },
            task,
            command_line,
        }
    }

    fn invocation(&self, ctx: &Context, command_line: String, key: Option<String>) -> Invocation {
        Invocation {
            actor: Actor {
                platform: self.platform().to_string(),
                provider: self.provider.name.clone(),
                user: ctx.user.clone(),
                channel: ctx.channel.clone(),
            },
            interface: Interface::Chatops,
            prefix: if ctx.prefix.is_empty() {
                "/im".into()
            } else {
                ctx.prefix.clone()
            },
            command_line,
            idempotency_key: key,
        }
    }
}

impl<S: IncidentStore, P: EventPublisher> Gateway<S, P> {
    pub fn new(parts: Parts<S, P>) -> Self {
        let gate = im_core::access::Gate::new(
            parts.memo.clone(),
            parts.roles.clone(),
            parts.providers.clone(),
            parts.clock.clone(),
        );
        Self {
            parts,
            gate,
            rejections: Rejections::default(),
            seen: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Handles one request to its HTTP answer. Never panics, never 5xx for bad input. Each
    /// request is recorded (provider, kind, verdict, latency; never its body) for `webhooks
    /// --recent`.
    pub async fn handle(&self, via: Via, name: &str, headers: &[(String, String)], body: &[u8]) -> HttpAnswer {
        let span =
            info_span!("webhook", provider = %name, platform = tracing::field::Empty, kind = tracing::field::Empty);
        let started = Instant::now();
        let mut note = Note::default();
        let answer = self
            .handle_inner(via, name, headers, body, &mut note)
            .instrument(span)
            .await;
        let verdict = if !note.reason.is_empty() {
            note.reason
        } else if (200..300).contains(&answer.status) {
            "answered".to_string()
        } else {
            // Our own error text (`no slack integration named …`), never the request's body.
            serde_json::from_slice::<serde_json::Value>(&answer.body)
                .ok()
                .and_then(|v| v["error"].as_str().map(|e| e.chars().take(120).collect()))
                .unwrap_or_else(|| format!("HTTP {}", answer.status))
        };
        let record = im_core::usage::RequestRecord {
            at: im_core::message::rfc3339(self.clock.now()),
            provider: name.chars().take(64).collect(),
            platform: note.platform,
            kind: note.kind,
            status: answer.status,
            verdict,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        if tokio::time::timeout(USAGE_BUDGET, self.usage.request(record))
            .await
            .is_err()
        {
            warn!("request record not kept within its budget");
        }
        answer
    }

    async fn handle_inner(
        &self,
        via: Via,
        name: &str,
        headers: &[(String, String)],
        body: &[u8],
        note: &mut Note,
    ) -> HttpAnswer {
        let started = Instant::now();
        let request = Request::new(headers, body);
        if via == Via::Generic && is_ping(body) {
            note.kind = "ping".into();
            return self.ping(name).await;
        }
        let provider = match self.providers.provider(name).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                return error(
                    404,
                    match via {
                        Via::Platform(p) => format!("no {p} integration named `{name}`"),
                        Via::Generic => format!("no integration named `{name}`"),
                    },
                );
            }
            Err(e) => {
                error!(error = %e, "provider lookup failed");
                return error(503, "the integration is temporarily unavailable");
            }
        };
        let platform = provider.platform.as_str();
        tracing::Span::current().record("platform", platform);
        note.platform = platform.to_string();
        if let Via::Platform(expected) = via
            && expected != platform
        {
            return error(404, format!("no {expected} integration named `{name}`"));
        }
        let Some(adapter) = self.platforms.get(platform) else {
            return error(404, format!("the {platform} platform is not available in this version"));
        };
        let secrets = match self.providers.secrets(&provider).await {
            Ok(s) => s,
            Err(e) => {
                error!(error = %e, "reading the provider's secrets failed");
                return error(503, "the integration is temporarily unavailable");
            }
        };
        let now = self.clock.now().unix_timestamp();
        let secrets = match adapter.verify(&request, &provider, &secrets, now) {
            Ok(()) => secrets,
            Err(first) => {
                // A rotated secret: read it again (at most every few seconds) and try once more.
                let fresh = match self.providers.refresh_secrets(&provider).await {
                    Ok(Some(fresh)) => adapter.verify(&request, &provider, &fresh, now).map(|()| fresh),
                    _ => Err(first),
                };
                match fresh {
                    Ok(fresh) => fresh,
                    Err(reason) => {
                        self.rejections.note(&provider.name, &reason.to_string());
                        note.reason = reason.to_string();
                        return unauthorized();
                    }
                }
            }
        };
        self.note_seen(&provider.name).await;
        let inbound = match adapter.parse(&request, &provider.name) {
            // What people typed loses its secrets and addresses here, before it is stored,
            // queued, logged or posted anywhere.
            Ok(inbound) => im_core::redact::Redactor::new(&provider.config.redact_patterns).inbound(inbound),
            Err(e) => return error(400, e.to_string()),
        };
        tracing::Span::current().record("kind", inbound.kind());
        note.kind = inbound.kind().to_string();
        let call = Call {
            provider: &provider,
            adapter,
            secrets: &secrets,
            started,
        };
        let ctx = match &inbound {
            Inbound::Challenge(challenge) => {
                let exchange = Exchange {
                    provider: &provider,
                    secrets: &secrets,
                    ctx: None,
                };
                return adapter.answer(exchange, Answer::Challenge(challenge.clone())).await;
            }
            Inbound::Ignored(why) => {
                info!(why = %why, "acknowledged, not acted on");
                return HttpAnswer::empty();
            }
            other => match other.context() {
                Some(ctx) => ctx,
                None => return HttpAnswer::empty(),
            },
        };
        // What is not served here (a direct message) is said politely, before anything else.
        if let Inbound::Unsupported { ctx, reason } = &inbound {
            let answer = Answer::Reply {
                doc: Doc::text(reason.as_str()),
                visibility: Visibility::Private,
            };
            return adapter.answer(call.exchange(ctx), answer).await;
        }
        if let Err(why) = check_tenant(adapter.spec(), &provider, ctx) {
            self.rejections.note(&provider.name, &format!("tenant: {why}"));
            note.reason = format!("tenant: {why}");
            return error(
                403,
                "this request comes from a workspace or app this integration is not bound to",
            );
        }
        if provider.status == ProviderStatus::Inactive {
            note.reason = "the provider is inactive".into();
            let doc = private("This incident integration is inactive. Ask an admin to enable it.");
            return self.refuse(&call, ctx, &inbound, doc).await;
        }
        match inbound {
            Inbound::Command { ctx, text } => self.command(&call, &ctx, &text).await,
            Inbound::Mention { ctx, text } => self.mention(&call, &ctx, &text).await,
            Inbound::Autocomplete { ctx, query } => self.autocomplete(&call, &ctx, &query).await,
            Inbound::Action { ctx, action } => self.action(&call, &ctx, &action).await,
            Inbound::Submission { ctx, submission } => self.submission(&call, &ctx, submission).await,
            Inbound::Unsupported { .. } | Inbound::Challenge(_) | Inbound::Ignored(_) => HttpAnswer::empty(),
        }
    }

    /// Records (at most hourly per process) that a verified request for `provider` arrived.
    async fn note_seen(&self, provider: &str) {
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.get(provider).is_some_and(|at| at.elapsed() < SEEN_EVERY) {
                return;
            }
            seen.insert(provider.to_string(), Instant::now());
        }
        let expires = self.clock.now().unix_timestamp() + SEEN_TTL_SECONDS;
        let name = format!("seen:{provider}");
        let mark = self.deliverer.ledger().mark_once(&name, expires);
        match tokio::time::timeout(USAGE_BUDGET, mark).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => warn!(error = %e, "recording that requests arrive"),
            Err(_) => warn!("recording that requests arrive took too long"),
        }
    }

    /// A refusal, in the form the request expects.
    async fn refuse(&self, call: &Call<'_>, ctx: &Context, inbound: &Inbound, doc: Doc) -> HttpAnswer {
        let answer = match inbound {
            Inbound::Action { .. } => Answer::Clicked {
                updated: None,
                private: Some(doc),
            },
            Inbound::Submission { .. } => Answer::FormError {
                message: doc.summary.plain_text(),
            },
            Inbound::Autocomplete { .. } => Answer::Choices(Vec::new()),
            Inbound::Mention { .. } => {
                self.reply_in_thread(call, ctx, &doc).await;
                Answer::Empty
            }
            _ => Answer::Reply {
                doc,
                visibility: Visibility::Private,
            },
        };
        call.adapter.answer(call.exchange(ctx), answer).await
    }

    async fn ping(&self, name: &str) -> HttpAnswer {
        // Reads the record only: no secret, no write.
        match self.providers.provider(name).await {
            Ok(Some(p)) => HttpAnswer::json(&json!({
                "type": "pong",
                "provider": p.name,
                "platform": p.platform.as_str(),
                "status": p.status.as_str(),
            })),
            Ok(None) => error(404, format!("no integration named `{name}`")),
            Err(e) => {
                error!(error = %e, "provider lookup failed");
                error(503, "the integration is temporarily unavailable")
            }
        }
    }

    /// Runs a command with the provider's settings, within what is left of the deadline, and
    /// counts it: as a command when it was `typed` (a click is counted by its action), and the
    /// time to acknowledge when it acknowledged an incident.
    async fn run(&self, call: &Call<'_>, inv: &Invocation, command: Command, typed: bool) -> Reply {
        let verb = command.verb().map(|v| v.name()).unwrap_or("other");
        let through = call.through();
        match tokio::time::timeout(call.remaining(), Box::pin(self.execute(&through, inv, command))).await {
            Ok(outcome) => {
                if let Some(failure) = &outcome.failure {
                    error!(command = verb, %failure, "command hit an infrastructure failure");
                }
                info!(command = verb, changed = outcome.event.is_some(), "command handled");
                if typed {
                    self.count(call, inv, verb, outcome.failure.is_none()).await;
                }
                if let Some(event) = outcome
                    .event
                    .as_ref()
                    .filter(|e| e.kind == EventKind::IncidentAcknowledged)
                    && let Some(after) = event.incident.time_to_acknowledge()
                {
                    let usage = Usage::Acknowledged {
                        platform: call.platform().to_string(),
                        after_seconds: after.whole_seconds().max(0).unsigned_abs(),
                    };
                    self.record(usage).await;
                }
                outcome.reply
            }
            Err(_) => {
                error!(command = verb, "command exceeded the platform's deadline");
                if typed {
                    self.count(call, inv, verb, false).await;
                }
                Reply::Text {
                    text: format!(
                        "This is taking longer than expected and may still complete. Check with `{} list` before trying again.",
                        inv.prefix
                    ),
                    in_channel: false,
                }
            }
        }
    }

    /// Records usage, within a small budget: counting never holds up an answer for long.
    pub(crate) async fn record(&self, usage: Usage) {
        let at = self.clock.now();
        if tokio::time::timeout(USAGE_BUDGET, self.usage.record(at, usage))
            .await
            .is_err()
        {
            warn!("usage not recorded within its budget");
        }
    }

    async fn count(&self, call: &Call<'_>, inv: &Invocation, command: &str, ok: bool) {
        let usage = Usage::Command {
            platform: call.platform().to_string(),
            provider: call.provider.name.clone(),
            command: command.to_string(),
            user: inv.actor.user.id.clone(),
            channel: inv.actor.channel.clone(),
            ok,
        };
        self.record(usage).await;
    }

    async fn clicked(&self, call: &Call<'_>, ctx: &Context, action: &str) {
        let usage = Usage::Click {
            platform: call.platform().to_string(),
            provider: call.provider.name.clone(),
            action: action.to_string(),
            user: ctx.user.id.clone(),
            channel: ctx.channel.clone(),
            answered_ms: u64::try_from(call.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        self.record(usage).await;
    }

    fn reply_answer(&self, reply: &Reply) -> Answer {
        Answer::Reply {
            doc: reply.doc(self.clock.now()),
            visibility: if reply.in_channel() {
                Visibility::Channel
            } else {
                Visibility::Private
            },
        }
    }

    /// Parses and runs command text (a slash command, or a mention that starts with a verb).
    async fn command_text(&self, call: &Call<'_>, ctx: &Context, text: &[Segment], key: Option<String>) -> Reply {
        let plain = plain_text(text);
        let inv = call.invocation(ctx, format!("{} {}", ctx.prefix, plain.trim()).trim().to_string(), key);
        match parse_segments(text) {
            Ok(command) => self.dispatch(call, ctx, &inv, command, true).await,
            Err(usage) => Reply::Usage {
                usage: usage.verb.usage(&inv.prefix),
                problem: usage.problem,
            },
        }
    }

    /// Runs a command (typed, or what a button amounts to); a workflow command of the provider
    /// (unless a command registered in code has its name) starts its workflow.
    async fn dispatch(&self, call: &Call<'_>, ctx: &Context, inv: &Invocation, command: Command, typed: bool) -> Reply {
        match command {
            Command::Custom { name, args }
                if !self.service.has_custom(&name) && call.provider.config.workflows.contains_key(&name) =>
            {
                self.start_workflow(call, ctx, inv, name, args, typed).await
            }
            command => self.run(call, inv, command, typed).await,
        }
    }

    /// A workflow command: checked like any command (`custom:<name>`), then queued for the
    /// worker, which sends it and reports back; answered at once.
    async fn start_workflow(
        &self,
        call: &Call<'_>,
        ctx: &Context,
        inv: &Invocation,
        name: String,
        args: Vec<String>,
        typed: bool,
    ) -> Reply {
        let policy = format!("custom:{name}");
        let incident = im_core::command::incident_arg(&args);
        let what = What {
            name: &policy,
            changes: true,
            incident: None,
            incident_id: incident.as_ref(),
            to_severity: None,
            preview: false,
        };
        if let Err(reply) = Box::pin(self.admit(&call.through(), inv, what)).await {
            if typed {
                self.count(call, inv, "custom", true).await;
            }
            return reply;
        }
        let work = call.work(
            ctx,
            Task::Workflow {
                name: name.clone(),
                args,
            },
            inv.command_line.clone(),
        );
        let reply = match self.work.enqueue(&work).await {
            Ok(()) => Reply::Text {
                text: format!("⏳ `{name}` is on its way to its workflow; the result will follow here."),
                in_channel: false,
            },
            Err(e) => {
                error!(error = %e, "queueing the workflow");
                Reply::Refused {
                    message: format!("`{name}` could not be started right now (nothing was sent); please try again."),
                }
            }
        };
        if typed {
            self.count(call, inv, "custom", !matches!(reply, Reply::Refused { .. }))
                .await;
        }
        reply
    }

    async fn command(&self, call: &Call<'_>, ctx: &Context, text: &[Segment]) -> HttpAnswer {
        if !call.provider.config.enable_slash_commands {
            let reply = Reply::Refused {
                message: "Slash commands are turned off for this workspace.".into(),
            };
            return call.adapter.answer(call.exchange(ctx), self.reply_answer(&reply)).await;
        }
        if call.adapter.declare_form() && plain_text(text).trim().eq_ignore_ascii_case("declare") {
            let inv = call.invocation(ctx, format!("{} declare", ctx.prefix).trim().to_string(), None);
            let what = What {
                name: "declare",
                changes: true,
                incident: None,
                incident_id: None,
                to_severity: None,
                preview: true,
            };
            if let Err(reply) = self.admit(&call.through(), &inv, what).await {
                return call.adapter.answer(call.exchange(ctx), self.reply_answer(&reply)).await;
            }
            let form = Answer::Form {
                form: Form::Declare,
                incident: Doc::default(),
            };
            return call.adapter.answer(call.exchange(ctx), form).await;
        }
        let key = ctx.request_id.as_ref().map(|id| format!("{}:{id}", call.platform()));
        let reply = self.command_text(call, ctx, text, key).await;
        call.adapter.answer(call.exchange(ctx), self.reply_answer(&reply)).await
    }

    /// Open incidents whose id or title contains what the person typed (at most 25).
    async fn autocomplete(&self, call: &Call<'_>, ctx: &Context, query: &str) -> HttpAnswer {
        let query = query.trim().to_lowercase();
        let choices = match self.service.store().list_active(im_core::service::LIST_LIMIT).await {
            Ok(incidents) => incidents
                .into_iter()
                .filter(|i| {
                    query.is_empty()
                        || i.id.as_str().to_lowercase().contains(&query)
                        || i.title.to_lowercase().contains(&query)
                })
                .take(25)
                .map(|i| im_core::message::Choice {
                    label: im_core::message::truncate(&format!("{} [{}] {}", i.id, i.severity, i.title), 100),
                    value: i.id.to_string(),
                })
                .collect(),
            Err(e) => {
                warn!(error = %e, "listing incidents for autocomplete");
                Vec::new()
            }
        };
        call.adapter.answer(call.exchange(ctx), Answer::Choices(choices)).await
    }

    /// Starts handling a request id once; `false` if it is (being) handled already.
    async fn first_time(&self, call: &Call<'_>, ctx: &Context) -> Result<Option<String>, ()> {
        let Some(id) = &ctx.request_id else {
            return Ok(None);
        };
        let key = format!("{}:{}:{id}", call.platform(), call.provider.name);
        let now_ms = self.clock.now().unix_timestamp() * 1000;
        match self.inbox.begin(&key, now_ms, INBOX_LEASE_MS).await {
            Ok(Begin::First) => Ok(Some(key)),
            Ok(Begin::Done | Begin::InProgress) => {
                info!(request = %id, "a retried request: acknowledged, not acted on again");
                Err(())
            }
            Err(e) => {
                // Acting without the record could act twice; a retry will come.
                warn!(error = %e, "recording the request failed");
                Err(())
            }
        }
    }

    async fn finished(&self, key: Option<String>) {
        if let Some(key) = key
            && let Err(e) = self.inbox.finish(&key).await
        {
            warn!(error = %e, "marking the request handled");
        }
    }

    /// A message addressed to the bot. Acknowledged at once (the Events API wants an answer
    /// within 3 s); the interaction worker understands it and answers in its thread. A retry
    /// of the same event is acknowledged and not acted on again; if the queue is unavailable
    /// the mention is handled here, within what is left of the deadline.
    async fn mention(&self, call: &Call<'_>, ctx: &Context, text: &[Segment]) -> HttpAnswer {
        let Ok(key) = self.first_time(call, ctx).await else {
            return call.adapter.answer(call.exchange(ctx), Answer::Empty).await;
        };
        let said = strip_im(text);
        let sentence = plain_text(&said);
        let work = call.work(ctx, Task::Mention { segments: said.clone() }, sentence.clone());
        if let Err(e) = self.work.enqueue(&work).await {
            warn!(error = %e, "queueing the mention; answering it here");
            let inv = call.invocation(
                ctx,
                sentence.clone(),
                Some(format!("{}:mention:{}", call.platform(), work.id)),
            );
            let through = call.through();
            let handled =
                tokio::time::timeout(call.remaining(), Box::pin(self.converse(&through, &inv, &said, None))).await;
            match handled {
                Ok(doc) => self.reply_in_thread(call, ctx, &doc).await,
                Err(_) => error!("the mention exceeded the platform's deadline"),
            }
        }
        self.finished(key).await;
        call.adapter.answer(call.exchange(ctx), Answer::Deferred).await
    }

    async fn reply_in_thread(&self, call: &Call<'_>, ctx: &Context, doc: &Doc) {
        let messenger = match call.adapter.messenger(call.provider, call.secrets) {
            Ok(m) => m,
            Err(e) => {
                warn!(error = %e, "no client to answer the mention with");
                return;
            }
        };
        let sent = match (&ctx.message, &ctx.channel) {
            (Some(message), _) => messenger.reply(message, doc).await.map(|_| ()),
            (None, Some(channel)) => messenger
                .post(channel, doc, ctx.request_id.as_deref().unwrap_or(""))
                .await
                .map(|_| ()),
            (None, None) => Ok(()),
        };
        if let Err(e) = sent {
            warn!(error = %e, "answering the mention");
        }
    }

    async fn action(&self, call: &Call<'_>, ctx: &Context, action: &ActionRef) -> HttpAnswer {
        let Ok(key) = self.first_time(call, ctx).await else {
            let ack = Answer::Clicked {
                updated: None,
                private: None,
            };
            return call.adapter.answer(call.exchange(ctx), ack).await;
        };
        // A "More…" choice is the action it names, from here on.
        let unfolded = action.clone().unfold();
        let answer = match &unfolded {
            Ok(action) => Box::pin(self.act(call, ctx, action)).await,
            Err(e) => Answer::Clicked {
                updated: None,
                private: Some(private(format!("That did not work: {e}."))),
            },
        };
        self.finished(key).await;
        let clicked = unfolded.as_ref().map_or(action.key, |a| a.key);
        self.clicked(call, ctx, clicked.id().trim_start_matches("im:")).await;
        call.adapter.answer(call.exchange(ctx), answer).await
    }

    async fn act(&self, call: &Call<'_>, ctx: &Context, action: &ActionRef) -> Answer {
        let tell = |doc: Doc| Answer::Clicked {
            updated: None,
            private: Some(doc),
        };
        // The test button carries a nonce, not an incident: nothing to read.
        let stored = match action.key {
            ActionKey::Test | ActionKey::Answer => Ok(None),
            _ => self.service.store().get(&action.incident).await,
        };
        let current = match stored {
            Ok(current) => current,
            Err(e) => {
                warn!(error = %e, "reading the incident");
                return tell(private("The incident could not be read; please try again."));
            }
        };
        let config = &call.provider.config;
        let resolved = match action.resolve(current.as_ref(), &config.services, &config.actions, &call.provider.name) {
            Ok(resolved) => resolved,
            Err(e) => return tell(private(format!("That did not work: {e}."))),
        };
        let key = ctx
            .request_id
            .as_ref()
            .map(|id| format!("{}:action:{id}", call.platform()));
        // Every action passes the gate: a command as that command (a severity menu lowering the
        // severity is a downgrade), anything else under the name of what it amounts to.
        if !matches!(resolved, Resolved::Command(_)) {
            let inv = call.invocation(ctx, action.command_line(), None);
            let what = What {
                name: action.key.policy_name(),
                changes: action.key.changes(),
                incident: current.as_ref(),
                incident_id: Some(&action.incident),
                to_severity: None,
                preview: false,
            };
            if let Err(reply) = Box::pin(self.admit(&call.through(), &inv, what)).await {
                return tell(reply.doc(self.clock.now()));
            }
        }
        match resolved {
            Resolved::Command(command) => {
                let inv = call.invocation(ctx, action.command_line(), key);
                match self.dispatch(call, ctx, &inv, command, false).await {
                    Reply::Card { kind, incident, note } => {
                        let doc = self.clicked_card(call, &incident, &kind, note.as_deref()).await;
                        if call.adapter.edits_clicked_inline() {
                            return Answer::Clicked {
                                updated: Some(doc),
                                private: None,
                            };
                        }
                        self.edit_clicked(call, ctx, &incident, &doc).await;
                        Answer::Clicked {
                            updated: None,
                            private: None,
                        }
                    }
                    other => tell(other.doc(self.clock.now())),
                }
            }
            Resolved::StatusForm(id) => match current {
                Some(incident) => Answer::Form {
                    form: Form::StatusUpdate { incident: id },
                    incident: form_doc(&incident),
                },
                None => tell(private(format!("{id} was not found."))),
            },
            Resolved::WarRoom(id) => {
                let work = call.work(ctx, Task::WarRoom { incident: id }, action.command_line());
                match self.work.enqueue(&work).await {
                    Ok(()) => Answer::Deferred,
                    Err(e) => {
                        error!(error = %e, "queueing the war room");
                        tell(private(
                            "The war room could not be started right now; please try again.",
                        ))
                    }
                }
            }
            // An answer to the bot's question: the pending request, completed and run.
            Resolved::Answer(id) => {
                let inv = call.invocation(ctx, action.command_line(), key);
                let doc = self.converse(&call.through(), &inv, &[], Some(id)).await;
                if call.adapter.edits_clicked_inline() {
                    Answer::Clicked {
                        updated: Some(doc),
                        private: None,
                    }
                } else {
                    self.reply_in_thread(call, ctx, &doc).await;
                    Answer::Clicked {
                        updated: None,
                        private: None,
                    }
                }
            }
            Resolved::AlreadyTop(id) => tell(private(format!("{id} is already SEV-1."))),
            Resolved::NotFound(id) => tell(private(format!("{id} was not found."))),
            // `im chatops interact-test`: the click passed every gate. Recorded for the command
            // that waits for it; no incident is changed.
            Resolved::Test(nonce) => {
                let name = im_core::action::interact_test_mark(&call.provider.name, &nonce);
                let expires = self.clock.now().unix_timestamp() + 3600;
                match self.deliverer.ledger().mark_once(&name, expires).await {
                    Ok(_) => tell(private(
                        "✓ Interactive elements work: this click was verified and reached incident management.",
                    )),
                    Err(e) => {
                        warn!(error = %e, "recording the test click");
                        tell(private(
                            "The click arrived, but could not be recorded; please try again.",
                        ))
                    }
                }
            }
        }
    }

    /// The card the clicked message should now show: the notifier's render of the change.
    async fn clicked_card(
        &self,
        call: &Call<'_>,
        incident: &im_core::Incident,
        kind: &CardKind,
        note: Option<&str>,
    ) -> Doc {
        let (event, previous_severity) = match kind {
            CardKind::Escalated { from } => (EventKind::IncidentEscalated, Some(*from)),
            CardKind::Assigned => (EventKind::IncidentAssigned, None),
            CardKind::Updated => (EventKind::IncidentUpdated, None),
            _ => (EventKind::for_status(incident.status), None),
        };
        let teams = self.providers.teams().await.unwrap_or_else(|e| {
            warn!(error = %e, "reading teams");
            Arc::default()
        });
        IncidentMessage {
            note,
            previous_severity,
            ..IncidentMessage::new(incident, event, &call.provider.config, self.clock.now())
        }
        .card_with_teams(call.platform(), &teams)
    }

    /// Edits the clicked message right away, if it is the incident's tracked message here,
    /// versioned like the notifier's edits (so the notifier then skips it as shown). Whatever
    /// does not fit the deadline is left to the notifier, which gets there.
    async fn edit_clicked(&self, call: &Call<'_>, ctx: &Context, incident: &im_core::Incident, doc: &Doc) {
        let (Some(clicked), Some(channel)) = (&ctx.message, &ctx.channel) else {
            return;
        };
        let key = MessageKey::new(&incident.id, &call.provider.name, channel);
        let edit = async {
            let posted = match self.deliverer.ledger().posted(&key).await {
                Ok(Some(posted)) if posted.message.id == clicked.id => posted,
                Ok(_) => return,
                Err(e) => return warn!(error = %e, "reading the clicked message"),
            };
            let target = match call.adapter.messenger(call.provider, call.secrets) {
                Ok(messenger) => Target::new(Arc::new(call.provider.clone()), messenger),
                Err(e) => return warn!(error = %e, "no client for the in-place edit"),
            };
            let message: &MessageRef = &posted.message;
            match self
                .deliverer
                .edit(target.messenger.as_ref(), &key, message, incident.version, doc, None)
                .await
            {
                Ok(Edit::Edited | Edit::Stale) => {}
                Ok(other) => info!(?other, "in-place edit left to the notifier"),
                Err(e) => warn!(error = %e, "in-place edit"),
            }
        };
        if tokio::time::timeout(call.remaining(), edit).await.is_err() {
            info!("in-place edit did not fit the deadline; the notifier will make it");
        }
    }

    async fn submission(&self, call: &Call<'_>, ctx: &Context, submission: Submission) -> HttpAnswer {
        let key = ctx
            .request_id
            .as_ref()
            .map(|id| format!("{}:action:{id}", call.platform()));
        let answer = match submission {
            Submission::StatusUpdate { incident, note } => {
                if note.trim().is_empty() {
                    Answer::FormError {
                        message: "Write what changed.".into(),
                    }
                } else {
                    let inv = call.invocation(ctx, format!("[Status Update] {incident}"), key);
                    let command = Command::Update {
                        id: incident,
                        note: note.trim().to_string(),
                    };
                    let answer = match self.run(call, &inv, command, false).await {
                        Reply::Card { .. } => Answer::Empty,
                        other => Answer::FormError { message: other.text() },
                    };
                    self.clicked(call, ctx, "status_update_form").await;
                    answer
                }
            }
            Submission::Declare {
                title,
                severity,
                service,
                description,
            } => {
                // The form's fields go through the grammar, so they are checked like typed ones.
                let mut line = format!("declare --title {}", im_core::command::quote(&title));
                for (flag, value) in [
                    ("--sev", severity),
                    ("--service", service),
                    ("--description", description),
                ] {
                    if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
                        line.push_str(&format!(" {flag} {}", im_core::command::quote(&value)));
                    }
                }
                let reply = self.command_text(call, ctx, &[Segment::Text(line)], key).await;
                match reply {
                    Reply::Card { .. } => self.reply_answer(&reply),
                    other => Answer::FormError { message: other.text() },
                }
            }
        };
        call.adapter.answer(call.exchange(ctx), answer).await
    }
}

/// `im ack …` and `/im ack …` in a mention read as `ack …`.
fn strip_im(text: &[Segment]) -> Vec<Segment> {
    let mut out = text.to_vec();
    if let Some(Segment::Text(first)) = out.first_mut() {
        let trimmed = first.trim_start();
        for prefix in ["/im ", "im "] {
            if trimmed.len() >= prefix.len() && trimmed[..prefix.len()].eq_ignore_ascii_case(prefix) {
                *first = trimmed[prefix.len()..].to_string();
                break;
            }
        }
    }
    out
}

/// What a form shows about its incident (its id, title and version).
fn form_doc(incident: &im_core::Incident) -> Doc {
    let mut doc = Doc::new(im_core::card::id_and_title(incident));
    doc.card = Some(im_core::message::CardMeta {
        incident: incident.id.clone(),
        version: incident.version,
    });
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_im_prefix_is_optional_in_mentions() {
        let read = |s: &str| plain_text(&strip_im(&[Segment::text(s)]));
        assert_eq!(read("im ack INC-1"), "ack INC-1");
        assert_eq!(read("/im ack INC-1"), "ack INC-1");
        assert_eq!(read("IM list"), "list");
        assert_eq!(read("image of the outage"), "image of the outage");
        assert!(is_ping(br#"{"type": "ping"}"#));
        assert!(!is_ping(br#"{"type": 1}"#));
        assert!(!is_ping(b"type=ping"));
    }
}
