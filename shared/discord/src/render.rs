//! The neutral message model → Discord messages: embeds within every embed limit, components
//! (a row of buttons, then one select per row), Discord markdown with user text escaped, and
//! `allowed_mentions` built from explicit user spans only, so `@everyone` in a title pings no one.

use std::collections::BTreeSet;

use im_core::UserRef;
use im_core::action::ActionRef;
use im_core::message::{Block, Doc, Element, Fact, Span, Style, Text, truncate};
use serde::Serialize;
use serde_json::Value;

pub const MAX_CONTENT: usize = 2000;
pub const MAX_TITLE: usize = 256;
pub const MAX_DESCRIPTION: usize = 4096;
pub const MAX_FIELDS: usize = 25;
pub const MAX_FIELD_NAME: usize = 256;
pub const MAX_FIELD_VALUE: usize = 1024;
pub const MAX_FOOTER: usize = 2048;
/// The sum of every embed's title, description, field names and values and footer.
pub const MAX_EMBED_TOTAL: usize = 6000;
const MAX_LABEL: usize = 80;
const MAX_OPTIONS: usize = 25;
const MAX_PLACEHOLDER: usize = 150;

/// A zero-width space: placed after `@` so `@everyone` never even looks like a mention.
const ZWSP: char = '\u{200B}';

/// Escapes Discord markdown (and defuses `@` mentions) in literal text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '#' | '-' | '[' | ']' | '(' | ')' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => {
                out.push('@');
                out.push(ZWSP);
            }
            c => out.push(c),
        }
    }
}

/// What a reader sees of escaped text (backslashes and zero-width spaces taken out).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            ZWSP => {}
            c => out.push(c),
        }
    }
    out
}

fn is_snowflake(id: &str) -> bool {
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Renders for one provider (its users are mentioned, everyone else named), collecting the
/// users a message may ping.
#[derive(Debug)]
pub struct Renderer<'a> {
    pub provider: &'a str,
    mentioned: BTreeSet<String>,
}

impl<'a> Renderer<'a> {
    pub fn new(provider: &'a str) -> Self {
        Self {
            provider,
            mentioned: BTreeSet::new(),
        }
    }

    fn mention(&mut self, out: &mut String, user: &UserRef) {
        if user.belongs_to(self.provider) && is_snowflake(&user.id) {
            out.push_str("<@");
            out.push_str(&user.id);
            out.push('>');
            self.mentioned.insert(user.id.clone());
        } else {
            escape_into(out, user.display());
        }
    }

    fn span(&mut self, out: &mut String, span: &Span) {
        match span {
            Span::Plain(s) => escape_into(out, s),
            Span::Bold(s) => {
                out.push_str("**");
                escape_into(out, s);
                out.push_str("**");
            }
            Span::Italic(s) => {
                out.push('*');
                escape_into(out, s);
                out.push('*');
            }
            // Markdown is not read inside code; a backtick would end it, and `@` still shows.
            Span::Code(s) => {
                out.push('`');
                out.push_str(&s.replace('`', "'").replace('@', "@\u{200B}"));
                out.push('`');
            }
            Span::User(u) => self.mention(out, u),
            Span::Channel { id, .. } if is_snowflake(id) => {
                out.push_str("<#");
                out.push_str(id);
                out.push('>');
            }
            Span::Channel { id, name } => {
                out.push_str("\\#");
                escape_into(out, name.as_deref().unwrap_or(id));
            }
            Span::Link { url, label } => {
                let safe = url.starts_with("https://") && !url.contains([' ', '(', ')', '<', '>', '\n']);
                if safe {
                    out.push('[');
                    escape_into(out, label);
                    out.push_str("](");
                    out.push_str(url);
                    out.push(')');
                } else {
                    escape_into(out, label);
                    out.push_str(" (");
                    escape_into(out, url);
                    out.push(')');
                }
            }
            Span::Time(t) => out.push_str(&format!("<t:{}:f>", t.unix_timestamp())),
        }
    }

    pub fn text(&mut self, text: &Text) -> String {
        let mut out = String::new();
        self.text_into(&mut out, text);
        out
    }

    fn facts(&mut self, rows: &[Vec<Fact>], into: &mut Vec<Field>) {
        for f in rows.iter().flatten() {
            let value = self.text(&f.value);
            into.push(Field {
                name: truncate(&escape(&f.label), MAX_FIELD_NAME),
                value: if value.is_empty() {
                    "—".to_string()
                } else {
                    truncate(&value, MAX_FIELD_VALUE)
                },
                inline: true,
            });
        }
    }

