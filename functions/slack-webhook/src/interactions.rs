//! Interactivity: buttons and menus on incident notifications (`block_actions`) and the Status
//! Update modal (`view_submission`). Every action runs through the same use cases, permissions
//! and timeline as the slash commands; the clicked message is edited in place (versioned, like
//! the notifier's edits), and refusals come back to the clicker only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use im_aws::ResolvedProvider;
use im_aws::deliveries::{Claim, Edit};
use im_aws::slack_api::SlackClient;
use im_aws::web;
use im_core::command::Assignee;
use im_core::incident::WarRoom;
use im_core::notify::ChatError;
use im_core::ports::{ChatClient, IncidentMessage, IncidentStore};
use im_core::provider::Platform;
use im_core::slack::interaction::{BlockAction, Interaction};
use im_core::slack::notification::{next_severity, status_update_modal, war_room_name};
use im_core::slack::{self, render};
use im_core::{Actor, Command, EventKind, Incident, IncidentId, Interface, Invocation, Reply, Severity, UserRef};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::SlackApp;

/// Answers an interaction payload.
pub async fn handle(app: &SlackApp, resolved: &ResolvedProvider, payload: &Value) -> Response {
    match slack::interaction::parse(payload) {
        Err(problem) => web::error(StatusCode::BAD_REQUEST, problem),
        Ok(Interaction::BlockActions {
            user,
            channel,
            message_ts,
            response_url,
            trigger_id,
            actions,
            ..
        }) => {
            let Some(action) = actions.first() else {
                return StatusCode::OK.into_response();
            };
            let click = Click {
                app,
                resolved,
                user,
                channel,
                message_ts,
                response_url,
                trigger_id,
            };
            Box::pin(click.act(action)).await;
            StatusCode::OK.into_response()
        }
        Ok(Interaction::ViewSubmission {
            user,
            callback_id,
            private_metadata,
            values,
            trigger_id,
        }) if callback_id == "im:status_update" => {
            let note = values
                .get("note")
                .and_then(|b| b.get("note"))
                .map(|n| n.trim().to_string())
                .unwrap_or_default();
            if note.is_empty() {
                return modal_error("Write what changed.");
            }
            let Ok(id) = IncidentId::parse(&private_metadata) else {
                return modal_error("This form lost track of its incident; open it again from the message.");
            };
            let inv = invocation(
                resolved,
                &user,
                None,
                format!("[Status Update] {id}"),
                trigger_id.as_deref(),
            );
            let reply = app.run(resolved, &inv, Command::Update { id, note }).await;
            match reply {
                Reply::Card { .. } => StatusCode::OK.into_response(),
                other => modal_error(&other.text()),
            }
        }
        Ok(other) => {
            info!(interaction = ?other, "interaction acknowledged, not handled");
            StatusCode::OK.into_response()
        }
    }
}

fn modal_error(message: &str) -> Response {
    web::json(&json!({"response_action": "errors", "errors": {"note": render::truncate(message, 150)}}))
}

fn invocation(
    resolved: &ResolvedProvider,
    user: &UserRef,
    channel: Option<String>,
    command_line: String,
    trigger_id: Option<&str>,
) -> Invocation {
    Invocation {
        actor: Actor {
            platform: Platform::Slack.as_str().into(),
            provider: resolved.provider.name.clone(),
            user: user.clone(),
            channel,
        },
        interface: Interface::Chatops,
        prefix: "/im".into(),
        command_line,
        idempotency_key: trigger_id.map(|t| format!("slack:action:{t}")),
    }
}

struct Click<'a> {
    app: &'a SlackApp,
    resolved: &'a ResolvedProvider,
    user: UserRef,
    channel: Option<String>,
    message_ts: Option<String>,
    response_url: Option<String>,
    trigger_id: Option<String>,
}

fn label(action_id: &str) -> &str {
    match action_id {
        "im:ack" => "Acknowledge",
        "im:war_room" => "Join War Room",
        "im:details" => "View Details",
        "im:escalate" => "Escalate",
        "im:status_update" => "Status Update",
        "im:severity" => "Severity",
        "im:service" => "Service",
        "im:assign" => "Assign",
        "im:transition" => "Status",
        other => other,
    }
}

