//! `/im` as a Discord application command: one command with a subcommand per verb and typed
//! options (severity as choices, the assignee as a USER option, incident ids with autocomplete),
//! registered by bulk overwrite (idempotent; per guild when the provider names one).

use im_core::Severity;
use im_core::chat::ChatError;
use reqwest::Method;
use serde_json::{Value, json};

use crate::client::DiscordClient;

const SUB_COMMAND: u8 = 1;
const STRING: u8 = 3;
const USER: u8 = 6;

fn text(name: &str, description: &str, required: bool, max: u32) -> Value {
    json!({"type": STRING, "name": name, "description": description, "required": required, "max_length": max})
}

fn incident() -> Value {
    json!({"type": STRING, "name": "incident", "description": "The incident, e.g. INC-2026-001",
           "required": true, "autocomplete": true, "max_length": 32})
}

fn severity(required: bool) -> Value {
    let choices: Vec<Value> = Severity::ALL
        .iter()
        .map(|s| json!({"name": s.as_str(), "value": s.as_str()}))
        .collect();
    json!({"type": STRING, "name": "severity", "description": "SEV-1 (most severe) to SEV-4",
           "required": required, "choices": choices})
}

fn sub(name: &str, description: &str, options: Vec<Value>) -> Value {
    json!({"type": SUB_COMMAND, "name": name, "description": description, "options": options})
}

/// The `/im` command with every subcommand (names ≤ 32, descriptions ≤ 100, ≤ 25 options).
pub fn definition() -> Value {
    let verbs: Vec<Value> = im_core::Verb::ALL
        .iter()
        .map(|v| json!({"name": v.name(), "value": v.name()}))
        .collect();
    json!({
        "name": "im",
        "type": 1,
        "description": "Run incidents: declare, acknowledge, escalate, assign, update, resolve, close",
        "options": [
            sub("declare", "Declare a new incident (without a title, a form opens)", vec![
                text("title", "What is wrong", false, im_core::command::MAX_TITLE as u32),
                severity(false),
                text("service", "The affected service", false, im_core::command::MAX_SERVICE as u32),
                text("description", "Details", false, 1024),
            ]),
            sub("ack", "Acknowledge an incident and take ownership", vec![incident(), text("note", "A note for the timeline", false, 1024)]),
            sub("resolve", "Resolve an incident", vec![incident(), text("note", "How it was fixed", false, 1024)]),
            sub("close", "Close a resolved incident", vec![incident()]),
            sub("status", "Show an incident's details", vec![incident()]),
            sub("list", "List open incidents", vec![]),
            sub("help", "Show the commands", vec![json!({"type": STRING, "name": "command",
                "description": "One command's help", "required": false, "choices": verbs})]),
            sub("escalate", "Change an incident's severity", vec![incident(), severity(true)]),
            sub("assign", "Assign an incident to someone", vec![incident(),
                json!({"type": USER, "name": "user", "description": "Who takes it", "required": true})]),
            sub("update", "Add a note to an incident's timeline", vec![incident(), text("note", "What changed", true, 1024)]),
            sub("timeline", "Show an incident's timeline", vec![incident()]),
            sub("ask", "Ask in plain words: \"who is on call for payments?\", \"resolve the database incident\"",
                vec![text("question", "What you want to know or do", true, 1000)]),
            sub("run", "Run one of this workspace's own commands (see /im help)", vec![
                text("command", "The command's name, e.g. deploy", true, 32),
                text("args", "Its arguments, e.g. checkout v2.3", false, 1000),
            ]),
        ],
    })
}

/// Registers `/im` (bulk overwrite: running it again changes nothing). Guild commands when a
/// guild is given (they update at once), global ones otherwise. Returns the registered list.
pub async fn register(client: &DiscordClient, application: &str, guild: Option<&str>) -> Result<Vec<Value>, ChatError> {
    let (path, route) = match guild {
        Some(g) => (
            format!("/applications/{application}/guilds/{g}/commands"),
            "PUT /applications/{id}/guilds/{id}/commands",
        ),
        None => (
            format!("/applications/{application}/commands"),
            "PUT /applications/{id}/commands",
        ),
    };
    let answer = client
        .call(Method::PUT, &path, route, Some(&json!([definition()])))
        .await?;
    Ok(answer.as_array().cloned().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_keeps_discords_limits() {
        let def = definition();
        let subs = def["options"].as_array().expect("subcommands");
        assert_eq!(
            subs.len(),
            im_core::Verb::ALL.len() + 2,
            "a subcommand per verb, ask and run"
        );
        let names: Vec<&str> = subs.iter().filter_map(|s| s["name"].as_str()).collect();
        assert!(names.contains(&"ask") && names.contains(&"run"), "{names:?}");
        assert!(
            subs.iter()
                .any(|s| s["name"] == "ask" && s["options"][0]["required"] == true)
        );
        assert!(subs.len() <= 25);
        for s in subs {
            let name = s["name"].as_str().unwrap_or("");
            assert!(!name.is_empty() && name.len() <= 32 && name == name.to_lowercase());
            assert!(
                s["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty() && d.chars().count() <= 100)
            );
            for o in s["options"].as_array().into_iter().flatten() {
                assert!(o["description"].as_str().is_some_and(|d| d.chars().count() <= 100));
                assert!(o["choices"].as_array().is_none_or(|c| c.len() <= 25));
            }
        }
        assert!(def["description"].as_str().is_some_and(|d| d.chars().count() <= 100));
    }
}
