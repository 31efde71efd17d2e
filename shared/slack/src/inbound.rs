//! What Slack posts to us, read into the core's neutral [`Inbound`]: slash commands and
//! interactivity (form-encoded), Events API (JSON).

use im_core::action::ActionRef;
use im_core::chat::MessageRef;
use im_core::inbound::{Context, Inbound, ParseError, Submission};
use im_core::{IncidentId, UserRef};
use serde_json::Value;

use crate::payload::{EventEnvelope, SlackRequest, SlashCommand};
use crate::text::{segments, strip_leading_mention};

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

fn user(v: &Value, provider: &str) -> Option<UserRef> {
    let id = text(v, &["user", "id"])?;
    let name = text(v, &["user", "username"]).or_else(|| text(v, &["user", "name"]));
    Some(UserRef::new(id, name).on(provider))
}

fn element_value(e: &Value) -> Option<String> {
    e.get("value")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| text(e, &["selected_option", "value"]))
        .or_else(|| text(e, &["selected_user"]))
}

/// A slash command.
pub fn command(cmd: SlashCommand, provider: &str) -> Inbound {
    let ctx = Context {
        user: UserRef::new(cmd.user_id.clone(), cmd.user_name.clone()).on(provider),
        channel: Some(cmd.channel_id.clone()),
        workspace: cmd.team_id.clone(),
        app: cmd.api_app_id.clone(),
        request_id: cmd.trigger_id.clone(),
        prefix: if cmd.command.is_empty() {
            "/im".into()
        } else {
            cmd.command.clone()
        },
        reply_to: cmd.response_url.clone(),
        message: None,
        trigger: cmd.trigger_id.clone(),
    };
    Inbound::Command {
        ctx,
        text: segments(&cmd.text, provider),
    }
}

/// An interaction payload (`payload=`): button clicks, menu choices, modal submissions.
pub fn interaction(payload: &Value, provider: &str) -> Result<Inbound, ParseError> {
    let kind = payload["type"].as_str().unwrap_or("");
    let base = |user: UserRef| Context {
        user,
        workspace: text(payload, &["team", "id"]).or_else(|| text(payload, &["user", "team_id"])),
        app: text(payload, &["api_app_id"]),
        request_id: text(payload, &["trigger_id"]),
        prefix: "/im".into(),
        trigger: text(payload, &["trigger_id"]),
        ..Context::default()
    };
    match kind {
        "block_actions" => {
            let user = user(payload, provider).ok_or_else(|| ParseError("block_actions without user.id".into()))?;
            let channel = text(payload, &["channel", "id"]).or_else(|| text(payload, &["container", "channel_id"]));
            let ts = text(payload, &["message", "ts"]).or_else(|| text(payload, &["container", "message_ts"]));
            let Some(first) = payload["actions"].as_array().and_then(|a| a.first()) else {
                return Ok(Inbound::Ignored("block_actions without actions".into()));
            };
            let action_id = first["action_id"].as_str().unwrap_or("");
            let value = element_value(first);
            let block_id = first["block_id"].as_str();
            let action_id = crate::render::action_key(action_id);
            let action = match ActionRef::from_parts(action_id, value.as_deref(), block_id) {
                Ok(action) => action,
                // Not one of ours (or not about an incident): nothing runs.
                Err(e) => return Ok(Inbound::Ignored(e.to_string())),
            };
            // A clicked message inside a thread (the bot's question under a mention) knows its
            // thread, so an answer goes to the same thread rather than starting one under it.
            let thread = text(payload, &["message", "thread_ts"]);
            let ctx = Context {
                message: match (&channel, ts) {
                    (Some(c), Some(ts)) => Some(match thread.filter(|t| *t != ts) {
                        Some(thread) => MessageRef::new(c.clone(), ts).with("thread_ts", thread),
                        None => MessageRef::new(c.clone(), ts),
                    }),
                    _ => None,
                },
                channel,
                reply_to: text(payload, &["response_url"]),
                ..base(user)
            };
            Ok(Inbound::Action { ctx, action })
        }
        "view_submission" => {
            let user = user(payload, provider).ok_or_else(|| ParseError("view_submission without user.id".into()))?;
            let view = &payload["view"];
            if view["callback_id"].as_str() != Some("im:status_update") {
                return Ok(Inbound::Ignored(format!(
                    "view_submission {}",
                    view["callback_id"].as_str().unwrap_or("?")
                )));
            }
            let incident = view["private_metadata"]
                .as_str()
                .and_then(|m| IncidentId::parse(m).ok())
                .ok_or_else(|| ParseError("the form lost track of its incident".into()))?;
            let note = view["state"]["values"]["note"]["note"]
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string();
            Ok(Inbound::Submission {
                ctx: base(user),
                submission: Submission::StatusUpdate { incident, note },
            })
        }
        other => Ok(Inbound::Ignored(format!("interaction {other}"))),
    }
}

