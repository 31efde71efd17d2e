//! Slack: request signing, payload types and Block Kit rendering.

pub mod interaction;
pub mod notification;
pub mod payload;
pub mod render;
pub mod signature;

pub use payload::{EventEnvelope, PayloadError, SlackRequest, SlashCommand, parse_request};
pub use render::{SlackMessage, render};
pub use signature::{SignatureError, sign, verify};
