//! Discord REST client (`Authorization: Bot …`, `User-Agent: DiscordBot (…)`): messages with
//! idempotent sends (`nonce` + `enforce_nonce`), edits, replies, guild channels for war rooms,
//! and rate limits learned from the `X-RateLimit-*` headers of each route's bucket (never
//! hard-coded), a 429's `retry_after` and `global` honoured. Every failure is a typed
//! [`ChatError`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use im_core::UserRef;
use im_core::chat::{BoxFuture, ChatError, MessageRef, Messenger, Op, PaceRule, RoomAdmin};
use im_core::message::Doc;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::render::Renderer;

/// `User-Agent` Discord requires of bots (PROTOCOLS.md §2.4).
pub const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/im/chatops, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

/// VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY.
const MEMBER_ALLOW: u64 = (1 << 10) | (1 << 11) | (1 << 16);
/// SEND_MESSAGES: denied to everyone when a war room is locked.
const SEND_MESSAGES: u64 = 1 << 11;

/// What this process learned about Discord's rate limits (shared by every provider's client).
#[derive(Debug, Default)]
pub struct RateBook {
    /// route (`POST /channels/{id}/messages`) → least interval between calls, from its bucket.
    intervals: Mutex<HashMap<String, (String, Duration)>>,
    /// No request at all before this (a global 429).
    global_until: Mutex<Option<Instant>>,
}

impl RateBook {
    fn learn(&self, route: &str, headers: &reqwest::header::HeaderMap) {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (Some(bucket), Some(limit), Some(reset)) = (
            header("x-ratelimit-bucket"),
            header("x-ratelimit-limit").and_then(|l| l.parse::<f64>().ok()),
            header("x-ratelimit-reset-after").and_then(|r| r.parse::<f64>().ok()),
        ) else {
            return;
        };
        if limit >= 1.0 && reset.is_finite() && reset >= 0.0 {
            // A window of `limit` calls per `reset` seconds, spread evenly.
            let interval = Duration::from_secs_f64((reset / limit).min(60.0));
            if let Ok(mut intervals) = self.intervals.lock() {
                intervals.insert(route.to_string(), (bucket, interval));
            }
        }
    }

    fn rule(&self, route: &str, major: &str) -> Option<PaceRule> {
        let intervals = self.intervals.lock().ok()?;
        let (bucket, interval) = intervals.get(route)?;
        Some(PaceRule {
            bucket: format!("discord:{bucket}:{major}"),
            interval: *interval,
        })
    }

    fn pause(&self, wait: Duration) {
        if let Ok(mut until) = self.global_until.lock() {
            let next = Instant::now() + wait;
            if until.is_none_or(|u| u < next) {
                *until = Some(next);
            }
        }
    }

    fn paused(&self) -> Option<Duration> {
        let until = (*self.global_until.lock().ok()?)?;
        until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
    }
}

/// A client for one server (one bot token).
#[derive(Clone)]
pub struct DiscordClient {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    token: SecretString,
    provider: String,
    guild: Option<String>,
    rates: Arc<RateBook>,
}

impl std::fmt::Debug for DiscordClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordClient")
            .field("base", &self.base)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

pub(crate) fn transport(e: &reqwest::Error) -> ChatError {
    if e.is_connect() {
        ChatError::Transient(format!("connection failed: {e}"))
    } else if e.is_timeout() {
        ChatError::Unknown(format!("timed out: {e}"))
    } else {
        ChatError::Transient(e.to_string())
    }
}

/// Classifies a failed answer.
pub(crate) async fn failure(response: reqwest::Response) -> ChatError {
    let status = response.status().as_u16();
    let retry_header = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<f64>().ok());
    let body: Value = response.json().await.unwrap_or_default();
    let message = body["message"].as_str().unwrap_or("").to_string();
    match status {
        429 => {
            let seconds = body["retry_after"].as_f64().or(retry_header).unwrap_or(1.0);
            ChatError::RateLimited {
                wait: Duration::from_secs_f64(seconds.clamp(0.0, 900.0)),
                global: body["global"].as_bool().unwrap_or(false),
            }
        }
        401 => ChatError::Unauthorized(format!("HTTP 401 {message}").trim().to_string()),
        404 => ChatError::NotFound(format!("HTTP 404 {message}").trim().to_string()),
        s if s >= 500 => ChatError::Transient(format!("HTTP {s}")),
        s => ChatError::Permanent(format!("HTTP {s} {message}").trim().to_string()),
    }
}

/// A nonce for a send (at most 25 characters): the same delivery always sends the same one.
pub fn nonce(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(&digest[..12])
}

impl DiscordClient {
    pub fn new(
        http: reqwest::Client,
        base: &str,
        token: SecretString,
        provider: &str,
        guild: Option<String>,
        rates: Arc<RateBook>,
    ) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            provider: provider.to_string(),
            guild,
            rates,
        }
    }

    /// One call: refused at once during a global pause; the bucket learned from the answer.
    pub async fn call(&self, method: Method, path: &str, route: &str, body: Option<Value>) -> Result<Value, ChatError> {
        if let Some(wait) = self.rates.paused() {
            return Err(ChatError::RateLimited { wait, global: true });
        }
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("Bot {}", self.token.expose_secret()))
            .header("user-agent", USER_AGENT);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| transport(&e))?;
        self.rates.learn(route, response.headers());
        if response.status().is_success() {
            return Ok(response.json().await.unwrap_or(Value::Null));
        }
        let error = failure(response).await;
        if let ChatError::RateLimited { wait, global: true } = &error {
            self.rates.pause(*wait);
        }
        Err(error)
    }

    fn renderer(&self) -> Renderer<'_> {
        Renderer::new(&self.provider)
    }

    fn guild(&self) -> Result<&str, ChatError> {
        self.guild
            .as_deref()
            .ok_or_else(|| ChatError::Permanent("the provider has no guild_id, so no channels can be managed".into()))
    }

    async fn create_message(&self, channel: &str, body: Value) -> Result<MessageRef, ChatError> {
        let path = format!("/channels/{channel}/messages");
        let answer = self
            .call(Method::POST, &path, "POST /channels/{id}/messages", Some(body))
            .await?;
        let id = answer["id"]
            .as_str()
            .ok_or_else(|| ChatError::Transient("the answer names no message".into()))?;
        Ok(MessageRef::new(channel, id))
    }
}