/// An Events API request.
pub fn event(envelope: EventEnvelope, provider: &str) -> Inbound {
    match envelope {
        EventEnvelope::UrlVerification { challenge } => Inbound::Challenge(challenge),
        EventEnvelope::EventCallback {
            event_id,
            team_id,
            api_app_id,
            event,
            ..
        } if event["type"] == "app_mention" => {
            let Some(user) = event["user"].as_str().filter(|u| !u.is_empty()) else {
                return Inbound::Ignored("app_mention without a user".into());
            };
            let channel = event["channel"].as_str().unwrap_or("").to_string();
            let thread = event["thread_ts"].as_str().or(event["ts"].as_str()).unwrap_or("");
            let raw = event["text"].as_str().unwrap_or("");
            let ctx = Context {
                user: UserRef::new(user, None).on(provider),
                message: (!channel.is_empty() && !thread.is_empty()).then(|| MessageRef::new(&channel, thread)),
                channel: (!channel.is_empty()).then_some(channel),
                workspace: team_id,
                app: api_app_id,
                request_id: Some(event_id),
                prefix: "/im".into(),
                ..Context::default()
            };
            Inbound::Mention {
                ctx,
                text: segments(strip_leading_mention(raw), provider),
            }
        }
        EventEnvelope::EventCallback { event, .. } => {
            Inbound::Ignored(format!("event {}", event["type"].as_str().unwrap_or("?")))
        }
        EventEnvelope::AppRateLimited { .. } => Inbound::Ignored("app_rate_limited".into()),
        EventEnvelope::Unknown => Inbound::Ignored("unknown event type".into()),
    }
}

