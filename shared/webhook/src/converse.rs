//! Mentions in plain language, for every platform: the sentence is understood
//! ([`im_core::nlu`]), completed from context ([`im_core::conversation`]) and run through the
//! same use cases, RBAC and timeline as the slash command, with the sentence itself recorded as
//! the command. Questions and confirmations wait for the person's click (`im:answer`) or next
//! mention for 30 minutes.

use im_core::Command;
use im_core::command::{Segment, parse_segments, plain_text};
use im_core::conversation::{
    self, CONTEXT_TTL_SECONDS, Pending, Plan, Surroundings, confirm_doc, context_key, count_doc, help_doc, incident_of,
    question_doc, question_key, window,
};
use im_core::incident::{IncidentId, UserRef};
use im_core::invocation::Invocation;
use im_core::message::{Block, Doc, Text};
use im_core::nlu::{Intent, Missing, understand};
use im_core::oncall::{Rotation, local_time, rotation_key};
use im_core::ports::{EventPublisher, IncidentStore};
use im_core::provider::Provider;
use im_core::reply::Reply;
use im_core::usage::Usage;
use tracing::warn;

use crate::Gateway;
use crate::gate::Through;

/// How a question's answer joins the sentence that asked it.
fn join(pending: &Pending, answer: &[Segment]) -> Vec<Segment> {
    let glue = match pending.asked.as_str() {
        "title" | "note" => ": ",
        _ => " ",
    };
    let mut joined = pending.segments.clone();
    joined.push(Segment::Text(glue.into()));
    joined.extend_from_slice(answer);
    joined
}

fn missing_name(m: Missing) -> &'static str {
    match m {
        Missing::Title => "title",
        Missing::Note => "note",
        Missing::Assignee => "assignee",
        Missing::Service => "service",
        Missing::Incident => "incident",
    }
}

