//! `im chatops interact-test NAME [--local]`: posts a test button and waits for a verified click.
//! `--local` clicks it itself, as the platform would: a signed Slack `block_actions` payload
//! (the provider's signing secret) or a Discord component interaction (the local key pair, which
//! only a provider trusting it accepts), sent to the local server.

use std::time::Duration;

use im_core::IncidentId;
use im_core::chat::MessageRef;
use im_core::provider::{Provider, ProviderSecrets};
use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::Failure;

/// Sends the click `--local` simulates; returns the HTTP status.
pub async fn click(
    http: &reqwest::Client,
    base: &str,
    provider: &Provider,
    secrets: &ProviderSecrets,
    message: &MessageRef,
    nonce: &IncidentId,
) -> Result<u16, Failure> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let base = base.trim_end_matches('/');
    let channel = provider.config.default_channel.clone().unwrap_or_default();
    let (url, headers, body) = match provider.platform.as_str() {
        "slack" => {
            let secret = secrets.get("signing_secret").ok_or_else(|| {
                Failure(format!(
                    "`{}` has no signing_secret to sign a click with",
                    provider.name
                ))
            })?;
            let team = provider.config.platform_key("team_id").unwrap_or("T0IMLOCAL");
            let mut payload = json!({
                "type": "block_actions",
                "user": {"id": "U0IMTEST", "username": "im-interact-test", "team_id": team},
                "team": {"id": team},
                "channel": {"id": channel},
                "container": {"type": "message", "channel_id": channel, "message_ts": message.id},
                "message": {"ts": message.id},
                "trigger_id": format!("interact-test.{}", ulid::Ulid::generate()),
                "actions": [{"action_id": "im:test", "type": "button", "value": nonce.to_string()}],
            });
            if let Some(app) = provider.config.platform_key("api_app_id") {
                payload["api_app_id"] = json!(app);
            }
            let body = serde_urlencoded::to_string([("payload", payload.to_string())])?.into_bytes();
            let signature = im_slack::sign(secret.expose_secret(), now, &body);
            let headers = vec![
                ("content-type", "application/x-www-form-urlencoded".to_string()),
                ("x-slack-request-timestamp", now.to_string()),
                ("x-slack-signature", signature),
            ];
            (format!("{base}/chatops/slack/{}", provider.name), headers, body)
        }
        "discord" => {
            let key = im_discord::verify::local_signing_key();
            let local = hex::encode(key.verifying_key().to_bytes());
            if provider.config.platform_key("public_key") != Some(local.as_str()) {
                return Err(Failure(format!(
                    "`{}` does not trust the local key pair, so a click cannot be simulated: click the button in Discord",
                    provider.name
                )));
            }
            let interaction = json!({
                "id": ulid::Ulid::generate().0.to_string(),
                "application_id": provider.config.platform_key("application_id").unwrap_or_default(),
                "type": 3,
                "guild_id": provider.config.platform_key("guild_id"),
                "channel_id": channel,
                "token": "interact-test",
                "version": 1,
                "member": {"user": {"id": "100000000000000001", "username": "im-interact-test"}},
                "message": {"id": message.id, "channel_id": channel},
                "data": {"custom_id": format!("im:test|{nonce}"), "component_type": 2},
            });
            let body = interaction.to_string().into_bytes();
            let ts = now.to_string();
            let signature = im_discord::verify::sign(&key, &ts, &body);
            let headers = vec![
                ("content-type", "application/json".to_string()),
                ("x-signature-timestamp", ts),
                ("x-signature-ed25519", signature),
            ];
            (format!("{base}/chatops/discord/{}", provider.name), headers, body)
        }
        other => return Err(Failure(format!("simulating a {other} click is not supported yet"))),
    };
    let mut request = http.post(&url).timeout(Duration::from_secs(10)).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| Failure(format!("sending the click to {url}: {e}")))?;
    Ok(response.status().as_u16())
}