/// Reads a verified request body.
pub fn parse(content_type: Option<&str>, body: &[u8], provider: &str) -> Result<Inbound, ParseError> {
    match crate::payload::parse_request(content_type, body).map_err(|e| ParseError(e.to_string()))? {
        SlackRequest::Command(cmd) => Ok(command(cmd, provider)),
        SlackRequest::Interaction(payload) => interaction(&payload, provider),
        SlackRequest::Event(envelope) => Ok(event(envelope, provider)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use im_core::action::ActionKey;
    use im_core::command::Segment;
    use serde_json::json;

    #[test]
    fn a_click_inside_a_thread_knows_its_thread() {
        let click = json!({
            "type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"}, "channel": {"id": "C1"},
            "message": {"ts": "1700000000.000200", "thread_ts": "1700000000.000100"},
            "actions": [{"action_id": "im:answer", "type": "button", "value": "INC-2026-002"}]
        });
        let Ok(Inbound::Action { ctx, action }) = interaction(&click, "acme") else {
            panic!("an action");
        };
        assert_eq!(action.key, im_core::action::ActionKey::Answer);
        let message = ctx.message.expect("the clicked message");
        assert_eq!(message.id, "1700000000.000200", "the clicked message itself");
        assert_eq!(
            message.extra.get("thread_ts").map(String::as_str),
            Some("1700000000.000100")
        );
    }

    #[test]
    fn custom_buttons_and_repeated_action_ids() {
        let click = |action: serde_json::Value| {
            let payload = json!({"type": "block_actions", "user": {"id": "U1"}, "actions": [action]});
            match interaction(&payload, "acme") {
                Ok(Inbound::Action { action, .. }) => action,
                other => panic!("an action, not {other:?}"),
            }
        };
        let second = click(json!({"action_id": "im:answer#2", "type": "button", "value": "INC-2026-002"}));
        assert_eq!(
            (second.key, second.incident.as_str()),
            (ActionKey::Answer, "INC-2026-002")
        );
        let custom = click(json!({"action_id": "im:custom#3", "type": "button", "value": "INC-2026-002|rollback"}));
        assert_eq!(
            (custom.key, custom.choice.as_deref()),
            (ActionKey::Custom, Some("rollback"))
        );
        let more = click(json!({"action_id": "im:more", "type": "static_select",
            "selected_option": {"value": "INC-2026-002|im:custom|runbook:restart"}}));
        assert_eq!(
            more.unfold().map(|a| (a.key, a.choice)),
            Ok((ActionKey::Custom, Some("runbook:restart".into())))
        );
    }

    #[test]
    fn buttons_menus_and_modals() {
        let click = json!({
            "type": "block_actions", "user": {"id": "U1", "username": "alice"}, "team": {"id": "T1"},
            "api_app_id": "A1", "channel": {"id": "C1"}, "message": {"ts": "1700000000.000100"}, "trigger_id": "t1",
            "response_url": "https://hooks.slack.com/actions/x",
            "actions": [{"action_id": "im:severity", "type": "static_select", "selected_option": {"value": "INC-2026-001|SEV-1"}}]
        });
        let Ok(Inbound::Action { ctx, action }) = interaction(&click, "acme") else {
            panic!("an action");
        };
        assert_eq!(ctx.user, UserRef::new("U1", Some("alice".into())).on("acme"));
        assert_eq!(ctx.message, Some(MessageRef::new("C1", "1700000000.000100")));
        assert_eq!((ctx.workspace.as_deref(), ctx.app.as_deref()), (Some("T1"), Some("A1")));
        assert_eq!(ctx.reply_to.as_deref(), Some("https://hooks.slack.com/actions/x"));
        assert_eq!(action.key, ActionKey::Severity);
        assert_eq!(action.choice.as_deref(), Some("SEV-1"));

        let assign = json!({"type": "block_actions", "user": {"id": "U1"},
            "actions": [{"action_id": "im:assign", "block_id": "im:menus:INC-2026-001", "selected_user": "U9"}]});
        let Ok(Inbound::Action { action, .. }) = interaction(&assign, "acme") else {
            panic!("an action");
        };
        assert_eq!(
            (action.incident.as_str(), action.choice.as_deref()),
            ("INC-2026-001", Some("U9"))
        );

        let foreign = json!({"type": "block_actions", "user": {"id": "U1"},
            "actions": [{"action_id": "other:thing", "value": "INC-2026-001"}]});
        assert!(matches!(interaction(&foreign, "acme"), Ok(Inbound::Ignored(_))));

        let submit = json!({
            "type": "view_submission", "user": {"id": "U1"},
            "view": {"callback_id": "im:status_update", "private_metadata": "INC-2026-001",
                     "state": {"values": {"note": {"note": {"type": "plain_text_input", "value": " Failover done "}}}}}
        });
        let Ok(Inbound::Submission { submission, .. }) = interaction(&submit, "acme") else {
            panic!("a submission");
        };
        assert_eq!(
            submission,
            Submission::StatusUpdate {
                incident: IncidentId::new(2026, 1),
                note: "Failover done".into()
            }
        );
        assert!(matches!(
            interaction(&json!({"type": "shortcut"}), "acme"),
            Ok(Inbound::Ignored(_))
        ));
        assert!(interaction(&json!({"type": "block_actions"}), "acme").is_err());
    }

    #[test]
    fn mentions_lose_the_bots_own_mention() {
        let envelope: EventEnvelope = serde_json::from_value(json!({
            "type": "event_callback", "event_id": "Ev1", "team_id": "T1", "api_app_id": "A1",
            "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT> ack INC-2026-001", "ts": "1.2", "channel": "C1"}
        }))
        .expect("envelope");
        let Inbound::Mention { ctx, text } = event(envelope, "acme") else {
            panic!("a mention");
        };
        assert_eq!(text, vec![Segment::text("ack INC-2026-001")]);
        assert_eq!(ctx.request_id.as_deref(), Some("Ev1"));
        assert_eq!(ctx.message, Some(MessageRef::new("C1", "1.2")));
    }
}
