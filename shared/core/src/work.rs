//! Work that does not fit a platform's deadline, and the once-only bookkeeping around requests.
//!
//! A click is answered within the platform's deadline; anything slow (a war room: up to five
//! channel creations, an invite, a post and a pin) goes on a queue as [`Work`], keyed by the
//! interaction's id, and a worker finishes it and answers the person afterwards. Retried
//! requests and redelivered work never act twice: [`Inbox`] remembers requests by the platform's
//! id, and the war room's creation is recorded as it happens ([`join_war_room`]).

use serde::{Deserialize, Serialize};

use crate::card::war_room_name;
use crate::chat::{BoxFuture, ChatError, MessageRef};
use crate::delivery::{Claim, Deliverer, MessageKey, Target};
use crate::incident::{Incident, IncidentId, Refusal, Status, UserRef, WarRoom};
use crate::invocation::Invocation;
use crate::ports::{Clock, EventPublisher, IncidentStore, StoreError};
use crate::reply::Reply;
use crate::service::IncidentService;

/// What [`Inbox::begin`] found for a request id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// New (or an earlier attempt stopped without finishing): go ahead.
    First,
    /// Another attempt is being handled right now.
    InProgress,
    /// Handled already.
    Done,
}

/// Requests by the platform's id: a retry is recognised, and acted on only if its original
/// never finished.
pub trait Inbox: Send + Sync {
    /// Starts handling `key`, unless it is being or was handled. An attempt that does not
    /// finish within `lease_ms` can be taken over.
    fn begin<'a>(&'a self, key: &'a str, now_ms: i64, lease_ms: i64) -> BoxFuture<'a, Result<Begin, StoreError>>;
    /// Marks `key` handled.
    fn finish<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Who asked for slow work, and where to answer them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub user: UserRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The platform's handle for a late answer (Slack `response_url`, Discord token …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The clicked message, for platforms that answer in its thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageRef>,
}

/// What the worker does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Task {
    /// Create (or join) the incident's war room.
    WarRoom { incident: IncidentId },
    /// Understand and answer a mention (as its platform's adapter read it).
    Mention { segments: Vec<crate::command::Segment> },
    /// Start a configured workflow command ([`crate::workflow`]) and report its result.
    Workflow { name: String, args: Vec<String> },
}

/// One piece of slow work, as sent on the `interaction-work` queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// The interaction's id on its platform: stable across retries of the click.
    pub id: String,
    pub provider: String,
    pub platform: String,
    pub requester: Requester,
    #[serde(flatten)]
    pub task: Task,
    /// What the timeline records as the command.
    pub command_line: String,
}

