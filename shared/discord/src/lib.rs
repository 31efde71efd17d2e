//! im-discord: the Discord adapter behind the core's platform seam. It verifies Ed25519
//! signatures, reads interactions (commands, components, autocomplete, modals) into the neutral
//! inbound, renders the neutral message model as embeds and components (escaping, mentions and
//! limits live here), answers within the interaction's 3 s, and talks to the REST API with
//! learned rate limits. No lifecycle, routing, RBAC or war-room logic: those are the core's.

pub mod client;
pub mod commands;
pub mod inbound;
pub mod probe;
pub mod render;
pub mod verify;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use im_core::chat::{BoxFuture, ChatError, Messenger};
use im_core::inbound::{
    Answer, Exchange, Form, HttpAnswer, Inbound, ParseError, PlatformAdapter, Request, VerifyError, Visibility,
};
use im_core::message::Doc;
use im_core::provider::{PlatformSpec, Provider, ProviderSecrets};
use serde_json::{Value, json};

pub use client::{DiscordClient, RateBook};
pub use render::Renderer;

/// Discord invalidates an interaction not answered within 3 s.
pub const DEADLINE: Duration = Duration::from_millis(2500);

/// Interaction callback types (PROTOCOLS.md §2.2).
const PONG: u8 = 1;
const CHANNEL_MESSAGE: u8 = 4;
const DEFERRED_CHANNEL_MESSAGE: u8 = 5;
const DEFERRED_UPDATE_MESSAGE: u8 = 6;
const UPDATE_MESSAGE: u8 = 7;
const AUTOCOMPLETE_RESULT: u8 = 8;
const MODAL: u8 = 9;
const EPHEMERAL: u32 = 1 << 6;

#[derive(Clone, Debug)]
pub struct DiscordSettings {
    /// REST base (`https://discord.com/api/v10`; tests point it at a fake).
    pub api_url: String,
    pub timeout: Duration,
}

