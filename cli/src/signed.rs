//! Sending correctly signed Slack slash commands to an endpoint (ours, local or deployed).

use serde_json::Value;

/// Where and as whom to send.
#[derive(Clone, Debug)]
pub struct SlashTarget {
    /// Full URL of the provider's endpoint: `…/chatops/slack/<provider>`.
    pub url: String,
    pub signing_secret: String,
    pub user: String,
    pub channel: String,
    /// The workspace and app the request says it is from (the provider's, when it is bound).
    pub team_id: String,
    pub api_app_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SlashResponse {
    pub status: u16,
    pub body: String,
    pub json: Value,
}

impl SlashResponse {
    pub fn text(&self) -> &str {
        self.json["text"].as_str().unwrap_or("")
    }

    pub fn response_type(&self) -> &str {
        self.json["response_type"].as_str().unwrap_or("")
    }
}

/// The endpoint URL for a provider under a base URL.
pub fn endpoint(base: &str, provider: &str) -> String {
    format!("{}/chatops/slack/{provider}", base.trim_end_matches('/'))
}

/// Whether a URL points at this machine.
pub fn is_local(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host_port = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "0.0.0.0") || host.starts_with("127.")
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        return format!("{nanos:x}");
    }
    hex::encode(buf)
}

/// A random secret (hex) for new local providers.
pub fn new_secret() -> String {
    random_hex(24)
}

pub async fn send(http: &reqwest::Client, target: &SlashTarget, text: &str) -> Result<SlashResponse, String> {
    let trigger = format!("cli.{}", random_hex(8));
    let mut form = vec![
        ("team_id", target.team_id.as_str()),
        ("team_domain", "im-cli"),
        ("channel_id", target.channel.as_str()),
        ("channel_name", "im-cli"),
        ("user_id", target.user.as_str()),
        ("user_name", "im-cli"),
        ("command", "/im"),
        ("text", text),
        ("trigger_id", trigger.as_str()),
    ];
    if let Some(app) = &target.api_app_id {
        form.push(("api_app_id", app.as_str()));
    }
    let body = serde_urlencoded::to_string(form).map_err(|e| e.to_string())?;
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = im_slack::sign(&target.signing_secret, timestamp, body.as_bytes());
    let response = http
        .post(&target.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("could not reach {}: {e}", target.url))?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    Ok(SlashResponse { status, body, json })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_urls() {
        for url in [
            "http://127.0.0.1:3000/x",
            "http://localhost:3000",
            "http://[::1]:8080/a",
            "http://127.0.0.2",
        ] {
            assert!(is_local(url), "{url}");
        }
        for url in [
            "https://api.example.com/chatops",
            "https://10.0.0.1/x",
            "https://localhost.evil.com/",
        ] {
            assert!(!is_local(url), "{url}");
        }
    }
}
