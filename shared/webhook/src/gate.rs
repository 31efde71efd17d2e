//! The access gate on every path (slash commands, clicks, forms, mentions, the worker's
//! mentions): [`im_core::access::Gate`] decides; a refusal is answered privately, logged, and
//! written as a `chatops.denied` entry on the incident's timeline (or, without an incident, in
//! the day's audit partition), a limited number of times per person and hour.

use std::sync::Arc;

use im_core::access::{Ask, Granted, denied_entry};
use im_core::chat::Messenger;
use im_core::conversation::incident_of;
use im_core::incident::{Incident, IncidentId, Severity};
use im_core::invocation::Invocation;
use im_core::ports::{EventPublisher, IncidentStore};
use im_core::provider::{Provider, ProviderSecrets};
use im_core::reply::Reply;
use im_core::{Command, Outcome, Settings};
use tracing::{info, warn};

use crate::Gateway;

/// The provider a request came through, and its platform client (for identity checks).
pub(crate) struct Through<'a> {
    pub provider: &'a Provider,
    pub secrets: &'a ProviderSecrets,
    pub messenger: Option<Arc<dyn Messenger>>,
}

/// What is asked for, under which policy name.
pub(crate) struct What<'a> {
    pub name: &'a str,
    pub changes: bool,
    pub incident: Option<&'a Incident>,
    /// The incident named, when it was not read (a refusal's entry goes on its timeline).
    pub incident_id: Option<&'a IncidentId>,
    pub to_severity: Option<Severity>,
    pub preview: bool,
}

impl<S: IncidentStore, P: EventPublisher> Gateway<S, P> {
    pub(crate) async fn admit(
        &self,
        through: &Through<'_>,
        inv: &Invocation,
        what: What<'_>,
    ) -> Result<Granted, Reply> {
        let ask = Ask {
            provider: through.provider,
            secrets: through.secrets,
            people: through.messenger.as_deref().and_then(|m| m.people()),
            user: &inv.actor.user,
            channel: inv.actor.channel.as_deref(),
            command: what.name,
            changes: what.changes,
            incident: what.incident,
            to_severity: what.to_severity,
            preview: what.preview,
        };
        let denied = match self.gate.admit(&ask).await {
            Ok(granted) => return Ok(granted),
            Err(denied) => denied,
        };
        info!(
            user = %inv.actor.user.id,
            command = denied.command(),
            reason = %denied,
            "refused"
        );
        if self
            .gate
            .record_refusal(&through.provider.name, &inv.actor.user.id)
            .await
        {
            let entry = denied_entry(&inv.actor, &inv.command_line, &denied, self.clock.now());
            let on = match (what.incident, what.incident_id) {
                (Some(incident), _) => Some(incident.id.clone()),
                (None, Some(id)) => match self.service.store().get(id).await {
                    Ok(found) => found.map(|i| i.id),
                    Err(e) => {
                        warn!(error = %e, "reading the incident for the refusal's entry");
                        None
                    }
                },
                (None, None) => None,
            };
            if let Err(e) = self.service.store().audit(on.as_ref(), &entry).await {
                warn!(error = %e, "recording the refusal");
            }
        }
        Err(Reply::Denied { denied })
    }

    /// Runs a command through the gate and the use cases.
    pub(crate) async fn execute(&self, through: &Through<'_>, inv: &Invocation, command: Command) -> Outcome {
        let (name, changes) = self.service.policy_of(&command);
        let id = match &command {
            Command::Custom { args, .. } => im_core::command::incident_arg(args),
            other => incident_of(other).cloned(),
        };
        // Closing and escalating look at the incident (its origin, its current severity).
        let incident = match (&command, &id) {
            (Command::Close { .. } | Command::Escalate { .. }, Some(id)) => {
                self.service.store().get(id).await.ok().flatten()
            }
            _ => None,
        };
        let what = What {
            name: &name,
            changes,
            incident: incident.as_ref(),
            incident_id: id.as_ref(),
            to_severity: match &command {
                Command::Escalate { severity, .. } => Some(*severity),
                _ => None,
            },
            preview: false,
        };
        // Boxed: the gate's future is deep, and every path nests it.
        let granted = match Box::pin(self.admit(through, inv, what)).await {
            Ok(granted) => granted,
            Err(reply) => {
                return Outcome {
                    reply,
                    event: None,
                    failure: None,
                };
            }
        };
        // Only `help` lists the provider's workflow commands.
        let extra_help = match command {
            Command::Help { .. } => workflow_help(through.provider),
            _ => Vec::new(),
        };
        let settings = Settings {
            policy: &through.provider.config.rbac,
            role: granted.role,
            default_severity: through.provider.config.default_severity,
            extra_help: &extra_help,
        };
        Box::pin(self.service.execute(inv, &settings, command)).await
    }
}

/// `help`'s lines for the provider's workflow commands.
fn workflow_help(provider: &Provider) -> Vec<(String, String)> {
    provider
        .config
        .workflows
        .iter()
        .map(|(name, w)| {
            (
                format!("{name} {}", w.usage.as_deref().unwrap_or(""))
                    .trim()
                    .to_string(),
                w.summary.clone().unwrap_or_else(|| "Start the workflow".into()),
            )
        })
        .collect()
}