impl<S: IncidentStore, P: EventPublisher> Gateway<S, P> {
    /// Understands and answers one mention (or the answer to one of its questions: `answer`
    /// carries the chosen incident, or [`conversation::no_incident`] for a plain "yes").
    pub(crate) async fn converse(
        &self,
        through: &Through<'_>,
        inv: &Invocation,
        said: &[Segment],
        answer: Option<IncidentId>,
    ) -> Doc {
        let provider = through.provider;
        let now = self.clock.now();
        let channel = inv.actor.channel.as_deref();
        let user = inv.actor.user.id.as_str();
        let ctx_key = context_key(&provider.name, channel, user);
        let ask_key = question_key(&provider.name, channel, user);
        let services = &provider.config.services;
        let recall = |key: String| async move {
            match self.memo.get(&key, now.unix_timestamp()).await {
                Ok(v) => v,
                Err(e) => {
                    warn!(error = %e, "reading the conversation");
                    None
                }
            }
        };
        let pending: Option<Pending> = recall(ask_key.clone())
            .await
            .and_then(|v| serde_json::from_str(&v).ok());
        // The sentence to act on: the question's sentence when this answers it.
        let (sentence, confirmed, joined) = match (&answer, &pending) {
            (Some(_), Some(p)) => (p.segments.clone(), true, true),
            (Some(_), None) => {
                return Doc::text("That question has expired or was asked of someone else; please mention me again.");
            }
            (None, Some(p)) if p.asked != "incident" && p.asked != "confirm" => {
                let fresh = understand(said, services);
                if fresh.intent == Intent::None {
                    (join(p, said), false, true)
                } else {
                    (said.to_vec(), false, false)
                }
            }
            _ => (said.to_vec(), false, false),
        };
        if pending.is_some()
            && let Err(e) = self.memo.delete(&ask_key).await
        {
            warn!(error = %e, "clearing the question");
        }
        let mut parse = understand(&sentence, services);
        if let Some(id) = answer.clone().filter(|id| *id != conversation::no_incident()) {
            parse.entities.incident_id = Some(id.to_string());
            parse.entities.service = None;
            parse.entities.incident_number = None;
            parse.missing.retain(|m| *m != Missing::Incident);
        }
        self.record(Usage::Mention {
            platform: inv.actor.platform.clone(),
            intent: parse.intent.name().to_string(),
        })
        .await;
        let active = match self.service.store().list_active(im_core::service::LIST_LIMIT).await {
            Ok(active) => active,
            Err(e) => {
                warn!(error = %e, "listing incidents for a mention");
                return Doc::text("Incidents could not be read right now; please try again.");
            }
        };
        let remembered = recall(ctx_key.clone()).await.and_then(|v| IncidentId::parse(&v).ok());
        let around = Surroundings {
            active: &active,
            remembered: remembered.as_ref(),
            channel,
            provider: &provider.name,
            confirmed,
        };
        // A sentence that is already a complete command (`ack INC-2026-001`, `declare SEV-2 …
        // --service api`) runs exactly as typed; everything else is understood, and what is
        // missing is asked for ("create an incident" asks for a title, not declares "an incident").
        let typed = (!joined && parse.missing.is_empty())
            .then(|| parse_segments(&sentence).ok())
            .flatten()
            .filter(|c| !matches!(c, Command::Custom { .. }));
        let plan = match typed {
            Some(command) => Plan::Run(command),
            None => conversation::plan(&parse, &around),
        };
        let hold = |asked: &'static str| {
            let pending = Pending {
                segments: sentence.clone(),
                asked: asked.to_string(),
            };
            let key = ask_key.clone();
            async move {
                let value = serde_json::to_string(&pending).unwrap_or_default();
                let expires = now.unix_timestamp() + CONTEXT_TTL_SECONDS;
                if let Err(e) = self.memo.put(&key, &value, Some(expires)).await {
                    warn!(error = %e, "keeping the question");
                }
            }
        };
        match plan {
            Plan::Run(command) => {
                let mut inv = inv.clone();
                inv.command_line = plain_text(&sentence);
                let remember = incident_of(&command).cloned();
                let outcome = self.execute(through, &inv, command).await;
                let about = remember.or_else(|| match &outcome.reply {
                    Reply::Card { incident, .. } | Reply::Status { incident, .. } => Some(incident.id.clone()),
                    _ => None,
                });
                if let Some(id) = about {
                    let expires = now.unix_timestamp() + CONTEXT_TTL_SECONDS;
                    if let Err(e) = self.memo.put(&ctx_key, id.as_str(), Some(expires)).await {
                        warn!(error = %e, "remembering the incident talked about");
                    }
                }
                outcome.reply.doc(now)
            }
            Plan::Count {
                severity,
                service,
                range,
            } => {
                // Without a range: what is open now. With one: what was declared in it, in any
                // status, read by declaration time.
                let Some(range) = range else {
                    return count_doc(&active, severity, service.as_deref(), "open now");
                };
                let timezone = provider.config.timezone.as_deref().unwrap_or("UTC");
                let (from, to) = window(range, now, timezone);
                match self.service.store().declared_between(from, to).await {
                    Ok(found) => count_doc(
                        &found,
                        severity,
                        service.as_deref(),
                        &format!("declared {}", range.phrase()),
                    ),
                    Err(e) => {
                        warn!(error = %e, "counting incidents");
                        Doc::text("Incidents could not be counted right now; please try again.")
                    }
                }
            }
            Plan::OnCall { service } => {
                self.on_call_answer(provider, service.as_deref(), now.unix_timestamp())
                    .await
            }
            Plan::Ask { question, choices } => {
                hold("incident").await;
                question_doc(&question, &choices)
            }
            Plan::AskText { missing } => {
                hold(missing_name(missing)).await;
                Doc::text(missing.question())
            }
            Plan::Confirm { question, incident } => {
                hold("confirm").await;
                confirm_doc(&question, incident.as_ref())
            }
            Plan::Help { chatter } => help_doc(chatter, &inv.prefix),
            Plan::Tell(message) => Doc::text(message),
        }
    }

    /// The on-call person of the incident's service, when they are on this provider's
    /// platform (a war room invites them).
    pub(crate) async fn on_call_for(&self, id: &IncidentId, provider: &Provider) -> Option<UserRef> {
        let incident = self.service.store().get(id).await.ok().flatten()?;
        let service = incident.service?;
        let now = self.clock.now().unix_timestamp();
        let value = self.memo.get(&rotation_key(&service), now).await.ok().flatten()?;
        let rotation: Rotation = serde_json::from_str(&value).ok()?;
        let identity = rotation.on_call(now)?.user;
        let (platform, id) = identity.split_once(':')?;
        (platform == provider.platform.as_str()).then(|| UserRef::new(id, None).on(&provider.name))
    }

    async fn on_call_answer(&self, provider: &Provider, service: Option<&str>, now: i64) -> Doc {
        let services: Vec<String> = match service {
            Some(s) => vec![s.to_string()],
            None => provider.config.services.clone(),
        };
        let mut lines = Vec::new();
        for s in &services {
            let rotation: Option<Rotation> = match self.memo.get(&rotation_key(s), now).await {
                Ok(v) => v.and_then(|v| serde_json::from_str(&v).ok()),
                Err(e) => {
                    warn!(error = %e, "reading a rotation");
                    return Doc::text("The on-call schedule could not be read right now; please try again.");
                }
            };
            let Some(rotation) = rotation else {
                if service.is_some() {
                    lines.push(Text::new().plain(format!("No on-call rotation is set up for {s}.")));
                }
                continue;
            };
            let line = match rotation.on_call(now) {
                Some(on) => {
                    let mut t = Text::new().plain(format!("On call for {s}: "));
                    t = match on.user.split_once(':') {
                        Some((platform, id)) if platform == provider.platform.as_str() => {
                            t.user(&UserRef::new(id, None).on(&provider.name))
                        }
                        _ => t.plain(on.user.clone()),
                    };
                    let how = if on.overridden { " (override)" } else { "" };
                    t.plain(format!("{how} until {}", local_time(on.until, &rotation.timezone)))
                }
                None => Text::new().plain(format!("The {s} rotation has not started yet.")),
            };
            lines.push(line);
        }
        if lines.is_empty() {
            return Doc::text("No on-call rotations are set up. An operator adds one with `im oncall set`.");
        }
        let mut doc = Doc::new(lines[0].clone());
        doc.push(Block::Lines(lines));
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_completes_the_sentence_that_asked() {
        let text = |t: &str| Segment::Text(t.into());
        let p = Pending {
            segments: vec![text("create an incident")],
            asked: "title".into(),
        };
        assert_eq!(
            plain_text(&join(&p, &[text("API errors")])),
            "create an incident: API errors"
        );
        let bob = Segment::User(UserRef::new("U1", Some("bob".into())));
        let p = Pending {
            segments: vec![text("assign INC-2026-001 to")],
            asked: "assignee".into(),
        };
        assert_eq!(
            join(&p, std::slice::from_ref(&bob)),
            vec![text("assign INC-2026-001 to"), text(" "), bob]
        );
    }
}
