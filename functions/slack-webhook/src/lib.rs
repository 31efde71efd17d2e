//! `POST /chatops/slack/{instance}`: Slack slash commands, Events API and interactivity.
//!
//! raw bytes → verify the signature → parse → act → reply within Slack's 3-second deadline.
//! The same [`router`] runs in Lambda (`main.rs`) and in `im serve`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use im_aws::config::DeliverySettings;
use im_aws::deliveries::DeliveryStore;
use im_aws::slack_api::{SlackClient, SlackClients};
use im_aws::web::{self, MAX_BODY_BYTES};
use im_aws::{AwsClients, DynamoStore, ProviderDirectory, ResolvedProvider, SqsPublisher};
use im_core::provider::{Platform, ProviderStatus};
use im_core::slack::{self, EventEnvelope, SignatureError, SlackRequest, SlashCommand};
use im_core::{Actor, Clock, Command, IncidentService, Invocation, Reply, Settings, UserRef, command};
use tracing::{Instrument, error, info, info_span, warn};

pub type Service = IncidentService<DynamoStore, SqsPublisher, Arc<dyn Clock>>;

/// Slack shows an error after 3 s; we answer by then whatever happens.
pub const DEADLINE: Duration = Duration::from_millis(2500);

pub mod interactions;

pub struct SlackApp {
    pub service: Service,
    pub providers: ProviderDirectory,
    pub deliveries: DeliveryStore,
    pub settings: DeliverySettings,
    pub clock: Arc<dyn Clock>,
    pub deadline: Duration,
    slack: SlackClients,
}

impl SlackApp {
    /// Wires the adapters. Nothing is contacted until the first request.
    pub fn new(clients: Arc<AwsClients>, clock: Arc<dyn Clock>) -> Self {
        Self {
            service: IncidentService::new(
                DynamoStore::new(clients.clone()),
                SqsPublisher::new(clients.clone()),
                clock.clone(),
            ),
            providers: ProviderDirectory::new(clients.clone()),
            deliveries: DeliveryStore::new(clients.clone()),
            settings: clients.config().delivery.clone(),
            slack: SlackClients::new(
                &clients.config().delivery.slack_api_url,
                clients.config().delivery.chat_timeout,
            ),
            clock,
            deadline: DEADLINE,
        }
    }

    /// A Web API client with the provider's bot token.
    pub fn slack_client(&self, resolved: &ResolvedProvider) -> Option<SlackClient> {
        self.slack.for_provider(resolved).ok()
    }

    /// Runs a command with the provider's settings, within Slack's deadline.
    pub async fn run(&self, resolved: &ResolvedProvider, invocation: &Invocation, command: Command) -> Reply {
        let provider = &resolved.provider;
        let verb = command.verb().map(|v| v.name()).unwrap_or("other");
        let settings = Settings {
            policy: &provider.config.rbac,
            default_severity: provider.config.default_severity,
        };
        match tokio::time::timeout(
            self.deadline,
            Box::pin(self.service.execute(invocation, &settings, command)),
        )
        .await
        {
            Ok(outcome) => {
                if let Some(failure) = &outcome.failure {
                    error!(command = verb, %failure, "command hit an infrastructure failure");
                }
                info!(command = verb, changed = outcome.event.is_some(), "command handled");
                outcome.reply
            }
            Err(_) => {
                error!(command = verb, "command exceeded the Slack deadline");
                Reply::Text {
                    text: "This is taking longer than expected and may still complete. Check with `/im list` before trying again.".into(),
                    in_channel: false,
                }
            }
        }
    }
}

pub fn router(app: Arc<SlackApp>) -> Router {
    Router::new()
        .route("/chatops/slack/{instance}", post(handle))
        .with_state(app)
}

fn ephemeral(text: &str) -> Response {
    let reply = Reply::Text {
        text: text.into(),
        in_channel: false,
    };
    web::json(&slack::render(&reply, time::OffsetDateTime::now_utc()))
}

