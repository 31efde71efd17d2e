//! What Slack posts to us: slash commands and interactivity (form-encoded), Events API (JSON).

use serde::Deserialize;
use serde_json::Value;

/// A slash command invocation (form fields; the deprecated `token` is ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SlashCommand {
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default)]
    pub team_domain: Option<String>,
    #[serde(default)]
    pub enterprise_id: Option<String>,
    pub channel_id: String,
    #[serde(default)]
    pub channel_name: Option<String>,
    pub user_id: String,
    #[serde(default)]
    pub user_name: Option<String>,
    pub command: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub response_url: Option<String>,
    #[serde(default)]
    pub trigger_id: Option<String>,
    #[serde(default)]
    pub api_app_id: Option<String>,
}

/// Events API envelope. Unknown types parse as [`EventEnvelope::Unknown`]: a new event type is a
/// 200 and a log line, never a failure that Slack would retry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventEnvelope {
    UrlVerification {
        challenge: String,
    },
    EventCallback {
        event_id: String,
        #[serde(default)]
        team_id: Option<String>,
        #[serde(default)]
        api_app_id: Option<String>,
        #[serde(default)]
        event_time: Option<i64>,
        event: Value,
    },
    AppRateLimited {
        #[serde(default)]
        minute_rate_limited: Option<i64>,
    },
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SlackRequest {
    Command(SlashCommand),
    /// `payload=<json>`: block_actions, view_submission …
    Interaction(Value),
    Event(EventEnvelope),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("expected a form-encoded (application/x-www-form-urlencoded) or JSON (application/json) body")]
    Unsupported,
    #[error("the form body is not a Slack slash command or interaction: {0}")]
    Form(String),
    #[error("the JSON body is not a Slack event: {0}")]
    Json(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Form,
    Json,
}

fn kind(content_type: Option<&str>, body: &[u8]) -> Option<Kind> {
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    match mime.as_deref() {
        Some("application/x-www-form-urlencoded") => Some(Kind::Form),
        Some("application/json") => Some(Kind::Json),
        Some(_) => None,
        // No content type: go by the first byte.
        None => match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Some(Kind::Json),
            Some(b) if b.is_ascii_alphanumeric() => Some(Kind::Form),
            _ => None,
        },
    }
}

pub fn parse_request(content_type: Option<&str>, body: &[u8]) -> Result<SlackRequest, PayloadError> {
    match kind(content_type, body).ok_or(PayloadError::Unsupported)? {
        Kind::Json => serde_json::from_slice::<EventEnvelope>(body)
            .map(SlackRequest::Event)
            .map_err(|e| PayloadError::Json(e.to_string())),
        Kind::Form => {
            if std::str::from_utf8(body).is_err() {
                return Err(PayloadError::Form("not UTF-8".into()));
            }
            // Interactions are one `payload` field; slash commands never have one. Only an
            // interaction is decoded twice.
            let has_payload = body.split(|b| *b == b'&').any(|field| field.starts_with(b"payload="));
            if has_payload {
                let fields: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(body).map_err(|e| PayloadError::Form(e.to_string()))?;
                if let Some((_, payload)) = fields.iter().find(|(k, _)| k == "payload") {
                    let value: Value = serde_json::from_str(payload).map_err(|e| PayloadError::Form(e.to_string()))?;
                    return Ok(SlackRequest::Interaction(value));
                }
            }
            serde_urlencoded::from_bytes::<SlashCommand>(body)
                .map(SlackRequest::Command)
                .map_err(|e| PayloadError::Form(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &str = "application/x-www-form-urlencoded";

    #[test]
    fn slash_command_form() {
        let body = "token=x&team_id=T1&channel_id=C1&user_id=U1&user_name=alice&command=%2Fim&text=declare+%22DB+down%22&trigger_id=1.2.3";
        let Ok(SlackRequest::Command(cmd)) = parse_request(Some(FORM), body.as_bytes()) else {
            panic!("should parse as a command");
        };
        assert_eq!(cmd.command, "/im");
        assert_eq!(cmd.text, "declare \"DB down\"");
        assert_eq!(cmd.trigger_id.as_deref(), Some("1.2.3"));
    }

    #[test]
    fn events_and_interactions() {
        let v = parse_request(
            Some("application/json"),
            br#"{"token":"t","challenge":"abc","type":"url_verification"}"#,
        );
        assert_eq!(
            v,
            Ok(SlackRequest::Event(EventEnvelope::UrlVerification {
                challenge: "abc".into()
            }))
        );
        let unknown = parse_request(
            Some("application/json; charset=utf-8"),
            br#"{"type":"brand_new_thing"}"#,
        );
        assert_eq!(unknown, Ok(SlackRequest::Event(EventEnvelope::Unknown)));
        let action = parse_request(Some(FORM), b"payload=%7B%22type%22%3A%22block_actions%22%7D");
        assert!(matches!(action, Ok(SlackRequest::Interaction(v)) if v["type"] == "block_actions"));
    }

    #[test]
    fn bodies_that_are_neither_are_refused() {
        assert_eq!(
            parse_request(Some("text/plain"), b"hello"),
            Err(PayloadError::Unsupported)
        );
        assert_eq!(parse_request(None, b"\x00\x01binary"), Err(PayloadError::Unsupported));
        assert!(matches!(
            parse_request(Some("application/json"), b"not json"),
            Err(PayloadError::Json(_))
        ));
        assert!(
            matches!(parse_request(Some(FORM), b"team_id=T1&text=hi"), Err(PayloadError::Form(m)) if m.contains("channel_id"))
        );
        assert!(matches!(
            parse_request(Some(FORM), b"payload=%7Bbroken"),
            Err(PayloadError::Form(_))
        ));
        assert!(matches!(
            parse_request(Some(FORM), &[0xff, 0xfe, b'=']),
            Err(PayloadError::Form(_))
        ));
    }
}
