//! The outbound seam: what the core asks of a chat platform, per connected provider.
//!
//! A [`Messenger`] posts, edits and replies with documents in the neutral model (rendering them
//! for its platform), classifies every failure into a typed [`ChatError`] (never a platform error
//! string for the caller to match), and says how its platform paces each kind of call
//! ([`PaceRule`]). Channel administration (war rooms) is an optional capability,
//! [`RoomAdmin`]; a platform without it gets the core's fallback.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::incident::UserRef;
use crate::message::Doc;

/// A boxed future, so ports can be used as trait objects (one per provider, chosen at run time).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a posted message lives: enough to edit it or reply under it later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    pub channel: String,
    /// The platform's message id (Slack `ts`, Discord message id, Teams activity id …).
    pub id: String,
    /// Whatever else the platform needs to address the message later (Teams: `service_url`,
    /// `conversation`, `tenant`; a thread; the ids of the further parts of a split message).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl MessageRef {
    pub fn new(channel: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            channel: channel.into(),
            id: id.into(),
            extra: BTreeMap::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }
}

/// How a chat platform call failed, which decides what happens to the work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// Throttled: wait this long and try again (does not use up the retry budget). `global`:
    /// the whole bot is throttled, not just this kind of call.
    #[error("rate limited for {wait:?}{}", if *global { " (global)" } else { "" })]
    RateLimited { wait: Duration, global: bool },
    /// The credentials were refused (revoked or rotated token): re-read the secret once, then
    /// give up.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The channel, message or user does not exist (or the bot cannot see it).
    #[error("not found: {0}")]
    NotFound(String),
    /// Will not succeed on retry (missing permission, invalid request, archived channel …).
    #[error("permanent: {0}")]
    Permanent(String),
    /// Server error, connection failure, timeout before sending: retry with backoff.
    #[error("transient: {0}")]
    Transient(String),
    /// The request may have been delivered but the answer was lost (timeout after sending).
    #[error("no answer (the message may have been delivered): {0}")]
    Unknown(String),
    /// A channel name is taken (war rooms pick another).
    #[error("name taken")]
    NameTaken,
}

impl ChatError {
    pub fn rate_limited(wait: Duration) -> Self {
        ChatError::RateLimited { wait, global: false }
    }

    /// A call that failed before an answer came: one that never connected was not sent (safe to
    /// retry); one that timed out may have been applied (a retried post may show twice).
    pub fn transport(connect_failed: bool, timed_out: bool, detail: impl fmt::Display) -> Self {
        if connect_failed {
            ChatError::Transient(format!("connection failed: {detail}"))
        } else if timed_out {
            ChatError::Unknown(format!("timed out: {detail}"))
        } else {
            ChatError::Transient(detail.to_string())
        }
    }

    /// Whether retrying later can help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ChatError::RateLimited { .. } | ChatError::Transient(_) | ChatError::Unknown(_)
        )
    }
}

/// A kind of call, for pacing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op<'a> {
    /// A new top-level message in a channel.
    Post { channel: &'a str },
    /// An edit of a message in a channel.
    Update { channel: &'a str },
    /// A reply in a message's thread.
    Reply { channel: &'a str },
}

/// How a platform paces one kind of call: at most one call per `interval` in `bucket`, shared
/// by every process through the pacing store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaceRule {
    pub bucket: String,
    pub interval: Duration,
}

/// Posting to one connected workspace (one provider), in its platform's format.
pub trait Messenger: Send + Sync {
    /// The platform name (`slack`, `discord` …): picks the operator's templates.
    fn platform(&self) -> &str;

    /// A new top-level message. `key` is stable across retries of the same delivery, for
    /// platforms with idempotent sends (Discord's nonce).
    fn post<'a>(&'a self, channel: &'a str, doc: &'a Doc, key: &'a str)
    -> BoxFuture<'a, Result<MessageRef, ChatError>>;

    /// Replaces a message with a newer render.
    fn update<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<(), ChatError>>;

    /// A reply in the message's thread (or as close as the platform gets).
    fn reply<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<MessageRef, ChatError>>;

    /// Deletes a message the bot posted (`im chatops test-notifications` cleans up after itself).
    fn delete<'a>(&'a self, target: &'a MessageRef) -> BoxFuture<'a, Result<(), ChatError>> {
        let _ = target;
        Box::pin(async { Err(ChatError::Permanent("this platform cannot delete messages yet".into())) })
    }

    /// How the platform paces this call (`None`: no pacing needed).
    fn pace(&self, op: Op<'_>) -> Option<PaceRule>;

    /// Channel administration, where the platform lets a bot do it.
    fn rooms(&self) -> Option<&dyn RoomAdmin> {
        None
    }

    /// The workspace's people, where the platform lets a bot look them up (identity checks).
    fn people(&self) -> Option<&dyn People> {
        None
    }
}

/// What a platform says about one of its users.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    /// Not deactivated, still a member of the workspace.
    pub active: bool,
    /// A guest account (Slack single- and multi-channel guests).
    pub guest: bool,
    pub bot: bool,
    /// The verified e-mail address, where the platform shares it with the app.
    pub email: Option<String>,
}

/// Looking up people in the provider's workspace.
pub trait People: Send + Sync {
    /// `None` if the workspace has no such user.
    fn person<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<Option<Person>, ChatError>>;
}

/// Creating and managing incident channels (war rooms).
pub trait RoomAdmin: Send + Sync {
    /// Longest channel name the platform accepts.
    fn max_name(&self) -> usize;

    /// Creates a channel; [`ChatError::NameTaken`] if the name is in use.
    fn create_channel<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<String, ChatError>>;

    /// Brings a person into the channel (a no-op if they are in it).
    fn invite<'a>(&'a self, channel: &'a str, user: &'a UserRef) -> BoxFuture<'a, Result<(), ChatError>>;

    fn pin<'a>(&'a self, target: &'a MessageRef) -> BoxFuture<'a, Result<(), ChatError>>;

    /// Archives (or locks) the channel when the incident is closed.
    fn archive<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<(), ChatError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_say_whether_the_call_may_have_happened() {
        assert_eq!(
            ChatError::transport(true, false, "refused"),
            ChatError::Transient("connection failed: refused".into())
        );
        assert_eq!(
            ChatError::transport(false, true, "30 s"),
            ChatError::Unknown("timed out: 30 s".into())
        );
        assert_eq!(
            ChatError::transport(false, false, "reset"),
            ChatError::Transient("reset".into())
        );
        assert!(ChatError::transport(false, true, "x").is_retryable());
    }
}
