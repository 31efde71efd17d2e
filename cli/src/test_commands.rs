//! `im chatops test-commands`: signed sample commands against a provider's endpoint.
//!
//! Locally (or with `--all`) it walks a whole lifecycle. Against a deployed endpoint it sends only
//! read-only commands plus one declare/resolve/close of an incident titled `[TEST] …`, so a check
//! of production leaves one closed test incident behind and pages nobody.

use crate::signed::{self, SlashResponse, SlashTarget};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Help,
    List,
    Usage,
    Declare,
    Status,
    Ack,
    Update,
    Escalate,
    Assign,
    Timeline,
    Resolve,
    Close,
}

impl Step {
    fn changes(self) -> bool {
        matches!(
            self,
            Step::Declare | Step::Ack | Step::Update | Step::Escalate | Step::Assign | Step::Resolve | Step::Close
        )
    }
}

/// The steps to run. `full` adds ack/update/escalate/assign between declare and resolve.
pub fn plan(full: bool) -> Vec<Step> {
    use Step::*;
    let all = [
        Help, List, Usage, Declare, Status, Ack, Update, Escalate, Assign, Timeline, Resolve, Close,
    ];
    all.into_iter()
        .filter(|s| full || !s.changes() || matches!(s, Declare | Resolve | Close))
        .collect()
}

#[derive(Debug, Clone)]
pub struct Check {
    pub command: String,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub fn line(&self) -> String {
        format!("{} {} — {}", if self.ok { "✓" } else { "✗" }, self.command, self.detail)
    }
}

fn incident_id(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == ':' || c == '*')
        .find(|w| w.starts_with("INC-"))
        .map(str::to_string)
}

fn judge(response: &SlashResponse, in_channel: bool, expect: &str) -> Result<String, String> {
    if response.status != 200 {
        let detail = if response.body.is_empty() {
            String::new()
        } else {
            format!(": {}", response.body)
        };
        return Err(format!("HTTP {}{detail}", response.status));
    }
    let want = if in_channel { "in_channel" } else { "ephemeral" };
    if response.response_type() != want {
        return Err(format!(
            "expected a {want} reply, got `{}`: {}",
            response.response_type(),
            response.text()
        ));
    }
    if !response.text().contains(expect) {
        return Err(format!("expected `{expect}` in the reply, got: {}", response.text()));
    }
    Ok(response.text().lines().next().unwrap_or("").chars().take(100).collect())
}

pub async fn run(http: &reqwest::Client, target: &SlashTarget, full: bool) -> Vec<Check> {
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut id: Option<String> = None;
    let mut checks = Vec::new();
    for step in plan(full) {
        let needs_id = !matches!(step, Step::Help | Step::List | Step::Usage | Step::Declare);
        let incident = id.clone().unwrap_or_default();
        if needs_id && id.is_none() {
            checks.push(Check {
                command: format!("{step:?}").to_lowercase(),
                ok: false,
                detail: "skipped: no test incident was declared".into(),
            });
            continue;
        }
        let (text, in_channel, expect) = match step {
            Step::Help => ("help".to_string(), false, "Incident commands".to_string()),
            Step::List => ("list".to_string(), false, String::new()),
            Step::Usage => ("escalate".to_string(), false, "Usage: /im escalate".to_string()),
            Step::Declare => (
                format!("declare --sev SEV-4 \"[TEST] im test-commands {stamp}\""),
                true,
                "New Incident Declared".to_string(),
            ),
            Step::Status => (format!("status {incident}"), false, incident.clone()),
            Step::Ack => (
                format!("ack {incident} \"test-commands acknowledgement\""),
                true,
                "Acknowledged".into(),
            ),
            Step::Update => (
                format!("update {incident} \"test-commands note\""),
                true,
                "Updated".into(),
            ),
            Step::Escalate => (format!("escalate {incident} SEV-3"), true, "Severity Changed".into()),
            Step::Assign => (
                format!("assign {incident} <@U0IMTEST|im-test-assignee>"),
                true,
                "Assigned".into(),
            ),
            Step::Timeline => (format!("timeline {incident}"), false, format!("Timeline of {incident}")),
            Step::Resolve => (
                format!("resolve {incident} \"test-commands done\""),
                true,
                "Resolved".into(),
            ),
            Step::Close => (format!("close {incident}"), true, "Closed".into()),
        };
        let result = match signed::send(http, target, &text).await {
            Ok(response) => {
                let judged = judge(&response, in_channel, &expect);
                if step == Step::Declare && judged.is_ok() {
                    id = incident_id(response.text());
                }
                judged
            }
            Err(e) => Err(e),
        };
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        checks.push(Check {
            command: format!("/im {text}"),
            ok,
            detail,
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_plan_is_read_only_plus_one_test_incident() {
        use Step::*;
        assert_eq!(
            plan(false),
            [Help, List, Usage, Declare, Status, Timeline, Resolve, Close],
            "no ack/update/escalate/assign against production"
        );
        assert_eq!(plan(true).len(), 12);
        assert_eq!(
            incident_id("🚨 New Incident Declared: INC-2026-014 [TEST] x"),
            Some("INC-2026-014".into())
        );
    }
}
