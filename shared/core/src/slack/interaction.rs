//! Interactivity payloads (`payload=` form field): button clicks, menu choices, modal submissions.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::incident::UserRef;

/// One action from a `block_actions` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAction {
    pub action_id: String,
    /// `im:menus:INC-2026-001`: where the incident id is for elements without a value.
    pub block_id: String,
    /// Button value, or the selected option's value, or the selected user.
    pub value: Option<String>,
}

impl BlockAction {
    /// The incident the action is about: from the value (`INC-…` or `INC-…|choice`), else the
    /// block id (`im:menus:INC-…`).
    pub fn incident(&self) -> Option<String> {
        let from_value = self
            .value
            .as_deref()
            .map(|v| v.split('|').next().unwrap_or(v))
            .filter(|v| v.to_ascii_uppercase().starts_with("INC-"));
        from_value
            .or_else(|| self.block_id.rsplit(':').next().filter(|v| v.starts_with("INC-")))
            .map(str::to_string)
    }

    /// The chosen option (`INC-…|SEV-1` → `SEV-1`), or the value itself (a selected user).
    pub fn choice(&self) -> Option<&str> {
        let value = self.value.as_deref()?;
        Some(value.split_once('|').map(|(_, c)| c).unwrap_or(value))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Interaction {
    BlockActions {
        user: UserRef,
        team_id: Option<String>,
        channel: Option<String>,
        message_ts: Option<String>,
        response_url: Option<String>,
        trigger_id: Option<String>,
        actions: Vec<BlockAction>,
    },
    ViewSubmission {
        user: UserRef,
        callback_id: String,
        private_metadata: String,
        /// block_id → action_id → value
        values: BTreeMap<String, BTreeMap<String, String>>,
        trigger_id: Option<String>,
    },
    /// Another interaction type (shortcut, view_closed …): acknowledged, not handled.
    Other(String),
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::to_string)
}

fn user(v: &Value) -> Option<UserRef> {
    let id = text(v, &["user", "id"])?;
    let name = text(v, &["user", "username"]).or_else(|| text(v, &["user", "name"]));
    Some(UserRef::new(id, name))
}

fn element_value(e: &Value) -> Option<String> {
    e.get("value")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| text(e, &["selected_option", "value"]))
        .or_else(|| text(e, &["selected_user"]))
}

/// Reads an interaction payload; `Err` names what is missing.
pub fn parse(payload: &Value) -> Result<Interaction, String> {
    let kind = payload["type"].as_str().unwrap_or("").to_string();
    match kind.as_str() {
        "block_actions" => {
            let user = user(payload).ok_or("block_actions without user.id")?;
            let actions = payload["actions"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|a| BlockAction {
                            action_id: a["action_id"].as_str().unwrap_or("").to_string(),
                            block_id: a["block_id"].as_str().unwrap_or("").to_string(),
                            value: element_value(a),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Interaction::BlockActions {
                user,
                team_id: text(payload, &["team", "id"]),
                channel: text(payload, &["channel", "id"]).or_else(|| text(payload, &["container", "channel_id"])),
                message_ts: text(payload, &["message", "ts"]).or_else(|| text(payload, &["container", "message_ts"])),
                response_url: text(payload, &["response_url"]),
                trigger_id: text(payload, &["trigger_id"]),
                actions,
            })
        }
        "view_submission" => {
            let user = user(payload).ok_or("view_submission without user.id")?;
            let view = &payload["view"];
            let mut values = BTreeMap::new();
            if let Some(blocks) = view["state"]["values"].as_object() {
                for (block_id, actions) in blocks {
                    let mut inner = BTreeMap::new();
                    if let Some(actions) = actions.as_object() {
                        for (action_id, element) in actions {
                            if let Some(v) = element_value(element) {
                                inner.insert(action_id.clone(), v);
                            }
                        }
                    }
                    values.insert(block_id.clone(), inner);
                }
            }
            Ok(Interaction::ViewSubmission {
                user,
                callback_id: view["callback_id"].as_str().unwrap_or("").to_string(),
                private_metadata: view["private_metadata"].as_str().unwrap_or("").to_string(),
                values,
                trigger_id: text(payload, &["trigger_id"]),
            })
        }
        _ => Ok(Interaction::Other(kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn buttons_menus_and_modals() {
        let click = json!({
            "type": "block_actions", "user": {"id": "U1", "username": "alice"}, "team": {"id": "T1"},
            "channel": {"id": "C1"}, "message": {"ts": "1700000000.000100"}, "trigger_id": "t1",
            "response_url": "https://hooks.slack.com/actions/x",
            "actions": [
                {"action_id": "im:ack", "type": "button", "value": "INC-2026-001"},
                {"action_id": "im:severity", "type": "static_select", "selected_option": {"value": "INC-2026-001|SEV-1"}},
                {"action_id": "im:assign", "type": "users_select", "selected_user": "U9"}
            ]
        });
        let Ok(Interaction::BlockActions {
            user,
            actions,
            message_ts,
            ..
        }) = parse(&click)
        else {
            panic!("block actions");
        };
        assert_eq!(user, UserRef::new("U1", Some("alice".into())));
        assert_eq!(message_ts.as_deref(), Some("1700000000.000100"));
        let values: Vec<Option<&str>> = actions.iter().map(|a| a.value.as_deref()).collect();
        assert_eq!(values, [Some("INC-2026-001"), Some("INC-2026-001|SEV-1"), Some("U9")]);

        let submit = json!({
            "type": "view_submission", "user": {"id": "U1"},
            "view": {"callback_id": "im:status_update", "private_metadata": "INC-2026-001",
                     "state": {"values": {"note": {"note": {"type": "plain_text_input", "value": "Failover done"}}}}}
        });
        let Ok(Interaction::ViewSubmission {
            values,
            private_metadata,
            ..
        }) = parse(&submit)
        else {
            panic!("view submission");
        };
        assert_eq!(private_metadata, "INC-2026-001");
        assert_eq!(values["note"]["note"], "Failover done");
        assert_eq!(
            parse(&json!({"type": "shortcut"})),
            Ok(Interaction::Other("shortcut".into()))
        );
        assert!(parse(&json!({"type": "block_actions"})).is_err());
    }
}
