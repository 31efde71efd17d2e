//! im-slack: the Slack adapter behind the core's platform seam. It verifies Slack's request
//! signatures, reads slash commands, interactions and events into the neutral inbound, renders
//! the neutral message model as Block Kit (escaping and limits live here), and talks to the Web
//! API. No lifecycle, routing, RBAC or war-room logic: those are the core's.

pub mod client;
pub mod inbound;
pub mod payload;
pub mod probe;
pub mod render;
pub mod signature;
pub mod text;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use im_core::chat::{BoxFuture, ChatError, Messenger};
use im_core::inbound::{
    Answer, Exchange, HttpAnswer, Inbound, ParseError, PlatformAdapter, Request, VerifyError, Visibility,
};
use im_core::message::Doc;
use im_core::provider::{PlatformSpec, Provider, ProviderSecrets};
use serde_json::json;
use tracing::warn;

pub use client::{Pacing, SlackClient};
pub use render::Renderer;
pub use signature::{SignatureError, sign, verify};

/// Slack shows an error after 3 s; we answer by 2.5 s whatever happens.
pub const DEADLINE: Duration = Duration::from_millis(2500);

/// Where the adapter reaches Slack.
#[derive(Clone, Debug)]
pub struct SlackSettings {
    /// Web API base (`https://slack.com/api`; tests point it at a fake).
    pub api_url: String,
    /// Interaction `response_url`s must start with this.
    pub response_url_prefix: String,
    pub pacing: Pacing,
    /// Timeout of one API call.
    pub timeout: Duration,
}

