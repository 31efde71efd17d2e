//! Custom commands by configuration: `/im deploy checkout v2` (or `/im run deploy …`) starts an
//! external workflow with an HTTPS `POST` of a JSON payload, and the result goes back to the
//! chat and onto the timeline.
//!
//! ```json
//! {"workflows": {
//!   "deploy": {"github": {"repository": "acme/deploy", "event_type": "chatops-deploy"},
//!              "token": "github_pat_…", "usage": "deploy SERVICE [VERSION]", "summary": "Deploy a service"},
//!   "runbook": {"url": "https://hooks.example.com/chatops", "secret": "…", "summary": "Start a runbook"}
//! }}
//! ```
//! GitHub's `repository_dispatch` is a preset: `POST {api}/repos/{repository}/dispatches` with
//! `{"event_type", "client_payload": {"service", "args", "incident_id", "user", "channel"}}`;
//! GitHub's `204` is answered "Deployment initiated for <service>". Any other receiver gets the
//! payload below, signed (`X-IM-Signature-256: sha256=<HMAC-SHA256 of the body>`). Credentials
//! (`token`, `secret`) are moved to the provider's secret as `workflow:<name>` when configured.
//! Every request carries `X-IM-Delivery` (the invocation's id): a receiver can drop a repeat.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::chat::BoxFuture;
use crate::incident::IncidentId;
use crate::invocation::Invocation;
use crate::provider::https_or_local;

/// GitHub's REST API.
pub const GITHUB_API: &str = "https://api.github.com";
/// How long a workflow has to answer.
pub const WORKFLOW_TIMEOUT_SECONDS: u64 = 10;
/// The header with the invocation's id.
pub const DELIVERY_HEADER: &str = "x-im-delivery";

