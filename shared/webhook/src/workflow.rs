//! Workflow commands (`workflows` in a provider's configuration): the gateway checks the
//! person and queues the run, answering at once; the worker sends the request (once per
//! invocation: the work item's id is the delivery id) and reports the result in the chat and on
//! the timeline (`chatops.workflow`: on the incident an argument names, else the audit partition).

use im_core::invocation::Invocation;
use im_core::message::Doc;
use im_core::ports::{EventPublisher, IncidentStore};
use im_core::provider::{Provider, ProviderSecrets};
use im_core::reply::Reply;
use im_core::timeline::TimelineEntry;
use im_core::workflow::{self, Run};
use secrecy::ExposeSecret;
use serde_json::json;
use tracing::{info, warn};

use crate::Gateway;

/// What the worker's run came to: what to say, and whether it went well.
pub(crate) struct Ran {
    pub doc: Doc,
    pub ok: bool,
}

impl<S: IncidentStore, P: EventPublisher> Gateway<S, P> {
    /// Sends one run of workflow `name` and records its result.
    pub(crate) async fn run_workflow(
        &self,
        provider: &Provider,
        secrets: &ProviderSecrets,
        inv: &Invocation,
        name: &str,
        args: &[String],
        delivery: &str,
    ) -> Ran {
        let Some(w) = provider.config.workflows.get(name) else {
            return Ran {
                doc: Doc::text(format!("`{name}` is no longer a command of this workspace.")),
                ok: false,
            };
        };
        let run = Run::new(name, args, delivery);
        let credential = secrets.get(&workflow::secret_key(name)).map(|s| s.expose_secret());
        let report = match workflow::request(w, &run, inv, credential) {
            Ok(request) => {
                let answered = self.workflows.send(&request).await;
                workflow::outcome(w, &run, &answered)
            }
            Err(why) => workflow::Report {
                ok: false,
                text: format!("`{name}` could not start: {why}"),
                status: None,
            },
        };
        info!(workflow = name, ok = report.ok, status = ?report.status, "workflow run");
        let entry = TimelineEntry::record(
            &format!("{}.workflow", inv.interface),
            self.clock.now(),
            inv.actor_label(),
            inv.actor.source(),
            json!({
                "channel": inv.actor.channel,
                "command": inv.command_line,
                "workflow": name,
                "ok": report.ok,
                "status": report.status,
                "response": report.text,
                "delivery": delivery,
            }),
        );
        let on = match &run.incident {
            Some(id) => match self.service.store().get(id).await {
                Ok(found) => found.map(|i| i.id),
                Err(e) => {
                    warn!(error = %e, "reading the workflow's incident");
                    None
                }
            },
            None => None,
        };
        if let Err(e) = self.service.store().audit(on.as_ref(), &entry).await {
            warn!(error = %e, "recording the workflow run");
        }
        let reply = if report.ok {
            Reply::Text {
                text: format!("✅ {}", report.text),
                in_channel: true,
            }
        } else {
            Reply::Refused { message: report.text }
        };
        Ran {
            doc: reply.doc(self.clock.now()),
            ok: report.ok,
        }
    }
}