    /// The document as plain message content (thread replies, one-off messages).
    pub fn content(&mut self, doc: &Doc) -> String {
        let mut lines = Vec::new();
        for block in &doc.blocks {
            match block {
                Block::Header(h) => lines.push(format!("**{}**", escape(h))),
                Block::Paragraph(t) | Block::Context(t) => lines.push(self.text(t)),
                Block::Lines(ls) => lines.extend(ls.iter().map(|l| self.text(l))),
                Block::Facts(rows) => lines.extend(rows.iter().flatten().map(|f| {
                    let value = self.text(&f.value);
                    format!("**{}:** {value}", escape(&f.label))
                })),
                Block::Markup(m) => lines.push(m.render(escape)),
                Block::Buttons(_) | Block::Menus(_) => {}
            }
        }
        truncate(&lines.join("\n"), MAX_CONTENT)
    }

    /// One embed for the document: the header as its title, facts as inline fields, the last
    /// small print as its footer, everything else as its description; every limit kept.
    pub fn embed(&mut self, doc: &Doc) -> Embed {
        let mut title = None;
        let mut description = String::new();
        let mut fields = Vec::new();
        let mut footer = None;
        let last_context = doc.blocks.iter().rposition(|b| matches!(b, Block::Context(_)));
        let line = |description: &mut String| {
            if !description.is_empty() {
                description.push('\n');
            }
        };
        for (i, block) in doc.blocks.iter().enumerate() {
            match block {
                Block::Header(h) if title.is_none() => title = Some(truncate(h, MAX_TITLE)),
                Block::Header(h) => {
                    line(&mut description);
                    description.push_str("**");
                    escape_into(&mut description, h);
                    description.push_str("**");
                }
                Block::Context(t) if Some(i) == last_context => footer = Some(unescape(&self.text(t))),
                Block::Paragraph(t) | Block::Context(t) => {
                    line(&mut description);
                    self.text_into(&mut description, t);
                }
                Block::Lines(ls) => {
                    for l in ls {
                        line(&mut description);
                        self.text_into(&mut description, l);
                    }
                }
                Block::Facts(rows) => self.facts(rows, &mut fields),
                Block::Markup(m) => {
                    line(&mut description);
                    description.push_str(&m.render(escape));
                }
                Block::Buttons(_) | Block::Menus(_) => {}
            }
        }
        fields.truncate(MAX_FIELDS);
        let mut budget = MAX_EMBED_TOTAL;
        let mut take = |text: &str, max: usize| {
            let text = truncate(text, max.min(budget));
            budget = budget.saturating_sub(text.chars().count());
            text
        };
        let title = title.map(|t| take(&t, MAX_TITLE));
        for field in &mut fields {
            let name = take(&field.name, MAX_FIELD_NAME);
            let value = take(&field.value, MAX_FIELD_VALUE);
            field.name = if name.is_empty() { "…".to_string() } else { name };
            field.value = if value.is_empty() { "…".to_string() } else { value };
        }
        let footer = footer
            .map(|f| take(&f, MAX_FOOTER))
            .filter(|f| !f.is_empty())
            .map(|text| Footer { text });
        let description = Some(take(&description, MAX_DESCRIPTION)).filter(|d| !d.is_empty());
        Embed {
            title,
            description,
            fields,
            footer,
        }
    }

    fn text_into(&mut self, out: &mut String, text: &Text) {
        for span in text.spans() {
            self.span(out, span);
        }
    }

    /// Action rows: the buttons in one row (at most 5), then one select per row (at most 4).
    pub fn components(&mut self, doc: &Doc) -> Vec<Row> {
        let mut rows = Vec::new();
        for block in &doc.blocks {
            match block {
                Block::Buttons(elements) if !elements.is_empty() => {
                    let buttons = elements.iter().take(5).map(|e| self.element(e)).collect();
                    rows.push(Row::new(buttons));
                }
                Block::Menus(elements) => {
                    rows.extend(elements.iter().map(|e| Row::new(vec![self.element(e)])));
                }
                _ => {}
            }
        }
        rows.truncate(5);
        // Custom ids are unique within a message: a second menu of the same kind (two custom
        // menus) gets `|n` after its id, which the chosen value then replaces.
        let mut seen: Vec<String> = Vec::new();
        for component in rows.iter_mut().flat_map(|r| r.components.iter_mut()) {
            let n = seen.iter().filter(|id| **id == component.custom_id).count();
            seen.push(component.custom_id.clone());
            if n > 0 && component.kind != 2 {
                component.custom_id = format!("{}|{}", component.custom_id, n + 1);
            }
        }
        rows
    }

