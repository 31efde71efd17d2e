//! Slack Web API client: `POST <base>/<method>` with the bot token and JSON bodies, every failure
//! classified into a typed [`ChatError`] (Slack answers errors as HTTP 200 `{"ok": false}`), and
//! the core's [`Messenger`] and [`RoomAdmin`] on top.

use std::time::Duration;

use im_core::UserRef;
use im_core::chat::{BoxFuture, ChatError, MessageRef, Messenger, Op, PaceRule, People, Person, RoomAdmin};
use im_core::message::Doc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::render::Renderer;

/// Slack error codes worth retrying.
const TRANSIENT: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
];

/// The token was refused: re-reading the secret may help (a rotation).
const UNAUTHORIZED: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
];

/// The channel, message or user is not there (or the bot cannot see it).
const NOT_FOUND: &[&str] = &["channel_not_found", "message_not_found", "user_not_found"];

/// How Slack paces calls (PROTOCOLS.md §1.6): `chat.postMessage` about one per second per
/// channel (a thread reply is a post in that channel); `chat.update` Tier 3 per workspace.
#[derive(Clone, Debug)]
pub struct Pacing {
    pub post_interval: Duration,
    pub update_interval: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            post_interval: Duration::from_millis(1050),
            update_interval: Duration::from_millis(1250),
        }
    }
}

/// One HTTP client per process (rustls with ring, like the AWS SDK).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))
}

/// A client for one workspace (one bot token).
#[derive(Clone)]
pub struct SlackClient {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    provider: String,
    pacing: Pacing,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("base", &self.base)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

pub(crate) fn transport_error(e: &reqwest::Error) -> ChatError {
    ChatError::transport(e.is_connect(), e.is_timeout(), e)
}

/// Classifies an `{"ok": false, "error": code}` answer.
pub fn classify_code(code: &str) -> ChatError {
    if code == "name_taken" {
        ChatError::NameTaken
    } else if TRANSIENT.contains(&code) {
        ChatError::Transient(code.to_string())
    } else if UNAUTHORIZED.contains(&code) {
        ChatError::Unauthorized(code.to_string())
    } else if NOT_FOUND.contains(&code) {
        ChatError::NotFound(code.to_string())
    } else {
        // Anything else (not_in_channel, is_archived, missing_scope, invalid_blocks …): retrying
        // the same request will not change Slack's mind.
        ChatError::Permanent(code.to_string())
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
        return Err(ChatError::rate_limited(Duration::from_secs_f64(seconds.min(900.0))));
    }
    if status.is_server_error() {
        return Err(ChatError::Transient(format!("HTTP {status}")));
    }
    if status.as_u16() == 401 || status.as_u16() == 403 {
        return Err(ChatError::Unauthorized(format!("HTTP {status}")));
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
    Err(classify_code(body["error"].as_str().unwrap_or("unknown_error")))
}

fn message_ref(body: &Value, channel: &str) -> Result<MessageRef, ChatError> {
    let id = body["ts"]
        .as_str()
        .ok_or_else(|| ChatError::Transient("answer without ts".into()))?;
    Ok(MessageRef::new(body["channel"].as_str().unwrap_or(channel), id))
}

/// Treats the given Slack error codes as success (e.g. `already_in_channel` for an invite).
fn tolerate(result: Result<Value, ChatError>, fine: &[&str]) -> Result<(), ChatError> {
    match result {
        Ok(_) => Ok(()),
        Err(ChatError::Permanent(code) | ChatError::NotFound(code)) if fine.contains(&code.as_str()) => Ok(()),
        Err(e) => Err(e),
    }
}

impl SlackClient {
    pub fn new(http: reqwest::Client, base: &str, token: SecretString, provider: &str, pacing: Pacing) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            provider: provider.to_string(),
            pacing,
        }
    }

    fn renderer(&self) -> Renderer<'_> {
        Renderer::new(&self.provider)
    }

    /// Calls a Web API method with a JSON body.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, ChatError> {
        self.call_with_scopes(method, body).await.map(|(answer, _)| answer)
    }

    /// [`Self::call`], with the token's scopes from the `X-OAuth-Scopes` header (`None` when
    /// Slack did not send it).
    pub async fn call_with_scopes(
        &self,
        method: &str,
        body: &Value,
    ) -> Result<(Value, Option<Vec<String>>), ChatError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(self.token.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let scopes = response
            .headers()
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            });
        Ok((classify(response).await?, scopes))
    }

    /// Calls a read method with a form body (some of Slack's read methods take no JSON).
    pub async fn call_form(&self, method: &str, fields: &[(&str, &str)]) -> Result<Value, ChatError> {
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(self.token.expose_secret())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap_or_default())
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

    /// `auth.test`: the workspace and bot user the token belongs to.
    pub async fn auth_test(&self) -> Result<Value, ChatError> {
        self.call("auth.test", &json!({})).await
    }

    /// The workspace (`team_id`) and app (`api_app_id`) the bot token belongs to: `auth.test`
    /// names the workspace and the bot, `bots.info` the bot's app.
    pub async fn identity(&self) -> Result<(String, Option<String>), ChatError> {
        let me = self.auth_test().await?;
        let team = me["team_id"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ChatError::Permanent("auth.test named no workspace".into()))?
            .to_string();
        let app = match me["bot_id"].as_str().filter(|b| !b.is_empty()) {
            Some(bot) => self.call("bots.info", &json!({"bot": bot})).await?["bot"]["app_id"]
                .as_str()
                .map(str::to_string),
            None => None,
        };
        Ok((team, app))
    }

    async fn post_message(&self, mut body: Value) -> Result<MessageRef, ChatError> {
        let channel = body["channel"].as_str().unwrap_or("").to_string();
        body["unfurl_links"] = json!(false);
        body["unfurl_media"] = json!(false);
        let answer = self.call("chat.postMessage", &body).await?;
        message_ref(&answer, &channel)
    }
}

