//! `im chatops test` for Discord: the token (`GET /users/@me`), the default channel
//! (`GET /channels/{id}`) and `/im`'s registration (`GET …/commands`). Discord computes a bot's
//! permissions per channel from its roles and overwrites, which its API does not report to the
//! bot: that line says so and missing permissions show up as refusals when posting.

use im_core::chat::ChatError;
use im_core::probe::{ChannelInfo, Probe, Verdict, explain};
use im_core::provider::Provider;
use reqwest::Method;
use serde_json::Value;

use crate::client::DiscordClient;

const CONNECTED: &str = "Connected to Discord";
const PERMISSIONS: &str = "Bot permissions verified";
const CHANNEL: &str = "Default channel accessible";
const COMMANDS: &str = "Slash commands configured";

async fn get(client: &DiscordClient, path: &str, route: &str) -> Result<Value, im_core::chat::ChatError> {
    client.call::<()>(Method::GET, path, route, None).await
}

pub async fn probe(client: &DiscordClient, provider: &Provider) -> Vec<Probe> {
    let me = match get(client, "/users/@me", "GET /users/@me").await {
        Ok(me) => me,
        Err(e) => {
            return vec![
                Probe::fail(CONNECTED, explain(&e)),
                Probe::unknown(PERMISSIONS, "not checked: no connection"),
                Probe::unknown(CHANNEL, "not checked: no connection"),
                Probe::unknown(COMMANDS, "not checked: no connection"),
            ];
        }
    };
    let name = me["username"].as_str().unwrap_or("the bot");
    let mut out = vec![
        Probe::pass(CONNECTED, format!("as {name}")),
        Probe::unknown(
            PERMISSIONS,
            "Discord does not report a bot's effective permissions; a missing one shows as a refused post",
        ),
    ];
    out.push(match provider.config.default_channel.as_deref() {
        None => Probe::unknown(CHANNEL, "no default_channel is set"),
        Some(channel) => match get(client, &format!("/channels/{channel}"), "GET /channels/{id}").await {
            Ok(c) => Probe::pass(CHANNEL, format!("#{}", c["name"].as_str().unwrap_or(channel))),
            Err(e) => Probe::fail(CHANNEL, format!("{channel}: {}", explain(&e))),
        },
    });
    out.push(match provider.config.platform_key("application_id") {
        None => Probe::unknown(COMMANDS, "no application_id is set"),
        Some(app) => {
            let path = match provider.config.platform_key("guild_id") {
                Some(guild) => format!("/applications/{app}/guilds/{guild}/commands"),
                None => format!("/applications/{app}/commands"),
            };
            match get(client, &path, "GET /applications/{id}/commands").await {
                Ok(list) if list.as_array().is_some_and(|l| l.iter().any(|c| c["name"] == "im")) => {
                    Probe::pass(COMMANDS, "/im is registered")
                }
                Ok(_) => Probe::fail(
                    COMMANDS,
                    format!(
                        "/im is not registered: run `im chatops register-commands {}`",
                        provider.name
                    ),
                ),
                Err(e) => Probe::fail(COMMANDS, explain(&e)),
            }
        }
    });
    out
}

/// The server's text and announcement channels. Discord does not tell a bot its effective
/// permissions in each, so whether it can post is `Unknown` (a refused post names the missing one).
pub async fn channels(client: &DiscordClient, provider: &Provider) -> Result<Vec<ChannelInfo>, ChatError> {
    let guild = provider
        .config
        .platform_key("guild_id")
        .ok_or_else(|| ChatError::Permanent("the provider has no guild_id".into()))?;
    let list = get(
        client,
        &format!("/guilds/{guild}/channels"),
        "GET /guilds/{id}/channels",
    )
    .await?;
    let mut out: Vec<ChannelInfo> = list
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| matches!(c["type"].as_u64(), Some(0 | 5)))
        .map(|c| ChannelInfo {
            id: c["id"].as_str().unwrap_or_default().to_string(),
            name: c["name"].as_str().unwrap_or_default().to_string(),
            can_post: Verdict::Unknown,
            detail: "Discord does not report a bot's permissions".into(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