impl Default for SlackSettings {
    fn default() -> Self {
        Self {
            api_url: "https://slack.com/api".into(),
            response_url_prefix: "https://hooks.slack.com/".into(),
            pacing: Pacing::default(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The Slack platform.
pub struct SlackAdapter {
    settings: SlackSettings,
    http: OnceLock<reqwest::Client>,
}

impl SlackAdapter {
    pub fn new(settings: SlackSettings) -> Self {
        Self {
            settings,
            http: OnceLock::new(),
        }
    }

    pub fn settings(&self) -> &SlackSettings {
        &self.settings
    }

    /// One connection pool per process, built on first use.
    fn http(&self) -> Result<reqwest::Client, ChatError> {
        if let Some(h) = self.http.get() {
            return Ok(h.clone());
        }
        let built = client::http_client(self.settings.timeout).map_err(ChatError::Permanent)?;
        Ok(self.http.get_or_init(|| built).clone())
    }

    /// A Web API client with the provider's bot token.
    pub fn client(&self, provider: &Provider, secrets: &ProviderSecrets) -> Result<SlackClient, ChatError> {
        let token = secrets
            .get("bot_token")
            .ok_or_else(|| ChatError::Permanent("the provider has no bot_token".into()))?;
        Ok(SlackClient::new(
            self.http()?,
            &self.settings.api_url,
            token.clone(),
            &provider.name,
            self.settings.pacing.clone(),
        ))
    }

    /// Posts to an interaction's `response_url` (the URL is the credential; only Slack's own).
    async fn respond(&self, response_url: &str, body: &serde_json::Value) -> Result<(), ChatError> {
        if !response_url.starts_with(&self.settings.response_url_prefix) {
            return Err(ChatError::Permanent("response_url outside the allowed prefix".into()));
        }
        let response = self
            .http()?
            .post(response_url)
            .json(body)
            .send()
            .await
            .map_err(|e| client::transport_error(&e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(ChatError::Transient(format!(
                "response_url answered HTTP {}",
                response.status()
            )))
        }
    }

    /// A reply for one person (or the channel) through the interaction's `response_url`.
    async fn tell(&self, exchange: &Exchange<'_>, doc: &Doc, visibility: Visibility) -> Result<(), ChatError> {
        let Some(url) = exchange.ctx.and_then(|c| c.reply_to.as_deref()) else {
            return Err(ChatError::Permanent("the interaction has no response_url".into()));
        };
        let mut body =
            serde_json::to_value(Renderer::new(&exchange.provider.name).reply(doc, visibility)).unwrap_or_default();
        body["replace_original"] = json!(false);
        self.respond(url, &body).await
    }
}

impl PlatformAdapter for SlackAdapter {
    fn spec(&self) -> &PlatformSpec {
        im_core::provider::spec("slack").unwrap_or(&im_core::provider::SPECS[0])
    }

    fn deadline(&self) -> Duration {
        DEADLINE
    }

    fn verify(
        &self,
        request: &Request<'_>,
        _provider: &Provider,
        secrets: &ProviderSecrets,
        now: i64,
    ) -> Result<(), VerifyError> {
        let Some(secret) = secrets.get("signing_secret") else {
            return Err(VerifyError::Unusable("signing_secret is not set".into()));
        };
        let timestamp = request.header("x-slack-request-timestamp");
        let given = request.header("x-slack-signature");
        signature::verify(secret, timestamp, given, request.body, now).map_err(|e| match e {
            SignatureError::MissingHeaders => VerifyError::Missing("X-Slack-Signature or X-Slack-Request-Timestamp"),
            SignatureError::BadTimestamp => VerifyError::Malformed("X-Slack-Request-Timestamp"),
            SignatureError::Stale => VerifyError::Stale,
            SignatureError::Mismatch => VerifyError::Mismatch,
            SignatureError::WeakSecret => VerifyError::Unusable("signing_secret is shorter than 32 characters".into()),
        })
    }

    fn parse(&self, request: &Request<'_>, provider: &str) -> Result<Inbound, ParseError> {
        inbound::parse(request.header("content-type"), request.body, provider)
    }

    fn answer<'a>(&'a self, exchange: Exchange<'a>, answer: Answer) -> BoxFuture<'a, HttpAnswer> {
        Box::pin(async move {
            let renderer = Renderer::new(&exchange.provider.name);
            match answer {
                Answer::Challenge(challenge) => HttpAnswer::json(&json!({ "challenge": challenge })),
                Answer::Reply { doc, visibility } => HttpAnswer::json(&renderer.reply(&doc, visibility)),
                // The clicked message is edited through the API (versioned); the clicker's note
                // goes through the interaction's response_url.
                Answer::Clicked { private, .. } => {
                    if let Some(doc) = private
                        && let Err(e) = self.tell(&exchange, &doc, Visibility::Private).await
                    {
                        warn!(error = %e, "answering the interaction");
                    }
                    HttpAnswer::empty()
                }
                Answer::Form { incident, .. } => {
                    let trigger = exchange.ctx.and_then(|c| c.trigger.as_deref());
                    let opened = match (trigger, self.client(exchange.provider, exchange.secrets)) {
                        (Some(trigger), Ok(client)) => client
                            .open_view(trigger, render::status_update_modal(&incident))
                            .await
                            .map_err(|e| e.to_string()),
                        (None, _) => Err("no trigger_id".into()),
                        (_, Err(e)) => Err(e.to_string()),
                    };
                    if let Err(e) = opened {
                        warn!(error = %e, "opening the Status Update modal");
                        let doc = Doc::text("⛔ The form could not be opened; try `/im update` instead.");
                        let _ = self.tell(&exchange, &doc, Visibility::Private).await;
                    }
                    HttpAnswer::empty()
                }
                Answer::FormError { message } => HttpAnswer::json(&json!({
                    "response_action": "errors",
                    "errors": {"note": im_core::message::truncate(&message, 150)},
                })),
                // A `block_suggestion` answer (external select menus).
                Answer::Choices(choices) => HttpAnswer::json(&json!({
                    "options": choices.iter().map(|c| json!({
                        "text": {"type": "plain_text", "text": im_core::message::truncate(&c.label, 75)},
                        "value": c.value,
                    })).collect::<Vec<_>>()
                })),
                Answer::Deferred | Answer::Empty => HttpAnswer::empty(),
            }
        })
    }

    fn follow_up<'a>(
        &'a self,
        exchange: Exchange<'a>,
        doc: &'a Doc,
        visibility: Visibility,
    ) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move { self.tell(&exchange, doc, visibility).await })
    }

    fn messenger(&self, provider: &Provider, secrets: &ProviderSecrets) -> Result<Arc<dyn Messenger>, ChatError> {
        Ok(Arc::new(self.client(provider, secrets)?))
    }

    fn probe<'a>(
        &'a self,
        provider: &'a Provider,
        secrets: &'a ProviderSecrets,
    ) -> BoxFuture<'a, Vec<im_core::probe::Probe>> {
        Box::pin(async move {
            match self.client(provider, secrets) {
                Ok(client) => probe::probe(&client, provider).await,
                Err(e) => vec![im_core::probe::Probe::fail(
                    "Connected to Slack workspace",
                    im_core::probe::explain(&e),
                )],
            }
        })
    }

    fn channels<'a>(
        &'a self,
        provider: &'a Provider,
        secrets: &'a ProviderSecrets,
    ) -> BoxFuture<'a, Result<Vec<im_core::probe::ChannelInfo>, ChatError>> {
        Box::pin(async move { probe::channels(&self.client(provider, secrets)?).await })
    }
}
