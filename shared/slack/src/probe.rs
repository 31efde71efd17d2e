//! `im chatops test` for Slack: the token (`auth.test`), its scopes (`X-OAuth-Scopes`) against the
//! ones the setup guide asks for, and the default channel (`conversations.info`). Slack cannot
//! report how its slash command is set up: that line comes from the requests we have seen.

use im_core::probe::{Probe, explain};
use im_core::provider::Provider;
use serde_json::json;

use crate::client::SlackClient;

/// Scopes every feature needs (OAuth & Permissions → Bot Token Scopes).
pub const REQUIRED_SCOPES: &[&str] = &[
    "chat:write",
    "commands",
    "app_mentions:read",
    "channels:read",
    "channels:manage",
    "pins:write",
    "users:read",
];

const CONNECTED: &str = "Connected to Slack workspace";
const PERMISSIONS: &str = "Bot permissions verified";
const CHANNEL: &str = "Default channel accessible";

pub async fn probe(client: &SlackClient, provider: &Provider) -> Vec<Probe> {
    let (me, scopes) = match client.call_with_scopes("auth.test", &json!({})).await {
        Ok(answer) => answer,
        Err(e) => {
            let why = explain(&e);
            return vec![
                Probe::fail(CONNECTED, why),
                Probe::unknown(PERMISSIONS, "not checked: no connection"),
                Probe::unknown(CHANNEL, "not checked: no connection"),
            ];
        }
    };
    let team = me["team"].as_str().or(me["team_id"].as_str()).unwrap_or("?");
    let bot = me["user"].as_str().unwrap_or("the bot");
    let mut out = vec![Probe::pass(CONNECTED, format!("{team}, as @{bot}"))];
    let public = scopes
        .as_ref()
        .is_some_and(|s| s.iter().any(|x| x == "chat:write.public"));
    out.push(match &scopes {
        None => Probe::unknown(PERMISSIONS, "Slack did not report the token's scopes"),
        Some(scopes) => {
            let missing: Vec<&str> = REQUIRED_SCOPES
                .iter()
                .copied()
                .filter(|r| !scopes.iter().any(|s| s == r))
                .collect();
            if missing.is_empty() {
                Probe::pass(PERMISSIONS, format!("{} scopes", scopes.len()))
            } else {
                Probe::fail(
                    PERMISSIONS,
                    format!(
                        "missing scopes: {} (add them under OAuth & Permissions, then reinstall the app)",
                        missing.join(", ")
                    ),
                )
            }
        }
    });
    out.push(match provider.config.default_channel.as_deref() {
        None => Probe::unknown(CHANNEL, "no default_channel is set"),
        Some(channel) => match client.call("conversations.info", &json!({"channel": channel})).await {
            Ok(info) => {
                let c = &info["channel"];
                let name = c["name"].as_str().unwrap_or(channel);
                if c["is_archived"].as_bool() == Some(true) {
                    Probe::fail(CHANNEL, format!("#{name} is archived"))
                } else if c["is_member"].as_bool() == Some(false) && !public {
                    Probe::fail(
                        CHANNEL,
                        format!("the bot is not in #{name}: invite it (/invite @{bot}) or add chat:write.public"),
                    )
                } else {
                    Probe::pass(CHANNEL, format!("#{name}"))
                }
            }
            Err(e) => Probe::fail(CHANNEL, format!("{channel}: {}", explain(&e))),
        },
    });
    out
}
