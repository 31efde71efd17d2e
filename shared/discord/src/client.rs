//! Discord REST client (`Authorization: Bot …`, `User-Agent: DiscordBot (…)`): messages with
//! idempotent sends (`nonce` + `enforce_nonce`), edits, replies, guild channels for war rooms,
//! and rate limits learned from the `X-RateLimit-*` headers of each route's bucket (never
//! hard-coded), a 429's `retry_after` and `global` honoured. Every failure is a typed
//! [`ChatError`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use im_core::UserRef;
use im_core::chat::{BoxFuture, ChatError, MessageRef, Messenger, Op, PaceRule, People, Person, RoomAdmin};
use im_core::message::Doc;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::render::{Message, Reference, Renderer};

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

/// Requests per second a bot may make in all (Discord's documented global limit is 50; we keep
/// under it).
const GLOBAL_PER_SECOND: f64 = 45.0;

/// What this process learned about Discord's rate limits (shared by every provider's client):
/// each route's bucket and its window from the `X-RateLimit-*` headers, what is left of each
/// (route, channel) window, and a global pause after a global 429.
#[derive(Debug, Default)]
pub struct RateBook {
    /// route (`POST /channels/{id}/messages`) → bucket and least interval between calls.
    intervals: Mutex<HashMap<String, (String, Duration)>>,
    /// (route, major parameter) → when the window resets, if nothing is left of it.
    exhausted: Mutex<HashMap<String, Instant>>,
    /// No request at all before this (a global 429).
    global_until: Mutex<Option<Instant>>,
    /// The next moment a request may start (global spacing).
    next_global: Mutex<Option<Instant>>,
}

impl RateBook {
    fn learn(&self, route: &str, major: &str, headers: &reqwest::header::HeaderMap) {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let number = |name: &str| {
            header(name)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let (Some(bucket), Some(limit), Some(reset)) = (
            header("x-ratelimit-bucket"),
            number("x-ratelimit-limit"),
            number("x-ratelimit-reset-after"),
        ) else {
            return;
        };
        if limit >= 1.0 {
            // A window of `limit` calls per `reset` seconds, spread evenly, with a 5 % margin
            // against clock and network jitter (a call landing a hair early is a 429).
            let interval = Duration::from_secs_f64((reset / limit * 1.05).min(60.0));
            if let Ok(mut intervals) = self.intervals.lock() {
                intervals.insert(route.to_string(), (bucket, interval));
            }
        }
        if let Ok(mut exhausted) = self.exhausted.lock() {
            let key = format!("{route}#{major}");
            if number("x-ratelimit-remaining") == Some(0.0) {
                exhausted.insert(key, Instant::now() + Duration::from_secs_f64(reset.min(900.0)));
            } else {
                exhausted.remove(&key);
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

    /// How long to hold off a call: a global pause, or a window with nothing left.
    fn wait(&self, route: &str, major: &str) -> Option<(Duration, bool)> {
        let now = Instant::now();
        let global = self.global_until.lock().ok().and_then(|u| *u);
        if let Some(wait) = global
            .and_then(|u| u.checked_duration_since(now))
            .filter(|d| !d.is_zero())
        {
            return Some((wait, true));
        }
        let exhausted = self.exhausted.lock().ok()?;
        let reset = exhausted.get(&format!("{route}#{major}"))?;
        reset
            .checked_duration_since(now)
            .filter(|d| !d.is_zero())
            .map(|d| (d, false))
    }

    /// Reserves this process's next moment under the global limit; how long to wait for it.
    fn global_slot(&self) -> Duration {
        let spacing = Duration::from_secs_f64(1.0 / GLOBAL_PER_SECOND);
        let Ok(mut next) = self.next_global.lock() else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        let at = next.map_or(now, |n| n.max(now));
        *next = Some(at + spacing);
        at - now
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
    ChatError::transport(e.is_connect(), e.is_timeout(), e)
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

    /// One call: held off (without asking Discord) during a global pause or while its window
    /// has nothing left, spaced under the global limit; the bucket learned from the answer.
    pub async fn call<B: serde::Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        route: &str,
        body: Option<&B>,
    ) -> Result<Value, ChatError> {
        let major = path.split('/').nth(2).unwrap_or("");
        if let Some((wait, global)) = self.rates.wait(route, major) {
            return Err(ChatError::RateLimited { wait, global });
        }
        let spacing = self.rates.global_slot();
        if !spacing.is_zero() {
            tokio::time::sleep(spacing).await;
        }
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("Bot {}", self.token.expose_secret()))
            .header("user-agent", USER_AGENT);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| transport(&e))?;
        self.rates.learn(route, major, response.headers());
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

    async fn create_message(&self, channel: &str, body: &Message) -> Result<MessageRef, ChatError> {
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
            body.nonce = Some(nonce(key));
            body.enforce_nonce = true;
            self.create_message(channel, &body).await
        })
    }

    fn update<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let body = self.renderer().message(doc);
            let path = format!("/channels/{}/messages/{}", target.channel, target.id);
            self.call(Method::PATCH, &path, "PATCH /channels/{id}/messages/{id}", Some(&body))
                .await
                .map(|_| ())
        })
    }

    fn delete<'a>(&'a self, target: &'a MessageRef) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let path = format!("/channels/{}/messages/{}", target.channel, target.id);
            self.call::<()>(Method::DELETE, &path, "DELETE /channels/{id}/messages/{id}", None)
                .await
                .map(|_| ())
        })
    }

    fn reply<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<MessageRef, ChatError>> {
        Box::pin(async move {
            let mut body = self.renderer().message(doc);
            body.message_reference = Some(Reference {
                message_id: target.id.clone(),
                fail_if_not_exists: false,
            });
            self.create_message(&target.channel, &body).await
        })
    }

    fn pace(&self, op: Op<'_>) -> Option<PaceRule> {
        match op {
            Op::Post { channel } | Op::Reply { channel } => self.rates.rule("POST /channels/{id}/messages", channel),
            Op::Update { channel } => self.rates.rule("PATCH /channels/{id}/messages/{id}", channel),
        }
    }

    fn people(&self) -> Option<&dyn People> {
        Some(self)
    }

    fn rooms(&self) -> Option<&dyn RoomAdmin> {
        self.guild.is_some().then_some(self as &dyn RoomAdmin)
    }
}

