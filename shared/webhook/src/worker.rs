//! The interaction worker: slow work after a click was answered (war rooms), from the
//! `interaction-work` queue, once per work id, answering the person afterwards.

use std::sync::Arc;

use im_core::chat::ChatError;
use im_core::delivery::Target;
use im_core::inbound::{Context, Exchange, Visibility};
use im_core::invocation::{Actor, Interface, Invocation};
use im_core::ports::{EventPublisher, IncidentStore, StoreError};
use im_core::reply::Reply;
use im_core::work::{Begin, Task, Work, join_war_room};
use tracing::{info, warn};

use crate::Gateway;

/// What became of one piece of work.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// Done, and the person was answered with this.
    Answered(Box<Reply>),
    /// Done already (a redelivery).
    Duplicate,
    /// The provider is gone or its platform is not available: nothing to do.
    Dropped(String),
}

impl<S: IncidentStore, P: EventPublisher> Gateway<S, P> {
    /// Does one piece of work. `Err` only when the store failed: the queue retries it.
    pub async fn run_work(&self, work: &Work) -> Result<Done, StoreError> {
        let key = format!("work:{}:{}", work.provider, work.id);
        let now_ms = self.clock.now().unix_timestamp() * 1000;
        match self.inbox.begin(&key, now_ms, 120_000).await? {
            Begin::First => {}
            Begin::Done | Begin::InProgress => return Ok(Done::Duplicate),
        }
        let Some(resolved) = self.providers.resolve(&work.provider).await? else {
            return Ok(Done::Dropped(format!("provider `{}` not found", work.provider)));
        };
        let provider = &resolved.provider;
        let Some(adapter) = self.platforms.get(provider.platform.as_str()) else {
            return Ok(Done::Dropped(format!("{} is not available", provider.platform)));
        };
        let target = match adapter.messenger(provider, &resolved.secrets) {
            Ok(messenger) => Target {
                teams: self.providers.teams().await?,
                ..Target::new(provider.clone(), messenger)
            },
            Err(e) => return Ok(Done::Dropped(e.to_string())),
        };
        let inv = Invocation {
            actor: Actor {
                platform: provider.platform.to_string(),
                provider: provider.name.clone(),
                user: work.requester.user.clone(),
                channel: work.requester.channel.clone(),
            },
            interface: Interface::Chatops,
            prefix: "/im".into(),
            command_line: work.command_line.clone(),
            idempotency_key: Some(format!("{}:work:{}", work.platform, work.id)),
        };
        let (doc, visibility) = match &work.task {
            Task::WarRoom { incident } => {
                let on_call = self.on_call_for(incident, provider).await;
                let joined = join_war_room(
                    &self.service,
                    &self.deliverer,
                    &target,
                    &inv,
                    incident,
                    &work.id,
                    on_call.as_ref(),
                )
                .await;
                (joined.doc(self.clock.now()), Visibility::Private)
            }
            Task::Mention { segments } => {
                let through = crate::gate::Through {
                    provider,
                    secrets: &resolved.secrets,
                    messenger: Some(target.messenger.clone()),
                };
                let doc = self.converse(&through, &inv, segments, None).await;
                // A mention is answered in its thread where it has one (Slack), else through
                // the interaction's follow-up (Discord `/im ask`).
                if let Some(message) = &work.requester.message {
                    // Slack paces posts per channel (about one a second): a reply right after
                    // another waits its turn, a few seconds at most, rather than being lost.
                    let mut sent = target.messenger.reply(message, &doc).await;
                    for _ in 0..3 {
                        match &sent {
                            Err(ChatError::RateLimited { wait, .. }) if *wait <= std::time::Duration::from_secs(5) => {
                                tokio::time::sleep(*wait).await;
                                sent = target.messenger.reply(message, &doc).await;
                            }
                            _ => break,
                        }
                    }
                    match sent {
                        Ok(_) => info!(work = %work.id, "mention answered in its thread"),
                        Err(e) => warn!(work = %work.id, error = %e, "answering the mention"),
                    }
                    self.inbox.finish(&key).await?;
                    return Ok(Done::Answered(Box::new(Reply::Text {
                        text: doc.summary.plain_text(),
                        in_channel: true,
                    })));
                }
                (doc, Visibility::Private)
            }
            // A workflow's success is for the channel; its failure for the person.
            Task::Workflow { name, args } => {
                let ran = self
                    .run_workflow(provider, &resolved.secrets, &inv, name, args, &work.id)
                    .await;
                let visibility = if ran.ok {
                    Visibility::Channel
                } else {
                    Visibility::Private
                };
                (ran.doc, visibility)
            }
        };
        let ctx = Context {
            user: work.requester.user.clone(),
            channel: work.requester.channel.clone(),
            reply_to: work.requester.reply_to.clone(),
            message: work.requester.message.clone(),
            ..Context::default()
        };
        let exchange = Exchange {
            provider,
            secrets: &resolved.secrets,
            ctx: Some(&ctx),
        };
        match adapter.follow_up(exchange, &doc, visibility).await {
            Ok(()) => info!(work = %work.id, "slow work done and answered"),
            Err(ChatError::Permanent(why)) => info!(work = %work.id, %why, "slow work done; no way to answer"),
            Err(e) => warn!(work = %work.id, error = %e, "slow work done; answering failed"),
        }
        self.inbox.finish(&key).await?;
        Ok(Done::Answered(Box::new(Reply::Text {
            text: doc.summary.plain_text(),
            in_channel: false,
        })))
    }

    /// A queue batch (SQS event or poller): ids of the messages to retry.
    pub async fn handle_work_batch(&self, messages: Vec<im_aws::sqs::QueueMessage>) -> Vec<String> {
        let mut failed = Vec::new();
        for m in messages {
            let work: Work = match serde_json::from_str(&m.body) {
                Ok(work) => work,
                Err(e) => {
                    // Retrying a body we cannot read changes nothing: the queue's redrive
                    // moves it to the dead-letter queue after a few receives.
                    warn!(message = %m.id, error = %e, "malformed work item");
                    failed.push(m.id);
                    continue;
                }
            };
            match self.run_work(&work).await {
                Ok(done) => info!(work = %work.id, ?done, "work handled"),
                Err(e) => {
                    warn!(work = %work.id, error = %e, "work failed; the queue retries it");
                    failed.push(m.id);
                }
            }
        }
        failed
    }
}

/// The worker as a queue handler (Lambda's SQS trigger and `im serve`'s poller).
pub struct WorkHandler<S, P>(pub Arc<Gateway<S, P>>);

impl<S: IncidentStore, P: EventPublisher> im_aws::poller::BatchHandler for WorkHandler<S, P> {
    async fn handle(&self, messages: Vec<im_aws::sqs::QueueMessage>) -> Vec<String> {
        self.0.handle_work_batch(messages).await
    }
}