fn with(mut body: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    body
}

impl Messenger for SlackClient {
    fn platform(&self) -> &str {
        "slack"
    }

    fn post<'a>(
        &'a self,
        channel: &'a str,
        doc: &'a Doc,
        _key: &'a str,
    ) -> BoxFuture<'a, Result<MessageRef, ChatError>> {
        Box::pin(async move {
            let body = with(self.renderer().message(doc), json!({"channel": channel}));
            self.post_message(body).await
        })
    }

    fn update<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let body = with(
                self.renderer().message(doc),
                json!({"channel": target.channel, "ts": target.id}),
            );
            self.call("chat.update", &body).await.map(|_| ())
        })
    }

    fn delete<'a>(&'a self, target: &'a MessageRef) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            self.call("chat.delete", &json!({"channel": target.channel, "ts": target.id}))
                .await
                .map(|_| ())
        })
    }

    fn reply<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<MessageRef, ChatError>> {
        Box::pin(async move {
            let body = with(
                self.renderer().message(doc),
                json!({"channel": target.channel,
                       "thread_ts": target.extra.get("thread_ts").unwrap_or(&target.id)}),
            );
            self.post_message(body).await
        })
    }

    fn pace(&self, op: Op<'_>) -> Option<PaceRule> {
        Some(match op {
            Op::Post { channel } | Op::Reply { channel } => PaceRule {
                bucket: format!("post:{channel}"),
                interval: self.pacing.post_interval,
            },
            Op::Update { .. } => PaceRule {
                bucket: "update".into(),
                interval: self.pacing.update_interval,
            },
        })
    }

    fn rooms(&self) -> Option<&dyn RoomAdmin> {
        Some(self)
    }

    fn people(&self) -> Option<&dyn People> {
        Some(self)
    }
}

/// `users.info` (scope `users:read`; the e-mail address needs `users:read.email`).
impl People for SlackClient {
    fn person<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<Option<Person>, ChatError>> {
        Box::pin(async move {
            match self.call_form("users.info", &[("user", user)]).await {
                Ok(answer) => {
                    let u = &answer["user"];
                    let flag = |key: &str| u[key].as_bool().unwrap_or(false);
                    Ok(Some(Person {
                        active: !flag("deleted"),
                        guest: flag("is_restricted") || flag("is_ultra_restricted"),
                        bot: flag("is_bot") || flag("is_app_user"),
                        email: u["profile"]["email"]
                            .as_str()
                            .filter(|e| !e.is_empty())
                            .map(str::to_string),
                    }))
                }
                Err(ChatError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            }
        })
    }
}

impl RoomAdmin for SlackClient {
    fn max_name(&self) -> usize {
        80
    }

    fn create_channel<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, ChatError>> {
        Box::pin(async move {
            let answer = self
                .call("conversations.create", &json!({"name": name, "is_private": false}))
                .await?;
            answer["channel"]["id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ChatError::Transient("conversations.create answered without a channel id".into()))
        })
    }

    fn invite<'a>(&'a self, channel: &'a str, user: &'a UserRef) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let result = self
                .call("conversations.invite", &json!({"channel": channel, "users": user.id}))
                .await;
            tolerate(result, &["already_in_channel", "cant_invite_self"])
        })
    }

    fn pin<'a>(&'a self, target: &'a MessageRef) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let result = self
                .call("pins.add", &json!({"channel": target.channel, "timestamp": target.id}))
                .await;
            tolerate(result, &["already_pinned"])
        })
    }

    fn archive<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let result = self.call("conversations.archive", &json!({"channel": channel})).await;
            tolerate(result, &["already_archived"])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_typed() {
        assert_eq!(classify_code("name_taken"), ChatError::NameTaken);
        assert!(matches!(classify_code("invalid_auth"), ChatError::Unauthorized(c) if c == "invalid_auth"));
        assert!(matches!(classify_code("token_revoked"), ChatError::Unauthorized(_)));
        assert!(matches!(classify_code("channel_not_found"), ChatError::NotFound(c) if c == "channel_not_found"));
        assert!(matches!(classify_code("internal_error"), ChatError::Transient(_)));
        assert!(matches!(classify_code("not_in_channel"), ChatError::Permanent(c) if c == "not_in_channel"));
        assert!(matches!(classify_code("brand_new_error"), ChatError::Permanent(_)));
    }
}