/// Guild membership (`GET /guilds/{guild}/members/{user}`): a person who left or was removed
/// is no member. Discord has no guest accounts and shares no e-mail addresses with bots.
impl People for DiscordClient {
    fn person<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<Option<Person>, ChatError>> {
        Box::pin(async move {
            let path = format!("/guilds/{}/members/{user}", self.guild()?);
            match self
                .call::<Value>(Method::GET, &path, "GET /guilds/{id}/members/{id}", None)
                .await
            {
                Ok(member) => Ok(Some(Person {
                    // A member still completing the server's membership screening cannot act.
                    active: !member["pending"].as_bool().unwrap_or(false),
                    guest: false,
                    bot: member["user"]["bot"].as_bool().unwrap_or(false),
                    email: None,
                })),
                Err(ChatError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            }
        })
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
                    None::<&Value>,
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
                    Some(&json!({"name": name, "type": 0})),
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
            self.call(Method::PUT, &path, "PUT /channels/{id}/permissions/{id}", Some(&body))
                .await
                .map(|_| ())
        })
    }

    fn pin<'a>(&'a self, target: &'a MessageRef) -> BoxFuture<'a, Result<(), ChatError>> {
        Box::pin(async move {
            let path = format!("/channels/{}/pins/{}", target.channel, target.id);
            self.call(Method::PUT, &path, "PUT /channels/{id}/pins/{id}", None::<&Value>)
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
            self.call(Method::PUT, &path, "PUT /channels/{id}/permissions/{id}", Some(&body))
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
        headers.insert("x-ratelimit-remaining", "0".parse().expect("value"));
        book.learn("POST /channels/{id}/messages", "600", &headers);
        assert_eq!(
            book.rule("POST /channels/{id}/messages", "600"),
            Some(PaceRule {
                bucket: "discord:abcd:600".into(),
                interval: Duration::from_millis(1050)
            })
        );
        let held = book.wait("POST /channels/{id}/messages", "600");
        assert!(
            held.is_some_and(|(d, global)| !global && d <= Duration::from_secs(5)),
            "nothing left: wait for the reset"
        );
        assert_eq!(
            book.wait("POST /channels/{id}/messages", "601"),
            None,
            "other channels have their own windows"
        );
        book.pause(Duration::from_millis(1500));
        assert!(
            book.wait("POST /channels/{id}/messages", "601")
                .is_some_and(|(d, global)| global && d <= Duration::from_millis(1500))
        );
        assert_eq!(book.global_slot(), Duration::ZERO);
        assert!(
            book.global_slot() > Duration::ZERO,
            "requests are spaced under the global limit"
        );
    }
}
