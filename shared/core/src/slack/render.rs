//! Block Kit rendering of [`Reply`], within Slack's limits, always with a top-level `text`.

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::incident::{Incident, UserRef};
use crate::reply::Reply;
use crate::timeline::TimelineEntry;

const MAX_BLOCKS: usize = 50;
const MAX_SECTION: usize = 3000;
const MAX_HEADER: usize = 150;
const MAX_TEXT: usize = 4000;

/// A slash command response / message body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlackMessage {
    pub response_type: &'static str,
    pub text: String,
    pub blocks: Vec<Value>,
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes user text for mrkdwn, so it cannot mention `@channel` or forge links.
pub fn escape(s: &str) -> String {
    if !s.contains(['&', '<', '>']) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `<@U123>` for a Slack user id, the escaped name otherwise.
pub fn mention(user: &UserRef) -> String {
    let is_slack_id = user.id.len() >= 2
        && matches!(user.id.as_bytes()[0], b'U' | b'W')
        && user.id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if is_slack_id {
        format!("<@{}>", user.id)
    } else {
        escape(user.display())
    }
}

/// "just now", "2 minutes ago", "3 hours ago", "2 days ago".
pub fn relative(then: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - then).whole_seconds().max(0);
    let (n, unit) = match secs {
        0..=59 => return "just now".into(),
        60..=3599 => (secs / 60, "minute"),
        3600..=86_399 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

fn date(t: OffsetDateTime) -> String {
    let fallback = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{fallback}>",
        t.unix_timestamp()
    )
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION)}})
}

