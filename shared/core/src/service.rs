//! Use cases: every command, on every platform, goes through [`IncidentService::execute`].
//!
//! A change is read → decided (pure domain code) → committed with a write conditional on the
//! version read. On a conflict the incident is read again and the command re-decided, so an
//! unrelated concurrent change never blocks a valid command, and a command that is no longer
//! valid ("already acknowledged") gets the domain's answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::command::{Assignee, Command, Declare};
use crate::incident::{Action, Incident, IncidentId, Refusal, Severity, Status, UserRef, WarRoom};
use crate::invocation::Invocation;
use crate::ports::{Change, Clock, CommitError, EventPublisher, IncidentStore, StoreError};
use crate::rbac::AccessPolicy;
use crate::reply::{CardKind, Reply};
use crate::timeline::{EventKind, IncidentEvent, TimelineEntry};

/// How many times a change is re-read and re-tried after a version conflict.
pub const MAX_ATTEMPTS: u32 = 3;
/// How long a request's idempotency key is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::hours(24);
/// Most incidents `list` shows.
pub const LIST_LIMIT: usize = 50;
/// Most timeline entries `timeline` shows.
pub const TIMELINE_LIMIT: usize = 50;

/// What a custom command sees: who ran it where, its arguments, and the incident an argument
/// names (`INC-…`) with its newest timeline entries.
pub struct CustomCall<'a> {
    pub invocation: &'a Invocation,
    pub args: &'a [String],
    pub incident: Option<&'a Incident>,
    /// Oldest first, at most [`TIMELINE_LIMIT`].
    pub timeline: &'a [crate::timeline::TimelineEntry],
}

/// An organisation-specific command (`/im deploy checkout`, on Discord `/im run deploy
/// checkout`): registered with [`IncidentService::register_command`], listed in `help`, checked
/// by the access gate as `custom:<name>`, and run on every platform.
pub trait CustomCommand: Send + Sync {
    /// One line for `help`.
    fn summary(&self) -> &str;
    /// What follows the name in `help`, e.g. `SERVICE [VERSION]`.
    fn usage(&self) -> &str {
        ""
    }
    /// Whether it changes anything (decides the RBAC default: responder vs viewer).
    fn changes(&self) -> bool {
        true
    }
    fn run<'a>(&'a self, call: CustomCall<'a>) -> crate::chat::BoxFuture<'a, Reply>;
}

/// Per-provider settings the use cases need.
#[derive(Clone, Debug)]
pub struct Settings<'a> {
    pub policy: &'a AccessPolicy,
    /// The role the person was granted ([`crate::access::Gate::admit`]); the use case checks
    /// the command's needs against it once more.
    pub role: crate::rbac::Role,
    pub default_severity: Severity,
    /// More `help` lines (`name USAGE`, summary): the provider's workflow commands.
    pub extra_help: &'a [(String, String)],
}

/// The result of one command: the reply, and what the host should log.
#[derive(Debug)]
pub struct Outcome {
    pub reply: Reply,
    /// The committed event, if the command changed something.
    pub event: Option<IncidentEvent>,
    /// An infrastructure failure behind a [`Reply::Unavailable`] or a late publish; for logs only.
    pub failure: Option<String>,
}

impl Outcome {
    fn reply(reply: Reply) -> Self {
        Self {
            reply,
            event: None,
            failure: None,
        }
    }

    fn refused(message: impl Into<String>) -> Self {
        Self::reply(Reply::Refused {
            message: message.into(),
        })
    }

    fn unavailable(error: StoreError) -> Self {
        let reference = ulid::Ulid::generate().to_string();
        Self {
            reply: Reply::Unavailable {
                reference: reference.clone(),
            },
            event: None,
            failure: Some(format!("ref {reference}: {error}")),
        }
    }
}

/// What a decided change does: the card to show and the timeline/event details.
struct Effect {
    card: CardKind,
    kind: EventKind,
    /// `acknowledge` → `chatops.acknowledge`
    event_name: &'static str,
    response: String,
    data: Map<String, Value>,
    note: Option<String>,
    previous_severity: Option<Severity>,
}

pub struct IncidentService<S, P, C> {
    store: S,
    publisher: P,
    clock: C,
    custom: BTreeMap<String, Arc<dyn CustomCommand>>,
}