    fn element(&self, element: &Element) -> Component {
        let value = match element {
            Element::Button { value, .. } => value.clone(),
            _ => None,
        };
        let custom_id = ActionRef::new(element.action(), element.incident().clone(), value).encode();
        match element {
            Element::Button { label, style, .. } => Component {
                kind: 2,
                style: Some(match style {
                    Style::Primary => 1,
                    Style::Default => 2,
                    Style::Danger => 4,
                }),
                label: Some(truncate(label, MAX_LABEL)),
                custom_id,
                ..Component::default()
            },
            Element::Select {
                placeholder,
                options,
                selected,
                ..
            } => Component {
                kind: 3,
                custom_id,
                placeholder: Some(truncate(placeholder, MAX_PLACEHOLDER)),
                options: Some(
                    options
                        .iter()
                        .take(MAX_OPTIONS)
                        .map(|o| SelectOption {
                            label: truncate(&o.label, 100),
                            value: truncate(&o.value, 100),
                            default: selected.as_deref() == Some(o.value.as_str()),
                        })
                        .collect(),
                ),
                ..Component::default()
            },
            Element::UserSelect {
                placeholder, selected, ..
            } => Component {
                kind: 5,
                custom_id,
                placeholder: Some(truncate(placeholder, MAX_PLACEHOLDER)),
                default_values: selected
                    .as_ref()
                    .filter(|u| u.belongs_to(self.provider) && is_snowflake(&u.id))
                    .map(|u| {
                        vec![DefaultValue {
                            id: u.id.clone(),
                            kind: "user",
                        }]
                    }),
                ..Component::default()
            },
        }
    }

    /// Who the message may ping: only the users it names explicitly; never roles, `@everyone`
    /// or `@here`.
    pub fn allowed_mentions(&self) -> AllowedMentions {
        AllowedMentions {
            parse: [],
            users: Some(self.mentioned.iter().cloned().collect()),
        }
    }

    /// What replaces a clicked message (`UPDATE_MESSAGE`). Discord keeps whatever an update
    /// leaves out, so the buttons of an answered question are cleared when the answer has none.
    pub fn replacement(&mut self, doc: &Doc) -> Message {
        let mut message = self.message(doc);
        message.components.get_or_insert_with(Vec::new);
        message
    }

    /// A whole message body: an incident card as an embed with components; anything else as
    /// content, with its buttons when it has any (a question's choices).
    pub fn message(&mut self, doc: &Doc) -> Message {
        let mut message = if doc.card.is_some()
            || doc
                .blocks
                .iter()
                .any(|b| matches!(b, Block::Header(_) | Block::Facts(_)))
        {
            Message {
                embeds: vec![self.embed(doc)],
                components: Some(self.components(doc)),
                ..Message::default()
            }
        } else {
            // A question's buttons (choices, "Yes, do it") come with the text.
            let components = doc.elements().next().is_some().then(|| self.components(doc));
            Message {
                content: Some(self.content(doc)),
                components,
                ..Message::default()
            }
        };
        message.allowed_mentions = self.allowed_mentions();
        message
    }
}

/// A message body as Discord takes it (create, edit, interaction answers, follow-ups).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Message {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub embeds: Vec<Embed>,
    /// `Some(vec![])` on a card clears the buttons of a message that had them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<Row>>,
    pub allowed_mentions: AllowedMentions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub enforce_nonce: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_reference: Option<Reference>,
}