fn header(text: &str) -> Value {
    json!({"type": "header", "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER), "emoji": true}})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_SECTION)}]})
}

/// Lines packed into as few sections as fit Slack's per-section limit.
fn sections(lines: impl IntoIterator<Item = String>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in lines {
        let line = truncate(&line, MAX_SECTION);
        if !current.is_empty() && current.chars().count() + 1 + line.chars().count() > MAX_SECTION {
            out.push(section(&current));
            current.clear();
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        out.push(section(&current));
    }
    out
}

/// The incident summary lines shared by cards and status replies.
pub fn incident_blocks(incident: &Incident, now: OffsetDateTime) -> Vec<Value> {
    let mut facts = format!(
        "*Severity:* {}  |  *Status:* {}  |  *Service:* {}\n*Started:* {} ({})",
        incident.severity,
        incident.status,
        incident.service.as_deref().map(escape).unwrap_or_else(|| "—".into()),
        relative(incident.declared_at, now),
        date(incident.declared_at),
    );
    if let Some(assignee) = &incident.assignee {
        facts.push_str(&format!("  |  *Assignee:* {}", mention(assignee)));
    }
    if let Some(commander) = &incident.commander {
        facts.push_str(&format!("  |  *Commander:* {}", mention(commander)));
    }
    let mut blocks = vec![
        section(&format!("*{}*: {}", incident.id, escape(&incident.title))),
        section(&facts),
    ];
    if let Some(description) = incident.description.as_deref().filter(|d| !d.is_empty()) {
        blocks.push(section(&format!("_{}_", escape(description))));
    }
    if let Some(resolution) = &incident.resolution {
        blocks.push(section(&format!("*Resolution:* {}", escape(resolution))));
    }
    blocks
}

/// One timeline entry as a line: time, event type, who, and the note or response.
pub fn entry_line(entry: &TimelineEntry) -> String {
    let when = entry
        .timestamp
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .unwrap_or_default();
    let who = entry
        .actor
        .split_once(':')
        .map(|(_, id)| mention(&UserRef::new(id, None)))
        .unwrap_or_else(|| escape(&entry.actor));
    let detail = ["note", "response"]
        .iter()
        .find_map(|k| entry.data.get(*k).and_then(Value::as_str))
        .map(|d| format!(" — {}", escape(d)))
        .unwrap_or_default();
    format!("`{when}` *{}* by {who}{detail}", escape(&entry.event_type))
}

/// Renders a reply as a slash-command response body.
pub fn render(reply: &Reply, now: OffsetDateTime) -> SlackMessage {
    let mut blocks = match reply {
        Reply::Card { kind, incident, note } => {
            let mut b = vec![header(&kind.headline())];
            b.extend(incident_blocks(incident, now));
            if let Some(note) = note {
                b.push(context(&format!("📝 {}", escape(note))));
            }
            b
        }
        Reply::Status { incident, recent } => {
            let mut b = vec![header(&format!("{} — {}", incident.id, incident.status))];
            b.extend(incident_blocks(incident, now));
            if !recent.is_empty() {
                b.push(context("Latest timeline entries"));
                b.extend(sections(recent.iter().map(entry_line)));
            }
            b
        }
        Reply::List { incidents } if incidents.is_empty() => vec![section("No open incidents. 🎉")],
        Reply::List { incidents } => {
            let mut b = vec![header(&format!("Open incidents ({})", incidents.len()))];
            b.extend(sections(incidents.iter().map(|i| {
                let assignee = i
                    .assignee
                    .as_ref()
                    .map(|a| format!(" · {}", mention(a)))
                    .unwrap_or_default();
                format!(
                    "*{}* `{}` {} — {} · {}{assignee}",
                    i.id,
                    i.severity,
                    escape(&i.title),
                    i.status,
                    relative(i.declared_at, now)
                )
            })));
            b
        }
        Reply::Timeline { incident, entries } => {
            let mut b = vec![header(&format!("Timeline of {}", incident.id))];
            b.push(section(&format!("*{}*: {}", incident.id, escape(&incident.title))));
            if entries.is_empty() {
                b.push(section("No entries yet."));
            }
            b.extend(sections(entries.iter().map(entry_line)));
            b
        }
        Reply::Help { entries } => {
            let mut b = vec![section("*Incident commands*")];
            b.extend(sections(
                entries
                    .iter()
                    .map(|e| format!("`{}`\n      {}", escape(&e.usage), escape(&e.summary))),
            ));
            b
        }
        Reply::Usage { usage, problem } => vec![section(&format!(
            ":warning: {}\nUsage: `{}`",
            escape(problem),
            escape(usage)
        ))],
        Reply::Refused { message } => vec![section(&format!(":no_entry: {}", escape(message)))],
        Reply::Unavailable { .. } | Reply::Text { .. } => vec![section(&escape(&reply.text()))],
    };
    if blocks.len() > MAX_BLOCKS {
        blocks.truncate(MAX_BLOCKS - 1);
        blocks.push(context("…more not shown"));
    }
    SlackMessage {
        response_type: if reply.in_channel() { "in_channel" } else { "ephemeral" },
        text: truncate(&reply.text(), MAX_TEXT),
        blocks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{IncidentId, Severity, Status};
    use crate::reply::CardKind;
    use time::macros::datetime;

    fn incident() -> Incident {
        let mut incident = crate::memory::incident(1, Severity::Sev1, Status::Open);
        incident.title = "Checkout <!channel> & co".into();
        incident.description = Some("Multiple users reporting payment failures".into());
        incident.service = Some("Checkout".into());
        incident
    }

    #[test]
    fn declared_card_matches_the_documented_shape() {
        let now = datetime!(2026-11-27 10:02 UTC);
        let msg = render(
            &Reply::Card {
                kind: CardKind::Declared,
                incident: incident(),
                note: None,
            },
            now,
        );
        assert_eq!(msg.response_type, "in_channel");
        assert!(msg.text.starts_with("🚨 New Incident Declared: INC-2026-001"));
        let all = serde_json::to_string(&msg.blocks).expect("json");
        assert!(all.contains("🚨 New Incident Declared"));
        assert!(
            all.contains("*INC-2026-001*: Checkout &lt;!channel&gt; &amp; co"),
            "user text is escaped: {all}"
        );
        assert!(all.contains("*Severity:* SEV-1  |  *Status:* Open  |  *Service:* Checkout"));
        assert!(all.contains("*Started:* 2 minutes ago"));
        assert!(all.contains("_Multiple users reporting payment failures_"));
        assert!(all.contains("<@U1>"));
    }

    #[test]
    fn long_lists_stay_within_block_kit_limits() {
        let many: Vec<Incident> = (0..200)
            .map(|n| {
                let mut i = incident();
                i.id = IncidentId::new(2026, n);
                i.title = "x".repeat(140);
                i
            })
            .collect();
        let msg = render(&Reply::List { incidents: many }, datetime!(2026-11-27 11:00 UTC));
        assert_eq!(msg.response_type, "ephemeral");
        assert!(msg.blocks.len() <= MAX_BLOCKS);
        for b in &msg.blocks {
            if let Some(t) = b["text"]["text"].as_str() {
                assert!(t.chars().count() <= MAX_SECTION);
            }
        }
        assert!(msg.text.chars().count() <= MAX_TEXT);
    }

    #[test]
    fn relative_times() {
        let t = datetime!(2026-11-27 10:00 UTC);
        assert_eq!(relative(t, t), "just now");
        assert_eq!(relative(t, datetime!(2026-11-27 10:01 UTC)), "1 minute ago");
        assert_eq!(relative(t, datetime!(2026-11-27 13:00 UTC)), "3 hours ago");
        assert_eq!(relative(t, datetime!(2026-11-29 10:00 UTC)), "2 days ago");
    }

    #[test]
    fn mentions_only_for_slack_ids() {
        assert_eq!(mention(&UserRef::new("U123ABC", None)), "<@U123ABC>");
        assert_eq!(mention(&UserRef::new("bob", Some("bob".into()))), "bob");
        assert_eq!(mention(&UserRef::new("<!here>", None)), "&lt;!here&gt;");
    }
}
