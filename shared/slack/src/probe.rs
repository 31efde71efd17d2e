//! `im chatops test` for Slack: the token (`auth.test`), its scopes (`X-OAuth-Scopes`) against the
//! ones the setup guide asks for, and the default channel (`conversations.info`). Slack cannot
//! report how its slash command is set up: that line comes from the requests we have seen.

use im_core::chat::ChatError;
use im_core::probe::{ChannelInfo, Probe, Verdict, explain};
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

/// Every channel the bot can see (`conversations.list`, public and private, not archived, all
/// pages), and whether it can post: as a member, or in a public channel with `chat:write.public`.
pub async fn channels(client: &SlackClient) -> Result<Vec<ChannelInfo>, ChatError> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    for _ in 0..50 {
        let mut body = json!({"types": "public_channel,private_channel", "exclude_archived": true, "limit": 200});
        if !cursor.is_empty() {
            body["cursor"] = json!(cursor);
        }
        let (page, scopes) = client.call_with_scopes("conversations.list", &body).await?;
        let public_scope = scopes.is_some_and(|s| s.iter().any(|x| x == "chat:write.public"));
        for c in page["channels"].as_array().into_iter().flatten() {
            let id = c["id"].as_str().unwrap_or_default().to_string();
            let name = c["name"].as_str().unwrap_or(&id).to_string();
            let member = c["is_member"].as_bool() == Some(true);
            let private = c["is_private"].as_bool() == Some(true);
            let (can_post, detail) = match (member, private, public_scope) {
                (true, _, _) => (Verdict::Pass, "member".to_string()),
                (false, false, true) => (Verdict::Pass, "public, chat:write.public".to_string()),
                (false, _, _) => (Verdict::Fail, "the bot is not a member: /invite it".to_string()),
            };
            out.push(ChannelInfo {
                id,
                name,
                can_post,
                detail,
            });
        }
        cursor = page["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if cursor.is_empty() {
            break;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