impl Messenger for DiscordClient {
    fn platform(&self) -> &str {
        "discord"
    }

    fn post<'a>(
        &'a self,
        channel: &'a str,
        doc: &'a Doc,
        key: &'a str,
    ) -> BoxFuture<'a, Result<MessageRef, ChatError>> {
        Box::pin(async move {
            let mut body = self.renderer().message(doc);
            body["nonce"] = json!(nonce(key));
            body["enforce_nonce"] = json!(true);
            self.create_message(channel, body).await
        })
    }

    fn update<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let body = self.renderer().message(doc);
            let path = format!("/channels/{}/messages/{}", target.channel, target.id);
            self.call(Method::PATCH, &path, "PATCH /channels/{id}/messages/{id}", Some(body))
                .await
                .map(|_| ())
        })
    }

    fn reply<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<MessageRef, ChatError>> {
        Box::pin(async move {
            let mut body = self.renderer().message(doc);
            body["message_reference"] = json!({"message_id": target.id, "fail_if_not_exists": false});
            self.create_message(&target.channel, body).await
        })
    }

    fn pace(&self, op: Op<'_>) -> Option<PaceRule> {
        match op {
            Op::Post { channel } | Op::Reply { channel } => self.rates.rule("POST /channels/{id}/messages", channel),
            Op::Update { channel } => self.rates.rule("PATCH /channels/{id}/messages/{id}", channel),
        }
    }

    fn rooms(&self) -> Option<&dyn RoomAdmin> {
        self.guild.is_some().then_some(self as &dyn RoomAdmin)
    }
}

impl RoomAdmin for DiscordClient {
    fn max_name(&self) -> usize {
        100
    }

    fn create_channel<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, ChatError>> {
        Box::pin(async move {
            let guild = self.guild()?;
            // Discord allows two channels of one name: look first, so a room's name is its own.
            let existing = self
                .call(
                    Method::GET,
                    &format!("/guilds/{guild}/channels"),
                    "GET /guilds/{id}/channels",
                    None,
                )
                .await?;
            if existing.as_array().into_iter().flatten().any(|c| c["name"] == name) {
                return Err(ChatError::NameTaken);
            }
            let created = self
                .call(
                    Method::POST,
                    &format!("/guilds/{guild}/channels"),
                    "POST /guilds/{id}/channels",
                    Some(json!({"name": name, "type": 0})),
                )
                .await?;
            created["id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ChatError::Transient("the answer names no channel".into()))
        })
    }

    fn invite<'a>(&'a self, channel: &'a str, user: &'a UserRef) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let path = format!("/channels/{channel}/permissions/{}", user.id);
            let body = json!({"type": 1, "allow": MEMBER_ALLOW.to_string()});
            self.call(Method::PUT, &path, "PUT /channels/{id}/permissions/{id}", Some(body))
                .await
                .map(|_| ())
        })
    }

    fn pin<'a>(&'a self, target: &'a MessageRef) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let path = format!("/channels/{}/pins/{}", target.channel, target.id);
            self.call(Method::PUT, &path, "PUT /channels/{id}/pins/{id}", None)
                .await
                .map(|_| ())
        })
    }

    /// Locks the room: nobody may send any more (the everyone role's id is the guild's).
    fn archive<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let guild = self.guild()?;
            let path = format!("/channels/{channel}/permissions/{guild}");
            let body = json!({"type": 0, "deny": SEND_MESSAGES.to_string()});
            self.call(Method::PUT, &path, "PUT /channels/{id}/permissions/{id}", Some(body))
                .await
                .map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_short_and_stable() {
        assert_eq!(nonce("E1:acme:600").len(), 24);
        assert_eq!(nonce("E1:acme:600"), nonce("E1:acme:600"));
        assert_ne!(nonce("E1:acme:600"), nonce("E1:acme:601"));
    }

    #[test]
    fn buckets_are_learned_from_headers() {
        let book = RateBook::default();
        assert_eq!(book.rule("POST /channels/{id}/messages", "1"), None, "nothing assumed");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-ratelimit-bucket", "abcd".parse().expect("value"));
        headers.insert("x-ratelimit-limit", "5".parse().expect("value"));
        headers.insert("x-ratelimit-reset-after", "5.0".parse().expect("value"));
        book.learn("POST /channels/{id}/messages", &headers);
        assert_eq!(
            book.rule("POST /channels/{id}/messages", "600"),
            Some(PaceRule {
                bucket: "discord:abcd:600".into(),
                interval: Duration::from_secs(1)
            })
        );
        assert!(book.paused().is_none());
        book.pause(Duration::from_millis(1500));
        assert!(book.paused().is_some_and(|d| d <= Duration::from_millis(1500)));
    }
}