impl<S: IncidentStore, P: EventPublisher, C: Clock> IncidentService<S, P, C> {
    pub fn new(store: S, publisher: P, clock: C) -> Self {
        Self {
            store,
            publisher,
            clock,
            custom: BTreeMap::new(),
        }
    }

    /// Registers `/im <name> …`. Built-in verbs cannot be replaced.
    pub fn register_command(&mut self, name: &str, command: Arc<dyn CustomCommand>) -> Result<(), String> {
        let name = name.trim().to_lowercase();
        if crate::command::reserved(&name) {
            return Err(format!("`{name}` is a built-in command"));
        }
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("`{name}` is not a command name"));
        }
        self.custom.insert(name, command);
        Ok(())
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The policy name a command is checked under, and whether it changes anything
    /// (`custom:<name>` for a registered command; an unknown one changes nothing: it only
    /// gets an answer saying it is not a command).
    pub fn policy_of(&self, command: &Command) -> (String, bool) {
        match command {
            Command::Custom { name, .. } => match self.custom.get(name) {
                Some(c) => (format!("custom:{name}"), c.changes()),
                None => (format!("custom:{name}"), false),
            },
            other => {
                let (name, changes) = other.policy();
                (name.to_string(), changes)
            }
        }
    }

    pub async fn execute(&self, inv: &Invocation, settings: &Settings<'_>, command: Command) -> Outcome {
        let (name, changes) = self.policy_of(&command);
        if let Err(denied) = settings.policy.check_role(settings.role, &name, changes) {
            return Outcome::refused(denied.to_string());
        }

        match command {
            Command::Help { topic } => {
                let mut custom = self.custom_help();
                custom.extend(settings.extra_help.iter().cloned());
                Outcome::reply(Reply::help(&inv.prefix, topic, &custom))
            }
            Command::List => match self.store.list_active(LIST_LIMIT).await {
                Ok(incidents) => Outcome::reply(Reply::List { incidents }),
                Err(e) => Outcome::unavailable(e),
            },
            Command::Status { id } => self.status(&id).await,
            Command::Timeline { id } => self.timeline(&id).await,
            Command::Declare(declare) => self.declare(inv, settings, declare).await,
            Command::Ack { id, note } => {
                self.change(inv, &id, move |inc, by, at| {
                    transition(inc, Action::Acknowledge, by, note.clone(), at)
                })
                .await
            }
            Command::Resolve { id, note } => {
                self.change(inv, &id, move |inc, by, at| {
                    transition(inc, Action::Resolve, by, note.clone(), at)
                })
                .await
            }
            Command::Close { id } => {
                self.change(inv, &id, |inc, by, at| transition(inc, Action::Close, by, None, at))
                    .await
            }
            Command::Escalate { id, severity } => {
                self.change(inv, &id, move |inc, _, at| {
                    let from = inc.set_severity(severity, at)?;
                    Ok(Effect {
                        card: CardKind::Escalated { from },
                        kind: EventKind::IncidentEscalated,
                        event_name: "escalate",
                        response: format!("Severity changed from {from} to {severity}"),
                        data: data([("from", json!(from)), ("to", json!(severity))]),
                        note: None,
                        previous_severity: Some(from),
                    })
                })
                .await
            }
            Command::Assign { id, assignee } => {
                let who = match assignee {
                    Assignee::Me => inv.actor.user.clone(),
                    Assignee::User(u) => u,
                };
                self.change(inv, &id, move |inc, _, at| {
                    inc.assign(who.clone(), at)?;
                    Ok(Effect {
                        card: CardKind::Assigned,
                        kind: EventKind::IncidentAssigned,
                        event_name: "assign",
                        response: format!("Assigned to {}", who.display()),
                        data: data([("assignee", json!(who))]),
                        note: None,
                        previous_severity: None,
                    })
                })
                .await
            }
            Command::Update { id, note } => {
                self.change(inv, &id, move |inc, _, at| {
                    inc.note(at)?;
                    Ok(Effect {
                        card: CardKind::Updated,
                        kind: EventKind::IncidentUpdated,
                        event_name: "update",
                        response: "Update added to the timeline".into(),
                        data: data([("note", json!(note))]),
                        note: Some(note.clone()),
                        previous_severity: None,
                    })
                })
                .await
            }
            Command::SetService { id, service } => {
                self.change(inv, &id, move |inc, _, at| {
                    let previous = inc.set_service(service.clone(), at)?;
                    Ok(Effect {
                        card: CardKind::Updated,
                        kind: EventKind::IncidentUpdated,
                        event_name: "service",
                        response: format!("Service set to {service}"),
                        data: data([("from", json!(previous)), ("to", json!(service))]),
                        note: None,
                        previous_severity: None,
                    })
                })
                .await
            }
            Command::Custom { name, args } => match self.custom.get(&name) {
                Some(custom) => self.custom(custom.as_ref(), inv, &args).await,
                None => Outcome::reply(Reply::Usage {
                    usage: format!("{} help", inv.prefix),
                    problem: format!("`{name}` is not a command; see the list of commands"),
                }),
            },
        }
    }

    /// Records the incident's war room (timeline `chatops.war_room`). Refused if the incident
    /// already has a different one on that provider.
    pub async fn set_war_room(&self, inv: &Invocation, id: &IncidentId, room: WarRoom) -> Outcome {
        self.change(inv, id, move |inc, _, at| {
            if let Some(existing) = inc
                .war_room
                .as_ref()
                .filter(|w| w.provider == room.provider && w.channel != room.channel)
            {
                return Err(Refusal::WarRoomExists {
                    id: inc.id.clone(),
                    name: existing.name.clone(),
                });
            }
            inc.set_war_room(room.clone(), at)?;
            Ok(Effect {
                card: CardKind::Updated,
                kind: EventKind::IncidentUpdated,
                event_name: "war_room",
                response: format!("War room #{} opened", room.name),
                data: data([("war_room", json!(room))]),
                note: None,
                previous_severity: None,
            })
        })
        .await
    }

    /// Records that a copy of the incident's card was sent to `channels` of `provider` by an
    /// operator (`<interface>.notify` on the timeline); the incident itself is unchanged.
    pub async fn record_notify(
        &self,
        inv: &Invocation,
        id: &IncidentId,
        provider: &str,
        channels: &[String],
    ) -> Outcome {
        let channels = channels.to_vec();
        let provider = provider.to_string();
        self.change(inv, id, move |inc, _, at| {
            inc.record_activity(at);
            Ok(Effect {
                card: CardKind::Updated,
                kind: EventKind::IncidentUpdated,
                event_name: "notify",
                response: format!("Notification sent to {} channel(s) of {provider}", channels.len()),
                data: data([("provider", json!(provider)), ("channels", json!(channels))]),
                note: None,
                previous_severity: None,
            })
        })
        .await
    }

    /// Records an SLA breach (timeline `sla.breach`), exactly once per incident and target:
    /// the breach is stored on the incident in the same conditional write.
    pub async fn record_breach(&self, inv: &Invocation, id: &IncidentId, target: &str, limit: Duration) -> Outcome {
        self.change(inv, id, move |inc, _, at| {
            let still_breaching = match target {
                "ack" => inc.status == Status::Open,
                _ => inc.status.is_active(),
            };
            if !still_breaching {
                return Err(Refusal::NoLongerBreaching { id: inc.id.clone() });
            }
            if !inc.record_breach(target, at) {
                return Err(Refusal::AlreadyBreached {
                    id: inc.id.clone(),
                    target: target.to_string(),
                });
            }
            let what = if target == "ack" { "acknowledge" } else { "resolve" };
            Ok(Effect {
                card: CardKind::Updated,
                kind: EventKind::SlaBreach,
                event_name: "breach",
                response: format!(
                    "SLA breached: not {what}d within {} ({})",
                    crate::template::human_duration(limit),
                    inc.severity
                ),
                data: data([
                    ("target", json!(target)),
                    ("limit_seconds", json!(limit.whole_seconds())),
                ]),
                note: None,
                previous_severity: None,
            })
        })
        .await
    }

    /// `help`'s lines for custom commands: `deploy SERVICE` and its summary.
    fn custom_help(&self) -> Vec<(String, String)> {
        self.custom
            .iter()
            .map(|(name, c)| {
                (
                    format!("{name} {}", c.usage()).trim().to_string(),
                    c.summary().to_string(),
                )
            })
            .collect()
    }

    /// Whether `name` is a command registered in code.
    pub fn has_custom(&self, name: &str) -> bool {
        self.custom.contains_key(name)
    }

    async fn custom(&self, command: &dyn CustomCommand, inv: &Invocation, args: &[String]) -> Outcome {
        let id = crate::command::incident_arg(args);
        let (incident, timeline) = match &id {
            Some(id) => match self.store.get(id).await {
                Ok(Some(incident)) => match self.store.timeline(id, TIMELINE_LIMIT).await {
                    Ok(entries) => (Some(incident), entries),
                    Err(e) => return Outcome::unavailable(e),
                },
                Ok(None) => return Outcome::refused(not_found(id)),
                Err(e) => return Outcome::unavailable(e),
            },
            None => (None, Vec::new()),
        };
        let call = CustomCall {
            invocation: inv,
            args,
            incident: incident.as_ref(),
            timeline: &timeline,
        };
        let reply = command.run(call).await;
        // A command that changes something is audited on the incident it names, like the
        // built-in ones (`chatops.custom`); reads are not.
        let Some(incident) = incident.filter(|_| command.changes()) else {
            return Outcome::reply(reply);
        };
        let entry = crate::timeline::TimelineEntry::record(
            &format!("{}.custom", inv.interface),
            self.clock.now(),
            inv.actor_label(),
            inv.actor.source(),
            serde_json::json!({
                "channel": inv.actor.channel,
                "command": inv.command_line,
                "response": reply.text(),
            }),
        );
        let failure = self.store.audit(Some(&incident.id), &entry).await.err();
        Outcome {
            reply,
            event: None,
            failure: failure.map(|e| format!("recording the custom command: {e}")),
        }
    }

    async fn status(&self, id: &IncidentId) -> Outcome {
        match self.store.get(id).await {
            Ok(Some(incident)) => match self.store.timeline(id, 5).await {
                Ok(recent) => Outcome::reply(Reply::Status { incident, recent }),
                Err(e) => Outcome::unavailable(e),
            },
            Ok(None) => Outcome::refused(not_found(id)),
            Err(e) => Outcome::unavailable(e),
        }
    }

    async fn timeline(&self, id: &IncidentId) -> Outcome {
        match self.store.get(id).await {
            Ok(Some(incident)) => match self.store.timeline(id, TIMELINE_LIMIT).await {
                Ok(entries) => Outcome::reply(Reply::Timeline { incident, entries }),
                Err(e) => Outcome::unavailable(e),
            },
            Ok(None) => Outcome::refused(not_found(id)),
            Err(e) => Outcome::unavailable(e),
        }
    }

    async fn declare(&self, inv: &Invocation, settings: &Settings<'_>, declare: Declare) -> Outcome {
        let at = self.clock.now();
        let by = inv.actor.user.clone();
        for _ in 0..MAX_ATTEMPTS {
            let id = match self.store.allocate_id(at.year()).await {
                Ok(id) => id,
                Err(e) => return Outcome::unavailable(e),
            };
            let incident = Incident {
                description: declare.description.clone(),
                service: declare.service.clone(),
                ..Incident::declared(
                    id,
                    declare.title.clone(),
                    declare.severity.unwrap_or(settings.default_severity),
                    by.clone(),
                    at,
                    inv.actor.origin(),
                )
            };
            let effect = Effect {
                card: CardKind::Declared,
                kind: EventKind::IncidentCreated,
                event_name: "declare",
                response: format!("Incident {} declared", incident.id),
                data: data([
                    ("title", json!(incident.title)),
                    ("severity", json!(incident.severity)),
                    ("service", json!(incident.service)),
                ]),
                note: None,
                previous_severity: None,
            };
            match self.commit(inv, incident, None, effect, at).await {
                // The counter handed out an id that exists (e.g. after a counter reset): next one.
                Err(CommitError::Conflict) => continue,
                result => return self.finish(result).await,
            }
        }
        Outcome::refused("Could not allocate an incident id; please try again.")
    }

    /// Read, decide, commit conditionally; on conflict read again and decide again.
    async fn change<F>(&self, inv: &Invocation, id: &IncidentId, decide: F) -> Outcome
    where
        F: Fn(&mut Incident, &UserRef, OffsetDateTime) -> Result<Effect, Refusal> + Send + Sync,
    {
        for _ in 0..MAX_ATTEMPTS {
            let current = match self.store.get(id).await {
                Ok(Some(incident)) => incident,
                Ok(None) => return Outcome::refused(not_found(id)),
                Err(e) => return Outcome::unavailable(e),
            };
            let at = self.clock.now();
            let expected = current.version;
            let mut next = current;
            let effect = match decide(&mut next, &inv.actor.user, at) {
                Ok(effect) => effect,
                Err(refusal) => return Outcome::refused(refusal.to_string()),
            };
            match self.commit(inv, next, Some(expected), effect, at).await {
                Err(CommitError::Conflict) => continue,
                result => return self.finish(result).await,
            }
        }
        Outcome::refused(format!(
            "{id} is being changed by several people right now and your command was not applied. Please try again."
        ))
    }

    async fn commit(
        &self,
        inv: &Invocation,
        incident: Incident,
        expected_version: Option<u64>,
        effect: Effect,
        at: OffsetDateTime,
    ) -> Result<(Reply, IncidentEvent), CommitError> {
        let mut entry_data = data([
            ("channel", json!(inv.actor.channel)),
            ("command", json!(inv.command_line)),
            ("response", json!(effect.response)),
        ]);
        if let Some(note) = &effect.note {
            entry_data.insert("note".into(), json!(note));
        }
        entry_data.extend(effect.data);
        let entry = TimelineEntry {
            event_type: format!("{}.{}", inv.interface, effect.event_name),
            timestamp: at,
            actor: inv.actor_label(),
            source: inv.actor.source(),
            data: entry_data,
        };
        let change = Change {
            event: IncidentEvent {
                event_id: ulid::Ulid::generate().to_string(),
                kind: effect.kind,
                incident,
                previous_severity: effect.previous_severity,
                entry,
                at,
            },
            expected_version,
            idempotency_key: inv.idempotency_key.clone(),
            idempotency_expires_at: at + IDEMPOTENCY_TTL,
        };
        self.store.commit(&change).await?;
        let reply = Reply::Card {
            kind: effect.card,
            incident: change.event.incident.clone(),
            note: effect.note,
        };
        Ok((reply, change.event))
    }

    /// Publishes a committed event (best effort: the outbox sweep re-publishes what fails here).
    async fn finish(&self, result: Result<(Reply, IncidentEvent), CommitError>) -> Outcome {
        match result {
            Ok((reply, event)) => {
                let failure = match self.publisher.publish(&event).await {
                    Ok(()) => self
                        .store
                        .mark_published(&event)
                        .await
                        .err()
                        .map(|e| format!("event {} published but not marked: {e}", event.event_id)),
                    Err(e) => Some(format!("event {} left in the outbox: {e}", event.event_id)),
                };
                Outcome {
                    reply,
                    event: Some(event),
                    failure,
                }
            }
            Err(CommitError::Duplicate) => Outcome::reply(Reply::Text {
                text: "This request was already received and applied.".into(),
                in_channel: false,
            }),
            Err(CommitError::Store(e)) => Outcome::unavailable(e),
            Err(CommitError::Conflict) => Outcome::refused("The incident changed meanwhile; please try again."),
        }
    }
}

fn not_found(id: &IncidentId) -> String {
    format!("{id} was not found. `list` shows the open incidents.")
}

fn data<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn transition(
    incident: &mut Incident,
    action: Action,
    by: &UserRef,
    note: Option<String>,
    at: OffsetDateTime,
) -> Result<Effect, Refusal> {
    incident.transition(action, by, note.as_deref(), at)?;
    let id = &incident.id;
    let (card, kind, event_name, response) = match action {
        Action::Acknowledge => (
            CardKind::Acknowledged,
            EventKind::IncidentAcknowledged,
            "acknowledge",
            format!("Incident {id} acknowledged"),
        ),
        Action::Resolve => (
            CardKind::Resolved,
            EventKind::IncidentResolved,
            "resolve",
            format!("Incident {id} resolved"),
        ),
        Action::Close => (
            CardKind::Closed,
            EventKind::IncidentClosed,
            "close",
            format!("Incident {id} closed"),
        ),
    };
    Ok(Effect {
        card,
        kind,
        event_name,
        response,
        data: Map::new(),
        note,
        previous_severity: None,
    })
}

#[cfg(test)]
#[path = "service_test.rs"]
mod tests;
