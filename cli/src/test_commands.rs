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

/// A reply, whatever the platform: the HTTP status, the body, the text a person reads, and
/// whether the channel sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub text: String,
    pub in_channel: bool,
}

impl From<SlashResponse> for Answer {
    fn from(r: SlashResponse) -> Self {
        Answer {
            status: r.status,
            text: r.text().to_string(),
            in_channel: r.response_type() == "in_channel",
            body: r.body,
        }
    }
}

fn judge(answer: &Answer, in_channel: bool, expect: &str) -> Result<String, String> {
    if answer.status != 200 {
        let detail = if answer.body.is_empty() {
            String::new()
        } else {
            format!(": {}", answer.body)
        };
        return Err(format!("HTTP {}{detail}", answer.status));
    }
    if answer.in_channel != in_channel {
        let (want, got) = if in_channel {
            ("in-channel", "private")
        } else {
            ("private", "in-channel")
        };
        return Err(format!("expected a {want} reply, got a {got} one: {}", answer.text));
    }
    if !answer.text.contains(expect) {
        return Err(format!("expected `{expect}` in the reply, got: {}", answer.text));
    }
    Ok(answer.text.lines().next().unwrap_or("").chars().take(100).collect())
}

/// How one platform sends a step.
pub trait Sender {
    /// Sends `step` (`text` is its `/im` form) about `incident`; `None` when the platform cannot
    /// express the step (Discord's typed options cannot be given wrong).
    fn send(
        &self,
        step: Step,
        text: &str,
        incident: &str,
    ) -> impl std::future::Future<Output = Option<Result<Answer, String>>>;
}

struct Slack<'a> {
    http: &'a reqwest::Client,
    target: &'a SlashTarget,
}

impl Sender for Slack<'_> {
    async fn send(&self, _: Step, text: &str, _: &str) -> Option<Result<Answer, String>> {
        Some(signed::send(self.http, self.target, text).await.map(Answer::from))
    }
}

pub async fn run(http: &reqwest::Client, target: &SlashTarget, full: bool) -> Vec<Check> {
    run_with(&Slack { http, target }, full).await
}

/// Walks the plan through `sender`.
pub async fn run_with(sender: &impl Sender, full: bool) -> Vec<Check> {
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
        let Some(sent) = sender.send(step, &text, &incident).await else {
            continue;
        };
        let result = match sent {
            Ok(answer) => {
                let judged = judge(&answer, in_channel, &expect);
                if step == Step::Declare && judged.is_ok() {
                    id = incident_id(&answer.text);
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

/// Where and as whom to send Discord interactions: signed with the local key pair, which only
/// a provider trusting it accepts (Discord signs real interactions with its own key).
#[derive(Clone, Debug)]
pub struct DiscordTarget {
    /// `…/chatops/discord/<provider>`.
    pub url: String,
    pub application_id: String,
    pub guild_id: Option<String>,
    pub channel: String,
    pub user: String,
}

struct Discord<'a> {
    http: &'a reqwest::Client,
    target: &'a DiscordTarget,
}

fn option(name: &str, value: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "type": 3, "value": value})
}

impl Discord<'_> {
    /// `/im <subcommand>` with its typed options, as Discord sends it.
    fn interaction(&self, step: Step, text: &str, incident: &str) -> Option<serde_json::Value> {
        let inc = || option("incident", incident);
        let (sub, options) = match step {
            Step::Help => ("help", vec![]),
            Step::List => ("list", vec![]),
            Step::Usage => return None,
            Step::Declare => {
                let title = text.split('"').nth(1).unwrap_or("[TEST] im test-commands");
                ("declare", vec![option("title", title), option("severity", "SEV-4")])
            }
            Step::Status => ("status", vec![inc()]),
            Step::Ack => ("ack", vec![inc(), option("note", "test-commands acknowledgement")]),
            Step::Update => ("update", vec![inc(), option("note", "test-commands note")]),
            Step::Escalate => ("escalate", vec![inc(), option("severity", "SEV-3")]),
            Step::Assign => (
                "assign",
                vec![
                    inc(),
                    // Someone other than the acknowledger (who already holds it).
                    serde_json::json!({"name": "user", "type": 6, "value": "100000000000000003"}),
                ],
            ),
            Step::Timeline => ("timeline", vec![inc()]),
            Step::Resolve => ("resolve", vec![inc(), option("note", "test-commands done")]),
            Step::Close => ("close", vec![inc()]),
        };
        let mut body = serde_json::json!({
            // The interaction id is what retries are recognised by: unique per request.
            "id": format!("{}", 1_300_000_000_000_000_000u64 + random_below(100_000_000_000_000_000)),
            "application_id": self.target.application_id,
            "type": 2,
            "channel_id": self.target.channel,
            "token": "test-commands",
            "version": 1,
            "member": {"user": {"id": self.target.user, "username": "im-test-commands"}},
            "data": {"id": "1", "name": "im", "type": 1,
                     "options": [{"name": sub, "type": 1, "options": options}]},
        });
        if let Some(guild) = &self.target.guild_id {
            body["guild_id"] = serde_json::json!(guild);
        }
        Some(body)
    }
}

/// A random number below `bound` (the clock's nanoseconds when the OS gives no randomness).
fn random_below(bound: u64) -> u64 {
    let mut b = [0u8; 8];
    let n = match getrandom::fill(&mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(0),
    };
    n % bound
}

/// What a Discord interaction response says to a person: content, embed titles, descriptions
/// and fields, with Discord's markdown escapes removed.
fn discord_text(answer: &serde_json::Value) -> String {
    let data = &answer["data"];
    let mut parts = vec![data["content"].as_str().unwrap_or("").to_string()];
    for embed in data["embeds"].as_array().into_iter().flatten() {
        for key in ["title", "description"] {
            parts.push(embed[key].as_str().unwrap_or("").to_string());
        }
        for field in embed["fields"].as_array().into_iter().flatten() {
            parts.push(format!(
                "{}: {}",
                field["name"].as_str().unwrap_or(""),
                field["value"].as_str().unwrap_or("")
            ));
        }
    }
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
        .replace('\\', "")
}

impl Sender for Discord<'_> {
    async fn send(&self, step: Step, text: &str, incident: &str) -> Option<Result<Answer, String>> {
        let body = self.interaction(step, text, incident)?.to_string().into_bytes();
        let key = im_discord::verify::local_signing_key();
        let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let signature = im_discord::verify::sign(&key, &ts, &body);
        let response = self
            .http
            .post(&self.target.url)
            .header("content-type", "application/json")
            .header("x-signature-timestamp", ts)
            .header("x-signature-ed25519", signature)
            .body(body)
            .send()
            .await;
        Some(match response {
            Err(e) => Err(format!("sending to {}: {e}", self.target.url)),
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                let json: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                Ok(Answer {
                    status,
                    text: discord_text(&json),
                    in_channel: json["data"]["flags"].as_u64().unwrap_or(0) & 64 == 0,
                    body,
                })
            }
        })
    }
}

pub async fn run_discord(http: &reqwest::Client, target: &DiscordTarget, full: bool) -> Vec<Check> {
    run_with(&Discord { http, target }, full).await
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
