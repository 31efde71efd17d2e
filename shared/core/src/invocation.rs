//! Who asked for something, from where, and how.

use std::fmt;

use crate::incident::{Origin, UserRef};

/// The interface a request came through; it prefixes timeline event types and actors
/// (`chatops.acknowledge`, `chatops:U123`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    Chatops,
    Api,
    System,
    /// The SLA monitor: `sla.breach`, `sla:monitor`.
    Sla,
}

impl Interface {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chatops => "chatops",
            Self::Api => "api",
            Self::System => "system",
            Self::Sla => "sla",
        }
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person acting through a provider (one connected workspace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub platform: String,
    pub provider: String,
    pub user: UserRef,
    pub channel: Option<String>,
}

impl Actor {
    /// `slack:company-slack`
    pub fn source(&self) -> String {
        format!("{}:{}", self.platform, self.provider)
    }

    pub fn origin(&self) -> Origin {
        Origin {
            platform: self.platform.clone(),
            provider: self.provider.clone(),
            channel: self.channel.clone(),
        }
    }
}

/// One request to run a command.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub actor: Actor,
    pub interface: Interface,
    /// The slash command the platform used (`/im`), for usage lines.
    pub prefix: String,
    /// The command as typed, recorded on the timeline: `/im ack INC-2026-001`.
    pub command_line: String,
    /// Platform-supplied id of this request (Slack `trigger_id`, Discord interaction id …):
    /// a retried request with the same key is not applied twice.
    pub idempotency_key: Option<String>,
}

impl Invocation {
    /// A chat command typed as `<prefix> <text>` (how the timeline records it).
    pub fn chat(actor: Actor, prefix: &str, text: &str, idempotency_key: Option<String>) -> Self {
        Self {
            actor,
            interface: Interface::Chatops,
            prefix: prefix.to_string(),
            command_line: format!("{prefix} {text}").trim().to_string(),
            idempotency_key,
        }
    }

    /// `chatops:U123`
    pub fn actor_label(&self) -> String {
        format!("{}:{}", self.interface, self.actor.user.id)
    }
}