impl Click<'_> {
    fn invocation(&self, what: String) -> Invocation {
        invocation(
            self.resolved,
            &self.user,
            self.channel.clone(),
            what,
            self.trigger_id.as_deref(),
        )
    }

    fn client(&self) -> Option<SlackClient> {
        self.app.slack_client(self.resolved)
    }

    /// Tells only the person who clicked (ephemeral, through the interaction's response_url).
    async fn tell(&self, reply: &Reply) {
        let Some(url) = self.response_url.as_deref() else {
            return;
        };
        if !url.starts_with(&self.app.settings.slack_response_url_prefix) {
            warn!("response_url outside the allowed prefix; not answering there");
            return;
        }
        let mut body = serde_json::to_value(slack::render(reply, self.app.clock.now())).unwrap_or_default();
        body["response_type"] = json!("ephemeral");
        body["replace_original"] = json!(false);
        if let Some(client) = self.client()
            && let Err(e) = client.respond(url, &body).await
        {
            warn!(error = %e, "answering the interaction");
        }
    }

    async fn act(&self, action: &BlockAction) {
        let Some(id) = action.incident().and_then(|i| IncidentId::parse(&i).ok()) else {
            warn!(action = %action.action_id, "action without an incident id");
            return;
        };
        let what = match action.choice().filter(|c| !c.starts_with("INC-")) {
            Some(choice) => format!("[{}: {choice}] {id}", label(&action.action_id)),
            None => format!("[{}] {id}", label(&action.action_id)),
        };
        let inv = self.invocation(what);
        let command = match action.action_id.as_str() {
            "im:ack" => Command::Ack { id, note: None },
            "im:escalate" => match self.app.service.store().get(&id).await {
                Ok(Some(incident)) => match next_severity(incident.severity) {
                    Some(severity) => Command::Escalate { id, severity },
                    None => return self.tell(&refused(format!("{id} is already SEV-1."))).await,
                },
                _ => return self.tell(&refused(format!("{id} was not found."))).await,
            },
            "im:severity" => match action.choice().map(Severity::parse) {
                Some(Ok(severity)) => Command::Escalate { id, severity },
                _ => return,
            },
            "im:service" => match action.choice() {
                Some(service) => Command::SetService {
                    id,
                    service: service.to_string(),
                },
                None => return,
            },
            "im:assign" => match action.choice() {
                Some(user) => Command::Assign {
                    id,
                    assignee: Assignee::User(UserRef::new(user, None)),
                },
                None => return,
            },
            "im:transition" => match action.choice() {
                Some("acknowledge") => Command::Ack { id, note: None },
                Some("resolve") => Command::Resolve { id, note: None },
                Some("close") => Command::Close { id },
                _ => return,
            },
            "im:details" => {
                let reply = self.app.run(self.resolved, &inv, Command::Status { id }).await;
                return self.tell(&reply).await;
            }
            "im:status_update" => return self.open_modal(&id).await,
            "im:war_room" => {
                let reply = Box::pin(self.war_room(&inv, &id)).await;
                return self.tell(&reply).await;
            }
            other => {
                info!(action = other, "unknown action");
                return;
            }
        };
        match self.app.run(self.resolved, &inv, command).await {
            Reply::Card { incident, kind, note } => self.update_clicked(&incident, &kind, note.as_deref()).await,
            other => self.tell(&other).await,
        }
    }

    /// Edits the clicked message right away, if it is the incident's tracked message here.
    async fn update_clicked(&self, incident: &Incident, kind: &im_core::CardKind, note: Option<&str>) {
        let (Some(channel), Some(ts), Some(client)) = (&self.channel, &self.message_ts, self.client()) else {
            return;
        };
        let provider = &self.resolved.provider;
        match self.app.deliveries.posted(&incident.id, &provider.name, channel).await {
            Ok(Some(posted)) if &posted.message.id == ts => {
                let (kind, previous_severity) = match kind {
                    im_core::CardKind::Escalated { from } => (EventKind::IncidentEscalated, Some(*from)),
                    im_core::CardKind::Assigned => (EventKind::IncidentAssigned, None),
                    im_core::CardKind::Updated => (EventKind::IncidentUpdated, None),
                    _ => (EventKind::for_status(incident.status), None),
                };
                // The same render the notifier makes from the event: this edit records the
                // version, so the notifier's own edit of it will be skipped as stale.
                let message = IncidentMessage {
                    note,
                    previous_severity,
                    ..IncidentMessage::new(incident, kind, &provider.config, self.app.clock.now())
                };
                let interval = self.app.settings.slack_update_interval;
                match self
                    .app
                    .deliveries
                    .edit(&client, &provider.name, &posted.message, &message, interval, None)
                    .await
                {
                    // Anything but an edit now is left to the notifier, which will get there.
                    Ok(Edit::Edited) | Ok(Edit::Stale) => {}
                    Ok(other) => info!(?other, "in-place edit deferred to the notifier"),
                    Err(e) => warn!(error = %e, "in-place edit"),
                }
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "reading the clicked message"),
        }
    }

    async fn open_modal(&self, id: &IncidentId) {
        let (Some(trigger), Some(client)) = (self.trigger_id.as_deref(), self.client()) else {
            return;
        };
        match self.app.service.store().get(id).await {
            Ok(Some(incident)) => {
                if let Err(e) = client.open_view(trigger, status_update_modal(&incident)).await {
                    warn!(error = %e, "opening the Status Update modal");
                    self.tell(&refused(
                        "The form could not be opened; try `/im update` instead.".into(),
                    ))
                    .await;
                }
            }
            _ => self.tell(&refused(format!("{id} was not found."))).await,
        }
    }

    /// Creates (or reuses) `inc-<id>-<slug>`, invites the clicker, posts and pins the summary,
    /// and records the room on the incident.
    async fn war_room(&self, inv: &Invocation, id: &IncidentId) -> Reply {
        let Some(client) = self.client() else {
            return refused("This workspace has no bot token configured, so no war room can be opened.".into());
        };
        let provider = &self.resolved.provider;
        let incident = match self.app.service.store().get(id).await {
            Ok(Some(i)) => i,
            Ok(None) => return refused(format!("{id} was not found.")),
            Err(e) => {
                warn!(error = %e, "reading the incident");
                return refused("The incident could not be read; please try again.".into());
            }
        };
        if let Some(room) = incident.war_room.as_ref().filter(|w| w.provider == provider.name) {
            return match client.invite(&room.channel, &self.user.id).await {
                Ok(()) => text(format!("You joined <#{}>.", room.channel)),
                Err(e) => chat_failure("joining the war room", e),
            };
        }
        let mut created = None;
        for attempt in 0..5 {
            let name = war_room_name(&incident, attempt);
            match client.create_channel(&name).await {
                Ok(channel) => {
                    created = Some((channel, name));
                    break;
                }
                Err(ChatError::NameTaken) => continue,
                Err(e) => return chat_failure("creating the war room", e),
            }
        }
        let Some((channel, name)) = created else {
            return refused("No free war room name was found; please try again.".into());
        };
        if let Err(e) = client.invite(&channel, &self.user.id).await {
            return chat_failure("inviting you to the war room", e);
        }
        self.post_summary(&client, &incident, &channel).await;
        let room = WarRoom {
            provider: provider.name.clone(),
            channel: channel.clone(),
            name,
        };
        let outcome = self.app.service.set_war_room(inv, id, room).await;
        match outcome.reply {
            Reply::Card { .. } => text(format!("War room <#{channel}> is open, and you are in it.")),
            Reply::Refused { .. } => {
                // Someone opened one at the same moment: use theirs.
                let _ = client.archive(&channel).await;
                match self.app.service.store().get(id).await {
                    Ok(Some(Incident {
                        war_room: Some(room), ..
                    })) => {
                        let _ = client.invite(&room.channel, &self.user.id).await;
                        text(format!("You joined <#{}>.", room.channel))
                    }
                    _ => refused("The war room could not be recorded; please try again.".into()),
                }
            }
            other => other,
        }
    }

    /// The incident message in the war room, pinned, tracked like any channel's message.
    async fn post_summary(&self, client: &SlackClient, incident: &Incident, channel: &str) {
        let provider = &self.resolved.provider;
        let job = format!("war-room:{}:{channel}", incident.id);
        let claimed = self
            .app
            .deliveries
            .claim(
                &incident.id,
                &provider.name,
                channel,
                &job,
                im_aws::deliveries::now_ms(),
            )
            .await;
        if !matches!(claimed, Ok(Claim::Claimed { .. })) {
            return;
        }
        let message = IncidentMessage::new(
            incident,
            EventKind::for_status(incident.status),
            &provider.config,
            self.app.clock.now(),
        );
        match client.post(channel, &message).await {
            Ok(posted) => {
                let recorded = self
                    .app
                    .deliveries
                    .finish_post(&incident.id, &provider.name, &posted, incident.version, &job, true)
                    .await;
                match recorded {
                    Ok(true) => {}
                    Ok(false) => warn!("the war room summary was recorded by someone else"),
                    Err(e) => warn!(error = %e, "recording the war room summary"),
                }
                if let Err(e) = client.pin(&posted).await {
                    warn!(error = %e, "pinning the war room summary");
                }
            }
            Err(e) => {
                warn!(error = %e, "posting the war room summary");
                let _ = self
                    .app
                    .deliveries
                    .release(&incident.id, &provider.name, channel, &job)
                    .await;
            }
        }
    }
}

fn refused(message: String) -> Reply {
    Reply::Refused { message }
}

fn text(text: String) -> Reply {
    Reply::Text {
        text,
        in_channel: false,
    }
}

fn chat_failure(what: &str, e: ChatError) -> Reply {
    warn!(error = %e, "{what}");
    refused(format!("Slack refused {what} ({e})."))
}
