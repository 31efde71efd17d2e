//! `im rbac …`, `im privacy …` and `im audit`.

use std::process::ExitCode;
use std::sync::Arc;

use im_aws::{AwsClients, Config, DynamoStore};
use im_core::ports::IncidentStore;
use im_core::rbac::Role;
use im_platforms::ops::Sender;
use serde_json::Value;

use crate::cli::{Privacy, Rbac, TeamCommand};
use crate::{Failure, Outcome};

fn role(text: &str) -> Result<Role, Failure> {
    text.parse::<Role>().map_err(Failure)
}

fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::NOTHING).set_header(header);
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

pub async fn rbac(config: Config, command: Rbac) -> Outcome {
    let sender = Sender::new(Arc::new(AwsClients::new(config)));
    let fail = |e: im_platforms::ops::Failure| Failure(e.0);
    match command {
        Rbac::Set {
            identity,
            role: r,
            person,
            automation,
        } => {
            let row = sender
                .rbac_set(&identity, role(&r)?, person, automation)
                .await
                .map_err(fail)?;
            let who = match (row["person"].as_str(), row["automation"].as_str()) {
                (Some(p), _) => format!(" ({p})"),
                (_, Some(a)) => format!(" (automation {a})"),
                _ => String::new(),
            };
            println!("✓ {identity}{who} is a {}", text(&row["role"]));
        }
        Rbac::Remove { identity } => {
            if sender.rbac_remove(&identity).await.map_err(fail)? {
                println!("✓ Removed {identity}; it now has its provider's default role");
            } else {
                println!("{identity} had no mapping; nothing changed");
            }
        }
        Rbac::Default { provider, role: r } => {
            let r = role(&r)?;
            sender.rbac_default(&provider, r).await.map_err(fail)?;
            println!("✓ People without a mapping in `{provider}` are now {r}s");
        }
        Rbac::List { provider, json } => {
            let listed = sender.rbac_list(provider.as_deref()).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&listed)?);
            } else {
                let rows = listed["mappings"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|m| {
                        vec![
                            text(&m["identity"]),
                            text(&m["role"]),
                            text(&m["person"]),
                            text(&m["automation"]),
                        ]
                    })
                    .collect();
                println!("{}", table(&["Identity", "Role", "Person", "Automation"], rows));
                let defaults: Vec<Vec<String>> = listed["default_roles"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|(p, r)| vec![p.clone(), text(r)])
                    .collect();
                println!("\n{}", table(&["Provider", "Default role"], defaults));
            }
        }
        Rbac::Check {
            identity,
            command,
            channel,
            incident,
            json,
        } => {
            let verdict = sender
                .rbac_check(&identity, &command, channel.as_deref(), incident.as_deref())
                .await
                .map_err(fail)?;
            let allowed = verdict["allowed"].as_bool().unwrap_or(false);
            if json {
                println!("{}", serde_json::to_string_pretty(&verdict)?);
            } else if allowed {
                println!("✓ {identity} may run `{command}` (as {})", text(&verdict["role"]));
            } else {
                println!("✗ {identity} may not run `{command}`: {}", text(&verdict["reason"]));
            }
            return Ok(if allowed { ExitCode::SUCCESS } else { ExitCode::from(3) });
        }
        Rbac::Apply { file } => {
            let body = std::fs::read_to_string(&file).map_err(|e| Failure(format!("{}: {e}", file.display())))?;
            let parsed: Value = serde_json::from_str(&body).map_err(|e| Failure(format!("{}: {e}", file.display())))?;
            for line in sender.rbac_apply(&parsed).await.map_err(fail)? {
                println!("✓ {line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `im audit [--date D] [--json]`.
pub async fn audit(config: Config, date: Option<&str>, json: bool) -> Outcome {
    let day = match date {
        Some(d) => time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| Failure(format!("`{d}` is not a date like 2026-12-02")))?,
        None => time::OffsetDateTime::now_utc().date(),
    };
    let store = DynamoStore::new(Arc::new(AwsClients::new(config)));
    let entries = store.audit_day(day).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else if entries.is_empty() {
        println!("No audit entries on {day}.");
    } else {
        let rows = entries
            .iter()
            .map(|e| {
                let detail = ["response", "change", "user"]
                    .iter()
                    .find_map(|k| e.data.get(*k).and_then(Value::as_str))
                    .unwrap_or("")
                    .to_string();
                vec![
                    im_core::message::rfc3339(e.timestamp),
                    e.event_type.clone(),
                    e.actor.clone(),
                    e.source.clone(),
                    detail,
                ]
            })
            .collect();
        println!("{}", table(&["Time", "Event", "Actor", "Source", "Detail"], rows));
    }
    Ok(ExitCode::SUCCESS)
}

/// `im privacy export|forget`.
pub async fn privacy(config: Config, command: Privacy) -> Outcome {
    let sender = Sender::new(Arc::new(AwsClients::new(config)));
    let fail = |e: im_platforms::ops::Failure| Failure(e.0);
    match command {
        Privacy::Export { user } => {
            let export = sender.privacy_export(&user).await.map_err(fail)?;
            println!("{}", serde_json::to_string_pretty(&export)?);
        }
        Privacy::Forget { user, yes } => {
            if !yes {
                if !crate::config_input::interactive() {
                    return Err(Failure(format!(
                        "forgetting `{user}` pseudonymises them for good; pass --yes to confirm without a terminal"
                    )));
                }
                use crate::config_input::Asker as _;
                let answer = crate::config_input::Terminal.line(&format!(
                    "Forget `{user}` everywhere (this cannot be undone)? Type the user to confirm"
                ))?;
                if answer != user {
                    return Err(Failure("nothing forgotten".into()));
                }
            }
            let done = sender.privacy_forget(&user).await.map_err(fail)?;
            println!(
                "✓ `{user}` is now {} in {} incidents and {} timeline entries; removed {} context and check items, {} on-call places and the role mappings in {}",
                text(&done["pseudonym"]),
                done["incidents"],
                done["timeline_entries"],
                done["conversation_and_checks"],
                done["on_call_rotations"],
                match done["role_mappings"].as_array().map(Vec::len) {
                    Some(0) | None => "no provider".to_string(),
                    Some(_) => done["role_mappings"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(text)
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `im team set|list|remove`.
pub async fn team(config: Config, command: TeamCommand) -> Outcome {
    let sender = Sender::new(Arc::new(AwsClients::new(config)));
    let fail = |e: im_platforms::ops::Failure| Failure(e.0);
    match command {
        TeamCommand::Set {
            name,
            services,
            members,
            channel,
        } => {
            let team = im_core::team::Team {
                name,
                services: services
                    .into_iter()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                members: members
                    .into_iter()
                    .map(|m| m.trim().to_string())
                    .filter(|m| !m.is_empty())
                    .collect(),
                channel,
            };
            let set = sender.team_set(team).await.map_err(fail)?;
            println!(
                "✓ Team `{}`: {} service(s), {} member(s){}",
                set.name,
                set.services.len(),
                set.members.len(),
                set.channel.map(|c| format!(", summaries to {c}")).unwrap_or_default()
            );
        }
        TeamCommand::List { json } => {
            let teams = sender.teams().await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&teams)?);
            } else if teams.0.is_empty() {
                println!("No teams yet: im team set NAME --services … --members … --channel …");
            } else {
                let rows = teams
                    .0
                    .values()
                    .map(|t| {
                        vec![
                            t.name.clone(),
                            t.services.join(", "),
                            t.members.join(", "),
                            t.channel.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                println!("{}", table(&["Team", "Services", "Members", "Channel"], rows));
            }
        }
        TeamCommand::Remove { name } => {
            if sender.team_remove(&name).await.map_err(fail)? {
                println!("✓ Removed team `{name}`");
            } else {
                println!("No team `{name}`; nothing changed");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
