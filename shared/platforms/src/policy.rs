//! Outbound HTTPS for the gate and custom commands. The external policy endpoint: `POST {"input": …}`, signed with the provider's
//! `policy_secret` (`X-IM-Signature-256: sha256=<hex>`), answered within 500 ms or not at all.

use std::time::Duration;

use im_core::access::{RoleSource, SIGNATURE_HEADER, read_policy_answer, signature};
use im_core::chat::BoxFuture;
use im_core::rbac::Role;
use serde_json::Value;

/// How long the endpoint has to answer before the local mapping decides.
pub const POLICY_TIMEOUT: Duration = Duration::from_millis(500);

pub struct HttpRoleSource {
    http: Option<reqwest::Client>,
}

impl HttpRoleSource {
    pub fn new() -> Self {
        Self::with_timeout(POLICY_TIMEOUT)
    }

    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            http: im_slack::client::http_client(timeout).ok(),
        }
    }
}

impl Default for HttpRoleSource {
    fn default() -> Self {
        Self::new()
    }
}

impl RoleSource for HttpRoleSource {
    fn role<'a>(
        &'a self,
        url: &'a str,
        secret: Option<&'a str>,
        input: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Role>, String>> {
        Box::pin(async move {
            let http = self.http.as_ref().ok_or("no HTTP client")?;
            let body = serde_json::to_vec(input).map_err(|e| e.to_string())?;
            let mut request = http.post(url).header("content-type", "application/json");
            if let Some(secret) = secret {
                request = request.header(SIGNATURE_HEADER, signature(secret, &body));
            }
            let response = request.body(body).send().await.map_err(|e| {
                if e.is_timeout() {
                    format!("no answer within {} ms", POLICY_TIMEOUT.as_millis())
                } else {
                    format!("unreachable: {e}")
                }
            })?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            read_policy_answer(&bytes)
        })
    }
}

/// Workflow commands' requests ([`im_core::workflow`]), answered within 10 s or reported as
/// unanswered.
pub struct HttpWorkflows {
    http: Option<reqwest::Client>,
}

impl HttpWorkflows {
    pub fn new() -> Self {
        Self {
            http: im_slack::client::http_client(Duration::from_secs(im_core::workflow::WORKFLOW_TIMEOUT_SECONDS)).ok(),
        }
    }
}

impl Default for HttpWorkflows {
    fn default() -> Self {
        Self::new()
    }
}

impl im_core::workflow::WorkflowSender for HttpWorkflows {
    fn send<'a>(&'a self, request: &'a im_core::workflow::Request) -> BoxFuture<'a, im_core::workflow::Answered> {
        use im_core::workflow::Answered;
        Box::pin(async move {
            let Some(http) = &self.http else {
                return Answered::NoAnswer("no HTTP client".into());
            };
            let mut builder = http.post(&request.url);
            for (k, v) in &request.headers {
                builder = builder.header(k, v);
            }
            match builder.body(request.body.clone()).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    Answered::Status { status, body }
                }
                Err(e) if e.is_timeout() => Answered::NoAnswer(format!(
                    "no answer within {} s",
                    im_core::workflow::WORKFLOW_TIMEOUT_SECONDS
                )),
                Err(e) if e.is_connect() => Answered::NoAnswer(format!("could not connect: {e}")),
                Err(e) => Answered::NoAnswer(e.to_string()),
            }
        })
    }
}
