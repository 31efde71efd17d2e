//! The neutral message model → Slack mrkdwn and Block Kit, within Slack's limits, always with a
//! top-level `text`.
//!
//! Escaping lives here and only here: every span's text goes through [`escape`] (`&`, `<`, `>`
//! as entities), so no text a person typed can become `<!channel>`, a mention or a link. Slack's
//! mrkdwn has no escape for `*`, `_` and `~`: in user text they may still read as emphasis,
//! which changes how text looks, never what it does.

#[cfg(test)]
use im_core::Incident;
use im_core::UserRef;
use im_core::action::{ActionRef, MAX_CUSTOM_ID};
use im_core::inbound::Visibility;
use im_core::message::{Block, Doc, Element, Fact, Span, Style, Text, rfc3339, truncate};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION: usize = 3000;
pub const MAX_HEADER: usize = 150;
pub const MAX_TEXT: usize = 4000;
const MAX_OPTION_TEXT: usize = 75;
const MAX_OPTION_VALUE: usize = 150;

/// A slash command response / message body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlackMessage {
    pub response_type: &'static str,
    pub text: String,
    pub blocks: Vec<Value>,
}

/// Escapes text for mrkdwn, so it cannot mention `@channel` or forge links.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// [`escape`], appending to `out`.
pub fn escape_into(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(i) = memchr::memchr3(b'&', b'<', b'>', rest.as_bytes()) {
        // ASCII bytes never fall inside a multi-byte character: `i` is a char boundary.
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            _ => "&gt;",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// A Slack id: `U123ABC`, `C0123`.
fn is_slack_id(id: &str, prefixes: &[u8]) -> bool {
    id.len() >= 2
        && prefixes.contains(&id.as_bytes()[0])
        && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Renders spans for one provider's workspace.
#[derive(Clone, Copy, Debug)]
pub struct Renderer<'a> {
    /// The provider the message is for: its users are mentioned, everyone else is named.
    pub provider: &'a str,
}

impl<'a> Renderer<'a> {
    pub fn new(provider: &'a str) -> Self {
        Self { provider }
    }

    /// `<@U123>` for a user of this workspace, the escaped name otherwise. Records from before
    /// users carried their provider are mentioned when their id is a Slack user id.
    pub fn mention(&self, user: &UserRef) -> String {
        let mut out = String::new();
        self.write_mention(&mut out, user);
        out
    }

    fn write_mention(&self, out: &mut String, user: &UserRef) {
        let ours = user.belongs_to(self.provider) || user.provider.is_none();
        if ours && is_slack_id(&user.id, b"UW") {
            out.push_str("<@");
            out.push_str(&user.id);
            out.push('>');
        } else {
            escape_into(out, user.display());
        }
    }

    pub fn span(&self, span: &Span) -> String {
        let mut out = String::new();
        self.write_span(&mut out, span);
        out
    }

    /// Appends one span as mrkdwn: its text escaped, inside the renderer's own markup.
    fn write_span(&self, out: &mut String, span: &Span) {
        let wrapped = |out: &mut String, marker: &str, s: &str| {
            out.push_str(marker);
            escape_into(out, s);
            out.push_str(marker);
        };
        match span {
            Span::Plain(s) => escape_into(out, s),
            Span::Bold(s) => wrapped(out, "*", s),
            Span::Italic(s) => wrapped(out, "_", s),
            Span::Code(s) if s.contains('`') => wrapped(out, "`", &s.replace('`', "'")),
            Span::Code(s) => wrapped(out, "`", s),
            Span::User(u) => self.write_mention(out, u),
            Span::Channel { id, .. } if is_slack_id(id, b"CG") => {
                out.push_str("<#");
                out.push_str(id);
                out.push('>');
            }
            Span::Channel { id, name } => {
                out.push('#');
                escape_into(out, name.as_deref().unwrap_or(id));
            }
            Span::Link { url, label } => {
                let safe = (url.starts_with("https://") || url.starts_with("http://"))
                    && !url.contains(['|', '<', '>', ' ', '\n']);
                if safe {
                    out.push('<');
                    out.push_str(url);
                    out.push('|');
                    escape_into(out, label);
                    out.push('>');
                } else {
                    escape_into(out, label);
                    out.push_str(" (");
                    escape_into(out, url);
                    out.push(')');
                }
            }
            Span::Time(t) => {
                let _ = write!(
                    out,
                    "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
                    t.unix_timestamp(),
                    rfc3339(*t)
                );
            }
        }
    }

    pub fn text(&self, text: &Text) -> String {
        let mut out = String::new();
        self.write_text(&mut out, text);
        out
    }

    fn write_text(&self, out: &mut String, text: &Text) {
        for span in text.spans() {
            self.write_span(out, span);
        }
    }

    fn facts(&self, rows: &[Vec<Fact>]) -> String {
        let mut out = String::new();
        for (r, row) in rows.iter().enumerate() {
            if r > 0 {
                out.push('\n');
            }
            for (i, fact) in row.iter().enumerate() {
                if i > 0 {
                    out.push_str("  |  ");
                }
                out.push('*');
                escape_into(&mut out, &fact.label);
                out.push_str(":* ");
                self.write_text(&mut out, &fact.value);
            }
        }
        out
    }

    /// One block as mrkdwn text (for text-only messages and thread replies).
    fn block_text(&self, block: &Block) -> Option<String> {
        match block {
            Block::Header(h) => Some(format!("*{}*", escape(h))),
            Block::Paragraph(t) | Block::Context(t) => Some(self.text(t)),
            Block::Facts(rows) => Some(self.facts(rows)),
            Block::Lines(lines) => Some(lines.iter().map(|l| self.text(l)).collect::<Vec<_>>().join("\n")),
            Block::Markup(m) => Some(m.render(escape)),
            Block::Buttons(_) | Block::Menus(_) => None,
        }
    }

    /// The whole document as one mrkdwn text.
    pub fn mrkdwn(&self, doc: &Doc) -> String {
        let parts: Vec<String> = doc.blocks.iter().filter_map(|b| self.block_text(b)).collect();
        truncate(&parts.join("\n"), MAX_TEXT)
    }

    /// The notification fallback: the document's summary, escaped.
    pub fn fallback(&self, doc: &Doc) -> String {
        truncate(&self.text(&doc.summary), MAX_TEXT)
    }

    /// Block Kit blocks for the document, at most [`MAX_BLOCKS`].
    pub fn blocks(&self, doc: &Doc) -> Vec<Value> {
        let incident = doc.card.as_ref().map(|c| c.incident.to_string()).unwrap_or_default();
        let mut blocks = Vec::new();
        for block in &doc.blocks {
            match block {
                Block::Header(h) => blocks.push(header(h)),
                Block::Paragraph(t) => blocks.push(section(&self.text(t))),
                Block::Facts(rows) => blocks.push(section(&self.facts(rows))),
                Block::Lines(lines) => blocks.extend(sections(lines.iter().map(|l| self.text(l)))),
                Block::Context(t) => blocks.push(context(&self.text(t))),
                Block::Markup(m) => blocks.push(section(&m.render(escape))),
                Block::Buttons(elements) => blocks.extend(self.actions("buttons", elements, &incident)),
                Block::Menus(elements) => blocks.extend(self.actions("menus", elements, &incident)),
            }
        }
        if blocks.len() > MAX_BLOCKS {
            blocks.truncate(MAX_BLOCKS - 1);
            blocks.push(context("…more not shown"));
        }
        blocks
    }

    /// One row of elements: `im:buttons:<id>` or `im:menus:<id>` (the block id names the
    /// incident for elements whose value does not). Slack refuses a block whose action ids
    /// repeat, so the second `im:answer` of a row is `im:answer#2` ([`action_key`] reads both).
    fn actions(&self, row: &str, elements: &[Element], incident: &str) -> Option<Value> {
        let id = elements.first().map(|e| e.incident().to_string())?;
        let id = if id.is_empty() { incident.to_string() } else { id };
        let mut seen: Vec<&str> = Vec::new();
        let rendered: Vec<Value> = elements
            .iter()
            .map(|e| {
                let key = e.action().id();
                seen.push(key);
                let mut element = self.element(e);
                let n = seen.iter().filter(|k| **k == key).count();
                if n > 1 {
                    element["action_id"] = json!(format!("{key}#{n}"));
                }
                element
            })
            .collect();
        Some(json!({
            "type": "actions",
            "block_id": format!("im:{row}:{id}"),
            "elements": rendered,
        }))
    }

    fn element(&self, element: &Element) -> Value {
        match element {
            Element::Button {
                action,
                label,
                style,
                incident,
                value,
            } => {
                let value = match value {
                    Some(v) => format!("{incident}|{v}"),
                    None => incident.to_string(),
                };
                let mut b = json!({
                    "type": "button",
                    "text": {"type": "plain_text", "text": truncate(label, MAX_OPTION_TEXT), "emoji": true},
                    "action_id": action.id(),
                    "value": value,
                });
                match style {
                    Style::Primary => b["style"] = json!("primary"),
                    Style::Danger => b["style"] = json!("danger"),
                    Style::Default => {}
                }
                b
            }
            Element::Select {
                action,
                placeholder,
                options,
                selected,
                incident,
            } => {
                let option = |label: &str, value: &str| {
                    let value = ActionRef::new(*action, incident.clone(), Some(value.to_string()));
                    // Slack carries the action id separately: the value is `INC-…|choice`.
                    let value = value
                        .encode()
                        .split_once('|')
                        .map(|(_, v)| v.to_string())
                        .unwrap_or_default();
                    json!({
                        "text": {"type": "plain_text", "text": truncate(label, MAX_OPTION_TEXT)},
                        "value": truncate(&value, MAX_OPTION_VALUE.min(MAX_CUSTOM_ID)),
                    })
                };
                let mut menu = json!({
                    "type": "static_select",
                    "action_id": action.id(),
                    "placeholder": {"type": "plain_text", "text": truncate(placeholder, MAX_OPTION_TEXT)},
                    "options": options.iter().take(100).map(|o| option(&o.label, &o.value)).collect::<Vec<_>>(),
                });
                if let Some(chosen) = selected.as_ref().and_then(|s| options.iter().find(|o| &o.value == s)) {
                    menu["initial_option"] = option(&chosen.label, &chosen.value);
                }
                menu
            }
            Element::UserSelect {
                action,
                placeholder,
                selected,
                ..
            } => {
                let mut menu = json!({
                    "type": "users_select",
                    "action_id": action.id(),
                    "placeholder": {"type": "plain_text", "text": truncate(placeholder, MAX_OPTION_TEXT)},
                });
                if let Some(user) = selected
                    && self.mention(user).starts_with("<@")
                {
                    menu["initial_user"] = json!(user.id);
                }
                menu
            }
        }
    }

    /// A command reply: `response_type`, escaped fallback `text`, blocks.
    pub fn reply(&self, doc: &Doc, visibility: Visibility) -> SlackMessage {
        SlackMessage {
            response_type: match visibility {
                Visibility::Channel => "in_channel",
                Visibility::Private => "ephemeral",
            },
            text: self.fallback(doc),
            blocks: self.blocks(doc),
        }
    }

    /// The body of `chat.postMessage` / `chat.update` (without channel and ts): an incident
    /// card as blocks with its version in the metadata; anything else as mrkdwn text.
    pub fn message(&self, doc: &Doc) -> Value {
        match &doc.card {
            Some(card) => json!({
                "text": self.fallback(doc),
                "blocks": self.blocks(doc),
                "metadata": {
                    "event_type": "im_incident",
                    "event_payload": {"incident_id": card.incident.as_str(), "version": card.version},
                },
            }),
            // A question's buttons (choices, "Yes, do it") need blocks; plain answers are text.
            None if doc.elements().next().is_some() => json!({
                "text": self.fallback(doc),
                "blocks": self.blocks(doc),
            }),
            None => json!({"text": self.mrkdwn(doc)}),
        }
    }
}

/// The action key of a rendered action id: `im:answer#2` is `im:answer` (Slack refuses repeated
/// action ids within a block, so a row's second `im:answer` carries `#2`).
pub fn action_key(action_id: &str) -> &str {
    action_id.split_once('#').map_or(action_id, |(key, _)| key)
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
    let mut current_chars = 0;
    for line in lines {
        let line = truncate(&line, MAX_SECTION);
        let chars = line.chars().count();
        if !current.is_empty() && current_chars + 1 + chars > MAX_SECTION {
            out.push(section(&current));
            current.clear();
            current_chars = 0;
        }
        if !current.is_empty() {
            current.push('\n');
            current_chars += 1;
        }
        current.push_str(&line);
        current_chars += chars;
    }
    if !current.is_empty() {
        out.push(section(&current));
    }
    out
}

/// The Status Update modal (`views.open`).
pub fn status_update_modal(incident: &Doc) -> Value {
    let id = incident
        .card
        .as_ref()
        .map(|c| c.incident.to_string())
        .unwrap_or_default();
    let title = Renderer::new("").text(&incident.summary);
    json!({
        "type": "modal",
        "callback_id": "im:status_update",
        "private_metadata": id,
        "title": {"type": "plain_text", "text": "Status update"},
        "submit": {"type": "plain_text", "text": "Add to timeline"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(&title, MAX_SECTION)}},
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "What changed?"},
                "element": {"type": "plain_text_input", "action_id": "note", "multiline": true, "max_length": 3000}
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use im_core::card::IncidentMessage;
    use im_core::incident::{IncidentId, Severity, Status};
    use im_core::provider::ProviderConfig;
    use im_core::reply::{CardKind, Reply};
    use im_core::timeline::EventKind;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn incident() -> Incident {
        let mut incident = im_core::memory::incident(1, Severity::Sev1, Status::Open);
        incident.title = "Checkout <!channel> & co".into();
        incident.description = Some("Multiple users reporting payment failures".into());
        incident.service = Some("Checkout".into());
        incident
    }

    fn acme() -> Renderer<'static> {
        Renderer::new("acme")
    }

    #[test]
    fn declared_card_matches_the_documented_shape() {
        let now = datetime!(2026-11-27 10:02 UTC);
        let reply = Reply::Card {
            kind: CardKind::Declared,
            incident: incident(),
            note: None,
        };
        let msg = acme().reply(&reply.doc(now), Visibility::Channel);
        assert_eq!(msg.response_type, "in_channel");
        assert!(msg.text.starts_with("🚨 New Incident Declared: INC-2026-001"));
        assert!(
            msg.text.contains("&lt;!channel&gt; &amp; co"),
            "the fallback text is escaped: {}",
            msg.text
        );
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
    fn notification_card_has_its_actions_and_version() {
        let mut inc = incident();
        inc.severity = Severity::Sev3;
        inc.version = 3;
        let config = ProviderConfig {
            services: vec!["checkout".into(), "payments".into()],
            ..ProviderConfig::default()
        };
        let doc = IncidentMessage::new(
            &inc,
            EventKind::IncidentCreated,
            &config,
            datetime!(2026-11-27 10:02 UTC),
        )
        .card("slack");
        let body = acme().message(&doc);
        assert_eq!(body["metadata"]["event_payload"]["version"], 3);
        let ids: Vec<&str> = body["blocks"]
            .as_array()
            .expect("blocks")
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().expect("elements"))
            .map(|e| e["action_id"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            ids,
            im_core::action::ActionKey::ALL.map(|k| k.id()),
            "every action, buttons first"
        );
        let all = body.to_string();
        assert!(
            all.contains("\"value\":\"INC-2026-001|SEV-1\""),
            "severity options carry the id: {all}"
        );
        assert!(all.contains("\"block_id\":\"im:menus:INC-2026-001\""));
        assert!(all.contains("\"initial_user\"") == inc.assignee.is_some());
        assert_eq!(
            body["text"],
            "INC-2026-001: Checkout &lt;!channel&gt; &amp; co (SEV-3, Open)"
        );
    }

    #[test]
    fn custom_actions_and_answers_have_unique_action_ids_per_block() {
        let config = ProviderConfig {
            actions: serde_json::from_value(json!([
                {"id": "rollback", "label": "Roll back", "style": "danger", "command": "deploy"},
                {"id": "handover", "label": "Handover", "command": "handover"},
                {"id": "runbook", "label": "Runbook", "command": "runbook",
                 "options": [{"label": "Restart pods", "value": "restart"}]}
            ]))
            .expect("actions"),
            ..ProviderConfig::default()
        };
        let inc = incident();
        let doc = IncidentMessage::new(&inc, EventKind::IncidentCreated, &config, inc.declared_at).card("slack");
        let blocks = acme().blocks(&doc);
        for block in blocks.iter().filter(|b| b["type"] == "actions") {
            let ids: Vec<&str> = block["elements"]
                .as_array()
                .expect("elements")
                .iter()
                .map(|e| e["action_id"].as_str().unwrap_or(""))
                .collect();
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), ids.len(), "{ids:?}");
        }
        let buttons = &blocks
            .iter()
            .find(|b| b["block_id"].as_str().is_some_and(|i| i.starts_with("im:buttons")))
            .expect("buttons")["elements"];
        let custom: Vec<(String, String, String)> = buttons
            .as_array()
            .expect("buttons")
            .iter()
            .filter(|b| b["action_id"].as_str().is_some_and(|a| action_key(a) == "im:custom"))
            .map(|b| {
                (
                    b["action_id"].as_str().unwrap_or("").to_string(),
                    b["value"].as_str().unwrap_or("").to_string(),
                    b["style"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            custom,
            [
                ("im:custom".into(), format!("{}|rollback", inc.id), "danger".into()),
                ("im:custom#2".into(), format!("{}|handover", inc.id), String::new()),
            ]
        );
        let menus = serde_json::to_string(&blocks).expect("json");
        assert!(
            menus.contains(&format!("\"value\":\"{}|runbook:restart\"", inc.id)),
            "{menus}"
        );
        let question = im_core::conversation::question_doc("Which one?", &[inc.clone(), inc.clone()]);
        let answers = acme().blocks(&question);
        let ids: Vec<&str> = answers[1]["elements"]
            .as_array()
            .expect("answers")
            .iter()
            .map(|e| e["action_id"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(ids, ["im:answer", "im:answer#2"]);
        let posted = acme().message(&question);
        assert_eq!(posted["text"], "Which one?");
        assert_eq!(
            posted["blocks"][1]["elements"][1]["action_id"], "im:answer#2",
            "a posted question carries its buttons"
        );
        let plain = acme().message(&Doc::new(Text::from("Nothing to click")));
        assert!(plain.get("blocks").is_none(), "a plain answer stays text: {plain}");
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
        let doc = Reply::List { incidents: many }.doc(datetime!(2026-11-27 11:00 UTC));
        let msg = acme().reply(&doc, Visibility::Private);
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
    fn mentions_only_for_users_of_this_workspace() {
        let r = acme();
        assert_eq!(r.mention(&UserRef::new("U123ABC", None).on("acme")), "<@U123ABC>");
        assert_eq!(r.mention(&UserRef::new("U123ABC", None)), "<@U123ABC>", "older records");
        assert_eq!(
            r.mention(&UserRef::new("U123ABC", Some("ann".into())).on("other-slack")),
            "ann",
            "another workspace's id means nothing here"
        );
        assert_eq!(r.mention(&UserRef::new("123456", Some("dee".into())).on("acme")), "dee");
        assert_eq!(r.mention(&UserRef::new("bob", Some("bob".into()))), "bob");
        assert_eq!(r.mention(&UserRef::new("<!here>", None)), "&lt;!here&gt;");
        assert_eq!(
            r.span(&Span::Channel {
                id: "C1".into(),
                name: None
            }),
            "<#C1>"
        );
        assert_eq!(
            r.span(&Span::Channel {
                id: "1234".into(),
                name: Some("<!channel>".into())
            }),
            "#&lt;!channel&gt;"
        );
    }

    #[test]
    fn links_are_only_made_from_safe_urls() {
        let r = acme();
        let link = |url: &str, label: &str| {
            r.span(&Span::Link {
                url: url.into(),
                label: label.into(),
            })
        };
        assert_eq!(
            link("https://status.example.com", "status"),
            "<https://status.example.com|status>"
        );
        assert_eq!(
            link("https://x|evil", "<!channel>"),
            "&lt;!channel&gt; (https://x|evil)"
        );
        assert_eq!(link("javascript:alert(1)", "x"), "x (javascript:alert(1))");
    }

    /// What Slack would treat as control sequences in mrkdwn: anything in angle brackets.
    fn controls(mrkdwn: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = mrkdwn;
        while let Some(open) = rest.find('<') {
            match rest[open..].find('>') {
                Some(close) => {
                    out.push(rest[open..open + close + 1].to_string());
                    rest = &rest[open + close + 1..];
                }
                None => break,
            }
        }
        out
    }

    proptest! {
        /// Whatever a person types reaches Slack as literal text: no control sequence, and
        /// Slack's unescaping gives back exactly what was typed.
        #[test]
        fn user_text_is_always_literal(text in "\\PC{0,80}|[<>&@!#|a-z ]{0,40}") {
            let r = acme();
            for (span, marker) in [
                (Span::Plain(text.clone()), ""),
                (Span::Bold(text.clone()), "*"),
                (Span::Italic(text.clone()), "_"),
            ] {
                let out = r.span(&span);
                prop_assert!(controls(&out).is_empty(), "{out}");
                let inner = out
                    .strip_prefix(marker)
                    .and_then(|o| o.strip_suffix(marker))
                    .unwrap_or_default();
                prop_assert_eq!(crate::text::unescape_entities(inner), text.clone());
            }
            // In a whole card, every control sequence is one the renderer made.
            let mut inc = incident();
            inc.title = text.clone();
            inc.description = Some(text.clone());
            inc.resolution = Some(text.clone());
            let doc = IncidentMessage::new(&inc, EventKind::IncidentResolved, &ProviderConfig::default(), inc.declared_at)
                .card("slack");
            let body = r.message(&doc).to_string();
            for c in controls(&body) {
                prop_assert!(c == "<@U1>" || c.starts_with("<!date^"), "{c} in {body}");
            }
        }
    }
}