impl Default for DiscordSettings {
    fn default() -> Self {
        Self {
            api_url: "https://discord.com/api/v10".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The Discord platform.
pub struct DiscordAdapter {
    settings: DiscordSettings,
    http: OnceLock<reqwest::Client>,
    rates: Arc<RateBook>,
    /// Public keys already read (a curve point is decompressed once, not per request).
    keys: std::sync::Mutex<std::collections::HashMap<String, ed25519_dalek::VerifyingKey>>,
}

/// More distinct public keys than this in one process is not a deployment: start over.
const MAX_CACHED_KEYS: usize = 256;

impl DiscordAdapter {
    pub fn new(settings: DiscordSettings) -> Self {
        Self {
            settings,
            http: OnceLock::new(),
            rates: Arc::default(),
            keys: std::sync::Mutex::default(),
        }
    }

    /// The provider's public key, read once per process.
    fn public_key(&self, hex_key: &str) -> Result<ed25519_dalek::VerifyingKey, VerifyError> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(key) = keys.get(hex_key) {
            return Ok(*key);
        }
        let key = verify::public_key(hex_key).map_err(VerifyError::Unusable)?;
        if keys.len() >= MAX_CACHED_KEYS {
            keys.clear();
        }
        keys.insert(hex_key.to_string(), key);
        Ok(key)
    }

    fn http(&self) -> Result<reqwest::Client, ChatError> {
        if let Some(h) = self.http.get() {
            return Ok(h.clone());
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let built = reqwest::Client::builder()
            .timeout(self.settings.timeout)
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| ChatError::Permanent(format!("building the HTTP client: {e}")))?;
        Ok(self.http.get_or_init(|| built).clone())
    }

    /// A REST client with the provider's bot token.
    pub fn client(&self, provider: &Provider, secrets: &ProviderSecrets) -> Result<DiscordClient, ChatError> {
        let token = secrets
            .get("bot_token")
            .ok_or_else(|| ChatError::Permanent("the provider has no bot_token".into()))?;
        Ok(DiscordClient::new(
            self.http()?,
            &self.settings.api_url,
            token.clone(),
            &provider.name,
            provider.config.platform_key("guild_id").map(str::to_string),
            self.rates.clone(),
        ))
    }

    /// A message body for an interaction answer or a follow-up.
    fn data(provider: &str, doc: &Doc, visibility: Visibility) -> render::Message {
        let mut data = Renderer::new(provider).message(doc);
        if visibility == Visibility::Private {
            data.flags = Some(EPHEMERAL);
        }
        data
    }
}

/// An interaction response: its type and, for most, data.
#[derive(serde::Serialize)]
struct Response<T: serde::Serialize> {
    #[serde(rename = "type")]
    kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<T>,
}

fn modal(form: &Form, incident: &Doc) -> Value {
    let input = |id: &str, label: &str, paragraph: bool, required: bool, max: u32| {
        json!({"type": 1, "components": [{"type": 4, "custom_id": id, "label": label,
            "style": if paragraph { 2 } else { 1 }, "required": required, "max_length": max}]})
    };
    match form {
        Form::StatusUpdate { incident: id } => {
            let title = format!("Update {id}");
            let _ = incident;
            json!({"custom_id": format!("im:status_update|{id}"), "title": im_core::message::truncate(&title, 45),
                   "components": [input("note", "What changed?", true, true, 3000)]})
        }
        Form::Declare => json!({"custom_id": "im:declare", "title": "Declare an incident", "components": [
            input("title", "What is wrong?", false, true, im_core::command::MAX_TITLE as u32),
            input("severity", "Severity (SEV-1 … SEV-4)", false, false, 8),
            input("service", "Service", false, false, im_core::command::MAX_SERVICE as u32),
            input("description", "Details", true, false, 3000),
        ]}),
    }
}

impl PlatformAdapter for DiscordAdapter {
    fn spec(&self) -> &PlatformSpec {
        im_core::provider::spec("discord").unwrap_or(&im_core::provider::SPECS[1])
    }

    fn deadline(&self) -> Duration {
        DEADLINE
    }

    fn verify(
        &self,
        request: &Request<'_>,
        provider: &Provider,
        _: &ProviderSecrets,
        _: i64,
    ) -> Result<(), VerifyError> {
        let key = provider
            .config
            .platform_key("public_key")
            .ok_or_else(|| VerifyError::Unusable("public_key is not set".into()))?;
        verify::verify_with(
            &self.public_key(key)?,
            request.header("x-signature-timestamp"),
            request.header("x-signature-ed25519"),
            request.body,
        )
    }

    fn parse(&self, request: &Request<'_>, provider: &str) -> Result<Inbound, ParseError> {
        inbound::parse(request.body, provider)
    }

    fn answer<'a>(&'a self, exchange: Exchange<'a>, answer: Answer) -> BoxFuture<'a, HttpAnswer> {
        let provider = exchange.provider.name.as_str();
        let on_message = exchange.ctx.is_some_and(|c| c.message.is_some());
        let message = |kind: u8, data: render::Message| HttpAnswer::json(&Response { kind, data: Some(data) });
        let body = match answer {
            Answer::Challenge(_) => json!({"type": PONG}),
            Answer::Reply { doc, visibility } => {
                return Box::pin(std::future::ready(message(
                    CHANNEL_MESSAGE,
                    Self::data(provider, &doc, visibility),
                )));
            }
            Answer::Clicked { private: Some(doc), .. } => {
                return Box::pin(std::future::ready(message(
                    CHANNEL_MESSAGE,
                    Self::data(provider, &doc, Visibility::Private),
                )));
            }
            Answer::Clicked { updated: Some(doc), .. } => {
                let mut data = Renderer::new(provider).replacement(&doc);
                data.allowed_mentions.users = None;
                return Box::pin(std::future::ready(message(UPDATE_MESSAGE, data)));
            }
            Answer::Clicked { .. } => json!({"type": DEFERRED_UPDATE_MESSAGE}),
            Answer::Form { form, incident } => json!({"type": MODAL, "data": modal(&form, &incident)}),
            Answer::FormError { message } => json!({"type": CHANNEL_MESSAGE,
                "data": {"content": render::escape(&message), "flags": EPHEMERAL, "allowed_mentions": {"parse": []}}}),
            Answer::Choices(choices) => json!({"type": AUTOCOMPLETE_RESULT, "data": {"choices":
                choices.iter().take(25).map(|c| json!({"name": c.label, "value": c.value})).collect::<Vec<_>>()}}),
            Answer::Deferred if on_message => json!({"type": DEFERRED_UPDATE_MESSAGE}),
            Answer::Deferred => json!({"type": DEFERRED_CHANNEL_MESSAGE, "data": {"flags": EPHEMERAL}}),
            Answer::Empty => json!({"type": DEFERRED_UPDATE_MESSAGE}),
        };
        Box::pin(std::future::ready(HttpAnswer::json(&body)))
    }

    fn edits_clicked_inline(&self) -> bool {
        true
    }

    fn declare_form(&self) -> bool {
        true
    }

    /// A follow-up through the interaction's webhook (its token is the credential, 15 min).
    fn follow_up<'a>(
        &'a self,
        exchange: Exchange<'a>,
        doc: &'a Doc,
        visibility: Visibility,
    ) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let token = exchange
                .ctx
                .and_then(|c| c.reply_to.as_deref())
                .ok_or_else(|| ChatError::Permanent("the interaction has no token".into()))?;
            let app = exchange
                .provider
                .config
                .platform_key("application_id")
                .or_else(|| exchange.ctx.and_then(|c| c.app.as_deref()))
                .ok_or_else(|| ChatError::Permanent("the provider has no application_id".into()))?;
            let url = format!("{}/webhooks/{app}/{token}", self.settings.api_url.trim_end_matches('/'));
            let body = Self::data(&exchange.provider.name, doc, visibility);
            let response = self
                .http()?
                .post(url)
                .header("user-agent", client::USER_AGENT)
                .json(&body)
                .send()
                .await
                .map_err(|e| client::transport(&e))?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(client::failure(response).await)
            }
        })
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
                    "Connected to Discord",
                    im_core::probe::explain(&e),
                )],
            }
        })
    }
}
