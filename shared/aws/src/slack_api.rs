//! Slack Web API client: `POST <base>/<method>` with the bot token, JSON bodies, and every failure
//! classified for the notifier (429 + Retry-After, 5xx, permanent `error` codes, lost answers).

use std::time::Duration;

use im_core::notify::{ChatError, PERMANENT_SLACK_ERRORS};
use im_core::ports::{ChatClient, IncidentMessage, MessageRef};
use im_core::slack::notification::{self, headline};
use im_core::template::TemplateValues;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// Slack error codes worth retrying.
const TRANSIENT: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
];

/// One HTTP client per process (rustls with ring, like the AWS SDK).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))
}

/// Web API clients for providers: one HTTP connection pool per process, built on first use.
pub struct SlackClients {
    http: std::sync::OnceLock<reqwest::Client>,
    base: String,
    timeout: Duration,
}

impl SlackClients {
    pub fn new(base: impl Into<String>, timeout: Duration) -> Self {
        Self {
            http: std::sync::OnceLock::new(),
            base: base.into(),
            timeout,
        }
    }

    /// A client with the provider's bot token.
    pub fn for_provider(&self, resolved: &crate::ResolvedProvider) -> Result<SlackClient, ChatError> {
        let token = resolved
            .secrets
            .get("bot_token")
            .ok_or_else(|| ChatError::Permanent("the provider has no bot_token".into()))?;
        let http = match self.http.get() {
            Some(h) => h.clone(),
            None => {
                let built = http_client(self.timeout).map_err(ChatError::Permanent)?;
                self.http.get_or_init(|| built).clone()
            }
        };
        Ok(SlackClient::new(http, &self.base, token.clone()))
    }
}

/// A client for one workspace (one bot token).
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    base: String,
    token: SecretString,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn transport_error(e: &reqwest::Error) -> ChatError {
    if e.is_connect() {
        ChatError::Transient(format!("connection failed: {e}"))
    } else if e.is_timeout() {
        ChatError::Unknown(format!("timed out: {e}"))
    } else {
        ChatError::Transient(e.to_string())
    }
}

async fn classify(response: reqwest::Response) -> Result<Value, ChatError> {
    let status = response.status();
    if status.as_u16() == 429 {
        let seconds = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(1.0);
        return Err(ChatError::RateLimited(Duration::from_secs_f64(seconds.min(900.0))));
    }
    if status.is_server_error() {
        return Err(ChatError::Transient(format!("HTTP {status}")));
    }
    if !status.is_success() {
        return Err(ChatError::Permanent(format!("HTTP {status}")));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|e| ChatError::Transient(format!("unreadable answer: {e}")))?;
    if body["ok"].as_bool() == Some(true) {
        return Ok(body);
    }
    let code = body["error"].as_str().unwrap_or("unknown_error").to_string();
    if code == "name_taken" {
        Err(ChatError::NameTaken)
    } else if TRANSIENT.contains(&code.as_str()) {
        Err(ChatError::Transient(code))
    } else if PERMANENT_SLACK_ERRORS.contains(&code.as_str()) {
        Err(ChatError::Permanent(code))
    } else {
        // An error we do not know: retrying the same request will not change Slack's mind.
        Err(ChatError::Permanent(code))
    }
}

impl SlackClient {
    pub fn new(http: reqwest::Client, base: impl Into<String>, token: SecretString) -> Self {
        Self {
            http,
            base: base.into().trim_end_matches('/').to_string(),
            token,
        }
    }

    /// Calls a Web API method with a JSON body.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, ChatError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(self.token.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        classify(response).await
    }

    /// `views.open` with a trigger id from an interaction.
    pub async fn open_view(&self, trigger_id: &str, view: Value) -> Result<(), ChatError> {
        self.call("views.open", &json!({"trigger_id": trigger_id, "view": view}))
            .await
            .map(|_| ())
    }

    /// Posts to an interaction's `response_url` (no token: the URL is the credential).
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), ChatError> {
        let response = self
            .http
            .post(response_url)
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(ChatError::Transient(format!(
                "response_url answered HTTP {}",
                response.status()
            )))
        }
    }

    fn render(message: &IncidentMessage<'_>) -> notification::SlackNotification {
        let values = TemplateValues::new(message.incident, message.kind, message.note, message.previous_severity);
        let text = headline(message.templates, message.kind, &values);
        notification::notification(message.incident, &text, message.services, message.now)
    }
}

fn message_ref(body: &Value, channel: &str) -> Result<MessageRef, ChatError> {
    let id = body["ts"]
        .as_str()
        .ok_or_else(|| ChatError::Transient("answer without ts".into()))?;
    Ok(MessageRef {
        channel: body["channel"].as_str().unwrap_or(channel).to_string(),
        id: id.to_string(),
    })
}

/// Treats the given Slack error codes as success (e.g. `already_in_channel` for an invite).
fn tolerate(result: Result<Value, ChatError>, fine: &[&str]) -> Result<(), ChatError> {
    match result {
        Ok(_) => Ok(()),
        Err(ChatError::Permanent(code)) if fine.contains(&code.as_str()) => Ok(()),
        Err(e) => Err(e),
    }
}

impl ChatClient for SlackClient {
    async fn post(&self, channel: &str, message: &IncidentMessage<'_>) -> Result<MessageRef, ChatError> {
        let n = Self::render(message);
        let body = json!({
            "channel": channel, "text": n.text, "blocks": n.blocks, "metadata": n.metadata,
            "unfurl_links": false, "unfurl_media": false,
        });
        let answer = self.call("chat.postMessage", &body).await?;
        message_ref(&answer, channel)
    }

    async fn update(&self, target: &MessageRef, message: &IncidentMessage<'_>) -> Result<(), ChatError> {
        let n = Self::render(message);
        let body = json!({
            "channel": target.channel, "ts": target.id, "text": n.text, "blocks": n.blocks, "metadata": n.metadata,
        });
        self.call("chat.update", &body).await.map(|_| ())
    }

    async fn reply(&self, target: &MessageRef, text: &str) -> Result<MessageRef, ChatError> {
        let body = json!({"channel": target.channel, "thread_ts": target.id, "text": text, "unfurl_links": false});
        let answer = self.call("chat.postMessage", &body).await?;
        message_ref(&answer, &target.channel)
    }

    async fn post_text(&self, channel: &str, text: &str) -> Result<MessageRef, ChatError> {
        let body = json!({"channel": channel, "text": text, "unfurl_links": false});
        let answer = self.call("chat.postMessage", &body).await?;
        message_ref(&answer, channel)
    }

    async fn create_channel(&self, name: &str) -> Result<String, ChatError> {
        let answer = self
            .call("conversations.create", &json!({"name": name, "is_private": false}))
            .await?;
        answer["channel"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ChatError::Transient("conversations.create answered without a channel id".into()))
    }

    async fn invite(&self, channel: &str, user: &str) -> Result<(), ChatError> {
        let result = self
            .call("conversations.invite", &json!({"channel": channel, "users": user}))
            .await;
        tolerate(result, &["already_in_channel", "cant_invite_self"])
    }

    async fn pin(&self, target: &MessageRef) -> Result<(), ChatError> {
        let result = self
            .call("pins.add", &json!({"channel": target.channel, "timestamp": target.id}))
            .await;
        tolerate(result, &["already_pinned"])
    }

    async fn archive(&self, channel: &str) -> Result<(), ChatError> {
        let result = self.call("conversations.archive", &json!({"channel": channel})).await;
        tolerate(result, &["already_archived"])
    }
}