/// `parse: []` always: nothing is pinged for being written; `users` lists who may be.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AllowedMentions {
    pub parse: [&'static str; 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Reference {
    pub message_id: String,
    pub fail_if_not_exists: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Embed {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<Footer>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Footer {
    pub text: String,
}

/// An action row (type 1).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    #[serde(rename = "type")]
    pub kind: u8,
    pub components: Vec<Component>,
}

impl Row {
    fn new(components: Vec<Component>) -> Self {
        Self { kind: 1, components }
    }
}

/// A button (2), string select (3) or user select (5).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Component {
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub custom_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<SelectOption>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_values: Option<Vec<DefaultValue>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SelectOption {
    pub label: String,
    pub value: String,
    pub default: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct DefaultValue {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// Every string a message shows, as a person reads it (tests, previews).
pub fn visible_text(body: &Value) -> String {
    let mut out = Vec::new();
    let mut push = |v: &Value| {
        if let Some(s) = v.as_str() {
            out.push(unescape(s));
        }
    };
    push(&body["content"]);
    for embed in body["embeds"].as_array().into_iter().flatten() {
        push(&embed["title"]);
        push(&embed["description"]);
        for field in embed["fields"].as_array().into_iter().flatten() {
            push(&field["name"]);
            push(&field["value"]);
        }
        push(&embed["footer"]["text"]);
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use im_core::card::IncidentMessage;
    use im_core::incident::{Incident, Severity, Status};
    use im_core::provider::ProviderConfig;
    use im_core::timeline::EventKind;
    use proptest::prelude::*;
    use serde_json::json;

    fn json(v: &impl Serialize) -> Value {
        serde_json::to_value(v).expect("serializes")
    }

    fn incident() -> Incident {
        let mut i = im_core::memory::incident(1, Severity::Sev2, Status::Open);
        i.title = "@everyone <@&123> **DB** down".into();
        i.service = Some("checkout".into());
        i
    }

    fn card(inc: &Incident) -> Doc {
        let config = ProviderConfig {
            services: vec!["checkout".into(), "payments".into()],
            ..ProviderConfig::default()
        };
        IncidentMessage::new(inc, EventKind::IncidentCreated, &config, inc.declared_at).card("discord")
    }

    fn embed_total(embed: &Value) -> usize {
        let len = |v: &Value| v.as_str().map(|s| s.chars().count()).unwrap_or(0);
        len(&embed["title"])
            + len(&embed["description"])
            + len(&embed["footer"]["text"])
            + embed["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| len(&f["name"]) + len(&f["value"]))
                .sum::<usize>()
    }

    #[test]
    fn a_card_is_an_embed_with_its_actions_and_pings_no_one() {
        let mut r = Renderer::new("guild");
        let body = json(&r.message(&card(&incident())));
        assert_eq!(body["allowed_mentions"], json!({"parse": [], "users": []}));
        let embed = &body["embeds"][0];
        assert!(embed["footer"]["text"].as_str().unwrap_or("").contains("version 1"));
        let visible = visible_text(&body);
        assert!(
            visible.contains("@everyone <@&123> **DB** down"),
            "shown literally: {visible}"
        );
        let raw = body.to_string();
        assert!(
            !raw.contains("@everyone") && !raw.contains("<@&123>"),
            "nothing live: {raw}"
        );
        let rows = body["components"].as_array().expect("rows");
        assert_eq!(
            rows.len(),
            5,
            "buttons, then severity, service, assignee and status selects"
        );
        let ids: Vec<&str> = rows
            .iter()
            .flat_map(|r| r["components"].as_array().into_iter().flatten())
            .map(|c| c["custom_id"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(ids[0], "im:ack|INC-2026-001");
        assert!(ids.iter().all(|id| id.len() <= 100));
        assert_eq!(rows[0]["components"].as_array().map(Vec::len), Some(5));
        assert_eq!(rows[3]["components"][0]["type"], 5, "a user select for the assignee");
    }

    #[test]
    fn custom_actions_fill_free_places_and_wait_behind_more_when_rows_are_full() {
        let config = |services: Vec<String>| ProviderConfig {
            services,
            actions: serde_json::from_value(json!([
                {"id": "rollback", "label": "Roll back", "style": "danger", "command": "deploy"},
                {"id": "runbook", "label": "Runbook", "command": "runbook",
                 "options": [{"label": "Restart pods", "value": "restart"}]},
                {"id": "oncall", "label": "Page", "command": "page",
                 "options": [{"label": "DBA", "value": "dba"}]}
            ]))
            .expect("actions"),
            ..ProviderConfig::default()
        };
        let rows_of = |inc: &Incident, config: &ProviderConfig| {
            let doc = IncidentMessage::new(inc, EventKind::IncidentCreated, config, inc.declared_at).card("discord");
            json(&Renderer::new("guild").message(&doc))["components"].clone()
        };
        let ids = |rows: &Value| -> Vec<String> {
            rows.as_array()
                .into_iter()
                .flatten()
                .flat_map(|r| r["components"].as_array().cloned().unwrap_or_default())
                .map(|c| c["custom_id"].as_str().unwrap_or("").to_string())
                .collect()
        };
        let open = incident();
        let full = rows_of(&open, &config(vec!["checkout".into()]));
        let rows = full.as_array().expect("rows");
        assert_eq!(rows.len(), 5);
        assert!(rows.iter().all(|r| r["components"].as_array().map_or(0, Vec::len) <= 5));
        let more = &rows[4]["components"][0];
        assert_eq!(
            (more["custom_id"].as_str(), more["placeholder"].as_str()),
            (Some("im:more|INC-2026-001"), Some("More…"))
        );
        let values: Vec<&str> = more["options"]
            .as_array()
            .expect("options")
            .iter()
            .map(|o| o["value"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            values,
            [
                "im:transition|acknowledge",
                "im:transition|resolve",
                "im:custom|rollback",
                "im:custom|runbook:restart",
                "im:custom|oncall:dba"
            ]
        );
        // Acknowledged, without services: the button fits the first row, both menus their own
        // rows (the second custom menu's id made unique).
        let mut acked = incident();
        acked.status = Status::Acknowledged;
        acked.severity = Severity::Sev1;
        let roomy = ids(&rows_of(&acked, &config(Vec::new())));
        assert!(
            roomy.contains(&"im:custom|INC-2026-001|rollback".to_string()),
            "{roomy:?}"
        );
        let mut resolved = incident();
        resolved.status = Status::Resolved;
        let all = ids(&rows_of(&resolved, &config(Vec::new())));
        assert!(
            all.contains(&"im:custom|INC-2026-001".to_string())
                && all.contains(&"im:custom|INC-2026-001|2".to_string()),
            "two custom menus, each in its row: {all:?}"
        );
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all.len(), "{all:?}");
    }

    #[test]
    fn a_question_carries_its_buttons_and_plain_text_none() {
        let choices = [incident(), {
            let mut other = incident();
            other.id = im_core::IncidentId::new(2026, 2);
            other
        }];
        let question = im_core::conversation::question_doc("Which one?", &choices);
        let body = json(&Renderer::new("guild").message(&question));
        assert_eq!(body["content"], "Which one?");
        let ids: Vec<&str> = body["components"][0]["components"]
            .as_array()
            .expect("buttons")
            .iter()
            .map(|c| c["custom_id"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(ids, ["im:answer|INC-2026-001", "im:answer|INC-2026-002"]);
        let answer = Doc::new(Text::from("Nothing to click"));
        let plain = json(&Renderer::new("guild").message(&answer));
        assert!(plain.get("components").is_none(), "{plain}");
        let replacing = json(&Renderer::new("guild").replacement(&answer));
        assert_eq!(replacing["components"], json!([]), "the answered question's buttons go");
        let card = json(&Renderer::new("guild").replacement(&card(&incident())));
        assert_eq!(
            card["components"].as_array().map(Vec::len),
            Some(5),
            "a card keeps its own"
        );
    }

    #[test]
    fn mentions_only_for_this_servers_users() {
        let mut r = Renderer::new("guild");
        let t = Text::new()
            .user(&UserRef::new("80351110224678912", Some("nelly".into())).on("guild"))
            .plain(" ")
            .user(&UserRef::new("U123", Some("slacker".into())).on("slack-acme"));
        assert_eq!(r.text(&t), "<@80351110224678912> slacker");
        assert_eq!(json(&r.allowed_mentions())["users"], json!(["80351110224678912"]));
    }

    #[test]
    fn a_maximal_incident_stays_within_every_embed_limit() {
        let mut inc = incident();
        inc.title = "T".repeat(150);
        inc.description = Some("d".repeat(3000));
        inc.resolution = Some("r".repeat(3000));
        inc.service = Some("s".repeat(64));
        let body = json(&Renderer::new("guild").message(&card(&inc)));
        let embed = &body["embeds"][0];
        assert!(embed_total(embed) <= MAX_EMBED_TOTAL, "{}", embed_total(embed));
        assert!(embed["description"].as_str().map(|d| d.chars().count()).unwrap_or(0) <= MAX_DESCRIPTION);
        for f in embed["fields"].as_array().into_iter().flatten() {
            assert!(f["value"].as_str().map(|v| v.chars().count()).unwrap_or(0) <= MAX_FIELD_VALUE);
        }
    }

    proptest! {
        /// Whatever a person types is shown literally: unescaping gives it back, and it adds no
        /// markup (no unescaped markdown character, no live mention).
        #[test]
        fn user_text_is_always_literal(text in "\\PC{0,80}|[@<>*_~`|#:()\\[\\]\\\\a-z ]{0,40}") {
            let out = escape(&text);
            prop_assert_eq!(unescape(&out), text.clone());
            let mut it = out.chars().peekable();
            while let Some(c) = it.next() {
                match c {
                    '\\' => {
                        it.next();
                    }
                    '*' | '_' | '~' | '`' | '|' | '<' | '>' => prop_assert!(false, "{} unescaped in {}", c, out),
                    '@' => prop_assert_eq!(it.peek(), Some(&ZWSP)),
                    _ => {}
                }
            }
        }
    }
}