/// The provider secret key holding workflow `name`'s credential.
pub fn secret_key(name: &str) -> String {
    format!("workflow:{name}")
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubDispatch {
    /// `owner/repo`.
    pub repository: String,
    pub event_type: String,
    /// GitHub Enterprise Server's API, e.g. `https://github.example.com/api/v3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
}

/// One configured workflow command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// GitHub's `repository_dispatch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<GithubDispatch>,
    /// Any other receiver (signed with the workflow's secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The line `help` shows after the command's name, e.g. `SERVICE [VERSION]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

pub type Workflows = BTreeMap<String, Workflow>;

/// Problems with a provider's `workflows` (names, presets, URLs), for configuration time.
pub fn problems(workflows: &Workflows) -> Vec<String> {
    let mut out = Vec::new();
    for (name, w) in workflows {
        if !crate::command::custom_name(name) {
            out.push(format!(
                "workflows: `{name}` is not a command name (lowercase letters, digits, - and _, at most 32)"
            ));
        }
        if crate::command::reserved(name) {
            out.push(format!("workflows: `{name}` is a built-in command"));
        }
        match (&w.github, &w.url) {
            (Some(_), Some(_)) => out.push(format!("workflows.{name}: either `github` or `url`, not both")),
            (None, None) => out.push(format!("workflows.{name}: needs `github` or `url`")),
            (None, Some(url)) if !https_or_local(url) => {
                out.push(format!("workflows.{name}.url `{url}` must be an https:// URL"))
            }
            (Some(g), None) => {
                let parts: Vec<&str> = g.repository.split('/').collect();
                if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                    out.push(format!(
                        "workflows.{name}.github.repository `{}` is not owner/repo",
                        g.repository
                    ));
                }
                if g.event_type.trim().is_empty() || g.event_type.len() > 100 {
                    out.push(format!(
                        "workflows.{name}.github.event_type must be 1 to 100 characters"
                    ));
                }
                if let Some(api) = &g.api_url
                    && !https_or_local(api)
                {
                    out.push(format!(
                        "workflows.{name}.github.api_url `{api}` must be an https:// URL"
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// Moves each workflow's credential (`token` or `secret`) out of a configuration object into
/// secrets (`workflow:<name>`), before the configuration is checked and stored.
pub fn take_secrets(config: &mut serde_json::Map<String, Value>) -> Result<BTreeMap<String, String>, String> {
    let mut secrets = BTreeMap::new();
    let Some(Value::Object(workflows)) = config.get_mut("workflows") else {
        return Ok(secrets);
    };
    for (name, w) in workflows.iter_mut() {
        let Value::Object(w) = w else {
            continue;
        };
        for key in ["token", "secret"] {
            match w.remove(key) {
                Some(Value::String(s)) if !s.is_empty() => {
                    secrets.insert(secret_key(name), s);
                }
                Some(Value::Null | Value::String(_)) | None => {}
                Some(_) => return Err(format!("workflows.{name}.{key} must be a string")),
            }
        }
    }
    Ok(secrets)
}

/// One run of a workflow command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub name: String,
    pub args: Vec<String>,
    /// The first argument that is an incident id.
    pub incident: Option<IncidentId>,
    /// The first other argument (what GitHub's preset deploys).
    pub service: Option<String>,
    /// The rest.
    pub rest: Vec<String>,
    /// The invocation's id (`X-IM-Delivery`, stable across retries).
    pub delivery: String,
}

impl Run {
    pub fn new(name: &str, args: &[String], delivery: &str) -> Self {
        let incident = crate::command::incident_arg(args);
        let mut others = args.iter().filter(|a| IncidentId::parse(a).is_err()).cloned();
        let service = others.next();
        Self {
            name: name.to_string(),
            args: args.to_vec(),
            incident,
            service,
            rest: others.collect(),
            delivery: delivery.to_string(),
        }
    }
}

/// The request to send: where, what, and how it is authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub url: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

/// The request for `run` of workflow `w`, by `inv`; `credential` from the provider's secret.
pub fn request(w: &Workflow, run: &Run, inv: &Invocation, credential: Option<&str>) -> Result<Request, String> {
    let user = json!({"id": inv.actor.user.id, "name": inv.actor.user.name});
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        (DELIVERY_HEADER.to_string(), run.delivery.clone()),
        ("user-agent".to_string(), "incident-management-chatops".to_string()),
    ];
    if let Some(g) = &w.github {
        let body = json!({
            "event_type": g.event_type,
            "client_payload": {
                "service": run.service,
                "args": run.rest,
                "incident_id": run.incident,
                "user": user,
                "channel": inv.actor.channel,
            }
        });
        let token =
            credential.ok_or_else(|| format!("`{}` has no GitHub token (workflows.{}.token)", run.name, run.name))?;
        headers.push(("authorization".into(), format!("Bearer {token}")));
        headers.push(("accept".into(), "application/vnd.github+json".into()));
        headers.push(("x-github-api-version".into(), "2022-11-28".into()));
        let api = g.api_url.as_deref().unwrap_or(GITHUB_API).trim_end_matches('/');
        return Ok(Request {
            url: format!("{api}/repos/{}/dispatches", g.repository),
            body: serde_json::to_vec(&body).map_err(|e| e.to_string())?,
            headers,
        });
    }
    let url = w.url.clone().ok_or_else(|| format!("`{}` has no receiver", run.name))?;
    let body = json!({
        "command": run.name,
        "service": run.service,
        "args": run.rest,
        "incident_id": run.incident,
        "user": user,
        "channel": inv.actor.channel,
        "provider": inv.actor.provider,
        "platform": inv.actor.platform,
        "delivery": run.delivery,
    });
    let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    if let Some(secret) = credential {
        headers.push((
            crate::access::SIGNATURE_HEADER.to_string(),
            crate::access::signature(secret, &body),
        ));
    }
    Ok(Request { url, body, headers })
}

/// What the receiver answered, or why there is no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    Status {
        status: u16,
        body: Vec<u8>,
    },
    /// No answer: the request may or may not have reached it.
    NoAnswer(String),
}

/// The outcome in words, and whether it succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub ok: bool,
    pub text: String,
    pub status: Option<u16>,
}

/// A short detail from an error answer (`message` or `error`, else the start of the body).
fn detail(body: &[u8]) -> String {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let text = value
        .as_ref()
        .and_then(|v| v.get("message").or_else(|| v.get("error")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).to_string());
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::message::truncate(&text, 200)
}

/// How the chat is told what happened.
pub fn outcome(w: &Workflow, run: &Run, answered: &Answered) -> Report {
    match answered {
        Answered::Status { status, body } if (200..300).contains(status) => {
            let text = if w.github.is_some() {
                format!(
                    "Deployment initiated for {}",
                    run.service.as_deref().unwrap_or("the default target")
                )
            } else {
                serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|v| v.get("text").and_then(Value::as_str).map(str::to_string))
                    .map(|t| crate::message::truncate(&t, 500))
                    .unwrap_or_else(|| format!("`{}` accepted by its workflow (HTTP {status})", run.name))
            };
            Report {
                ok: true,
                text,
                status: Some(*status),
            }
        }
        Answered::Status { status, body } => {
            let why = detail(body);
            let hint = match (w.github.is_some(), status) {
                (true, 401) => " (the GitHub token is not valid)",
                (true, 403 | 404) => {
                    " (the token cannot reach the repository: it needs the Contents read and write permission)"
                }
                (true, 422) => " (GitHub refused the payload)",
                _ => "",
            };
            Report {
                ok: false,
                text: format!(
                    "`{}` failed: the workflow answered HTTP {status}{hint}{}",
                    run.name,
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {why}")
                    }
                ),
                status: Some(*status),
            }
        }
        Answered::NoAnswer(why) => Report {
            ok: false,
            text: format!(
                "`{}` got no answer from its workflow ({why}); it may or may not have started (delivery {})",
                run.name, run.delivery
            ),
            status: None,
        },
    }
}

/// Sends workflow requests (HTTPS, [`WORKFLOW_TIMEOUT_SECONDS`]).
pub trait WorkflowSender: Send + Sync {
    fn send<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Answered>;
}

#[cfg(test)]
#[path = "workflow_test.rs"]
mod tests;