/// Where slow work goes.
pub trait WorkQueue: Send + Sync {
    fn enqueue<'a>(&'a self, work: &'a Work) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// The war room's creation record: a pseudo-channel on the incident's message records.
const WAR_ROOM_RECORD: &str = "#war-room";

/// How many names a war room tries (`name`, `name-2` … `name-5`).
const NAME_ATTEMPTS: u32 = 5;

fn refused(message: impl Into<String>) -> Reply {
    Reply::Refused {
        message: message.into(),
    }
}

fn told(text: impl Into<String>) -> Reply {
    Reply::Text {
        text: text.into(),
        in_channel: false,
    }
}

fn chat_failure(what: &str, platform: &str, e: &ChatError) -> Reply {
    tracing::warn!(error = %e, "{what}");
    refused(format!("{platform} refused {what} ({e})."))
}

/// Creates (or reuses) the incident's war room `inc-<id>-<slug>` on the provider, brings the
/// person in, posts the incident's message there and pins it, and records the room on the
/// incident. Idempotent per `work_id`: a retry reuses the channel an earlier attempt created.
/// A platform without channel administration gets the core's answer instead. `on_call` (the
/// service's on-call person on this provider) is invited to a room when it is opened.
pub async fn join_war_room<S: IncidentStore, P: EventPublisher, C: Clock>(
    service: &IncidentService<S, P, C>,
    deliverer: &Deliverer,
    target: &Target,
    inv: &Invocation,
    id: &IncidentId,
    work_id: &str,
    on_call: Option<&UserRef>,
) -> Reply {
    let platform = target.provider.platform.as_str();
    let Some(rooms) = target.messenger.rooms() else {
        return refused(format!(
            "War rooms are not available on {platform}: follow {id} in its message's thread."
        ));
    };
    let provider = &target.provider.name;
    let user = &inv.actor.user;
    let incident = match service.store().get(id).await {
        Ok(Some(i)) => i,
        Ok(None) => return refused(format!("{id} was not found.")),
        Err(e) => {
            tracing::warn!(error = %e, "reading the incident");
            return refused("The incident could not be read; please try again.");
        }
    };
    if incident.status == Status::Closed {
        // A click on an old message: say so before making a channel nobody can use.
        return refused(Refusal::AlreadyClosed { id: id.clone() }.to_string());
    }
    if let Some(room) = incident.war_room.as_ref().filter(|w| &w.provider == provider) {
        return match rooms.invite(&room.channel, user).await {
            Ok(()) => told(format!("You joined #{}.", room.name)),
            Err(e) => chat_failure("joining the war room", platform, &e),
        };
    }
    // The creation is recorded as it happens, so a retry (or a second click racing this one)
    // reuses the channel instead of making another.
    let record = MessageKey::new(id, provider, WAR_ROOM_RECORD);
    let ledger = deliverer.ledger();
    let (channel, name) = match ledger.claim(&record, work_id, deliverer.now_ms()).await {
        Err(e) => {
            tracing::warn!(error = %e, "claiming the war room");
            return refused("The war room could not be opened right now; please try again.");
        }
        Ok(Claim::Busy) => return told("The war room is being opened right now; try again in a moment."),
        Ok(Claim::Posted(created)) => (created.message.id.clone(), created.message.extra.get("name").cloned()),
        Ok(Claim::Claimed { .. }) => {
            let mut created = None;
            for attempt in 0..NAME_ATTEMPTS {
                let name = war_room_name(&incident, attempt, rooms.max_name());
                match rooms.create_channel(&name).await {
                    Ok(channel) => {
                        created = Some((channel, name));
                        break;
                    }
                    Err(ChatError::NameTaken) => continue,
                    Err(e) => {
                        let _ = ledger.release(&record, work_id).await;
                        return chat_failure("creating the war room", platform, &e);
                    }
                }
            }
            let Some((channel, name)) = created else {
                let _ = ledger.release(&record, work_id).await;
                return refused("No free war room name was found; please try again.");
            };
            let made = MessageRef::new(&channel, &channel).with("name", &name);
            if let Err(e) = ledger.finish_post(&record, &made, 0, work_id, true).await {
                tracing::warn!(error = %e, "recording the war room");
            }
            (channel, Some(name))
        }
    };
    let name = name.unwrap_or_else(|| channel.clone());
    if let Err(e) = rooms.invite(&channel, user).await {
        return chat_failure("inviting you to the war room", platform, &e);
    }
    let mut also = String::new();
    if let Some(person) = on_call.filter(|p| p.id != user.id) {
        match rooms.invite(&channel, person).await {
            Ok(()) => also = format!(" The on-call person ({}) was invited.", person.display()),
            Err(e) => tracing::warn!(error = %e, "inviting the on-call person"),
        }
    }
    post_summary(deliverer, target, &incident, &channel, work_id).await;
    let room = WarRoom {
        provider: provider.clone(),
        channel: channel.clone(),
        name: name.clone(),
    };
    match service.set_war_room(inv, id, room).await.reply {
        Reply::Card { .. } => told(format!("War room #{name} is open, and you are in it.{also}")),
        refusal @ Reply::Refused { .. } => {
            // Someone opened one on this provider at the same moment through another record:
            // use theirs. Any other refusal (closed meanwhile) is the answer.
            let _ = rooms.archive(&channel).await;
            match service.store().get(id).await {
                Ok(Some(Incident {
                    war_room: Some(theirs), ..
                })) if &theirs.provider == provider => {
                    let _ = rooms.invite(&theirs.channel, user).await;
                    told(format!("You joined #{}.", theirs.name))
                }
                Ok(_) => refusal,
                Err(_) => refused("The war room could not be recorded; please try again."),
            }
        }
        other => other,
    }
}

/// The incident's message in the war room, pinned, tracked like any channel's message.
async fn post_summary(deliverer: &Deliverer, target: &Target, incident: &Incident, channel: &str, work_id: &str) {
    let job = format!("war-room:{}:{work_id}", incident.id);
    match deliverer.post_tracked(target, incident, channel, &job).await {
        Ok(Some(posted)) => {
            if let Some(rooms) = target.messenger.rooms()
                && let Err(e) = rooms.pin(&posted).await
            {
                tracing::warn!(error = %e, "pinning the war room summary");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "posting the war room summary"),
    }
}

#[cfg(test)]
#[path = "work_test.rs"]
mod tests;