async fn handle(
    State(app): State<Arc<SlackApp>>,
    Path(instance): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let span = info_span!("slack", instance = %instance, kind = tracing::field::Empty);
    async move {
        let body = match web::read_body(body, MAX_BODY_BYTES).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        let resolved = match app.providers.resolve(&instance).await {
            Ok(Some(r)) if r.provider.platform == Platform::Slack => r,
            Ok(_) => {
                return web::error(
                    StatusCode::NOT_FOUND,
                    format!("no Slack integration named `{instance}`"),
                );
            }
            Err(e) => {
                error!(error = %e, "provider lookup failed");
                return web::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the integration is temporarily unavailable",
                );
            }
        };
        if let Err(reason) = verify(&app, &resolved, &headers, &body).await {
            warn!(%reason, "rejected request");
            return web::unauthorized();
        }
        let content_type = web::header_str(&headers, header::CONTENT_TYPE.as_str());
        match slack::parse_request(content_type, &body) {
            Err(e) => web::error(StatusCode::BAD_REQUEST, e.to_string()),
            Ok(SlackRequest::Command(cmd)) => {
                tracing::Span::current().record("kind", "command");
                slash_command(&app, &resolved, cmd).await
            }
            Ok(SlackRequest::Event(EventEnvelope::UrlVerification { challenge })) => {
                tracing::Span::current().record("kind", "url_verification");
                web::json(&serde_json::json!({ "challenge": challenge }))
            }
            Ok(SlackRequest::Event(event)) => {
                tracing::Span::current().record("kind", "event");
                info!(event = ?event_type(&event), "event acknowledged, not handled");
                StatusCode::OK.into_response()
            }
            Ok(SlackRequest::Interaction(payload)) => {
                tracing::Span::current().record("kind", "interaction");
                // Boxed: the interaction future is large, and worker threads have small stacks.
                Box::pin(interactions::handle(&app, &resolved, &payload)).await
            }
        }
    }
    .instrument(span)
    .await
}

fn event_type(event: &EventEnvelope) -> &str {
    match event {
        EventEnvelope::EventCallback { event, .. } => event["type"].as_str().unwrap_or("?"),
        EventEnvelope::AppRateLimited { .. } => "app_rate_limited",
        EventEnvelope::UrlVerification { .. } => "url_verification",
        _ => "unknown",
    }
}

/// Checks the signature; after a mismatch, re-reads the secret once in case it was rotated.
async fn verify(
    app: &SlackApp,
    resolved: &ResolvedProvider,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), SignatureError> {
    let timestamp = web::header_str(headers, "x-slack-request-timestamp");
    let signature = web::header_str(headers, "x-slack-signature");
    let now = app.clock.now().unix_timestamp();
    let Some(secret) = resolved.secrets.get("signing_secret") else {
        error!("provider has no signing_secret");
        return Err(SignatureError::Mismatch);
    };
    match slack::verify(secret, timestamp, signature, body, now) {
        Err(SignatureError::Mismatch) => {
            let fresh = app.providers.refreshed_secrets(&resolved.provider).await.ok().flatten();
            match fresh.as_ref().and_then(|s| s.get("signing_secret")) {
                Some(secret) => slack::verify(secret, timestamp, signature, body, now),
                None => Err(SignatureError::Mismatch),
            }
        }
        other => other,
    }
}

async fn slash_command(app: &SlackApp, resolved: &ResolvedProvider, cmd: SlashCommand) -> Response {
    let provider = &resolved.provider;
    if provider.status == ProviderStatus::Inactive {
        return ephemeral("This incident integration is inactive. Ask an admin to enable it.");
    }
    if !provider.config.enable_slash_commands {
        return ephemeral("Slash commands are turned off for this workspace.");
    }
    let prefix = if cmd.command.is_empty() { "/im" } else { &cmd.command };
    let actor = Actor {
        platform: Platform::Slack.as_str().into(),
        provider: provider.name.clone(),
        user: UserRef::new(cmd.user_id.clone(), cmd.user_name.clone()),
        channel: Some(cmd.channel_id.clone()),
    };
    let idempotency_key = cmd.trigger_id.as_ref().map(|t| format!("slack:{t}"));
    let invocation = Invocation::chat(actor, prefix, &cmd.text, idempotency_key);
    let now = app.clock.now();
    let parsed = match command::parse(&cmd.text) {
        Ok(parsed) => parsed,
        Err(usage) => {
            let reply = Reply::Usage {
                usage: usage.verb.usage(&invocation.prefix),
                problem: usage.problem,
            };
            return web::json(&slack::render(&reply, now));
        }
    };
    let reply = app.run(resolved, &invocation, parsed).await;
    web::json(&slack::render(&reply, now))
}
