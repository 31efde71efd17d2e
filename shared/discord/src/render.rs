//! The neutral message model → Discord messages: embeds within every embed limit, components
//! (a row of buttons, then one select per row), Discord markdown with user text escaped, and
//! `allowed_mentions` built from explicit user spans only, so `@everyone` in a title pings no one.

use std::collections::BTreeSet;

use im_core::UserRef;
use im_core::action::ActionRef;
use im_core::message::{Block, Doc, Element, Fact, Span, Style, Text, truncate};
use serde_json::{Value, json};

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
        for span in text.spans() {
            self.span(&mut out, span);
        }
        out
    }

    fn facts(&mut self, rows: &[Vec<Fact>]) -> Vec<Value> {
        rows.iter()
            .flatten()
            .map(|f| {
                let value = self.text(&f.value);
                json!({
                    "name": truncate(&escape(&f.label), MAX_FIELD_NAME),
                    "value": truncate(if value.is_empty() { "—" } else { &value }, MAX_FIELD_VALUE),
                    "inline": true,
                })
            })
            .collect()
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
    pub fn embed(&mut self, doc: &Doc) -> Value {
        let mut title = None;
        let mut description = Vec::new();
        let mut fields = Vec::new();
        let mut footer = None;
        let last_context = doc.blocks.iter().rposition(|b| matches!(b, Block::Context(_)));
        for (i, block) in doc.blocks.iter().enumerate() {
            match block {
                Block::Header(h) if title.is_none() => title = Some(truncate(h, MAX_TITLE)),
                Block::Header(h) => description.push(format!("**{}**", escape(h))),
                Block::Context(t) if Some(i) == last_context => footer = Some(unescape(&self.text(t))),
                Block::Paragraph(t) | Block::Context(t) => description.push(self.text(t)),
                Block::Lines(ls) => description.extend(ls.iter().map(|l| self.text(l))),
                Block::Facts(rows) => fields.extend(self.facts(rows)),
                Block::Markup(m) => description.push(m.render(escape)),
                Block::Buttons(_) | Block::Menus(_) => {}
            }
        }
        fields.truncate(MAX_FIELDS);
        let mut embed = json!({});
        let mut budget = MAX_EMBED_TOTAL;
        let mut take = |text: &str, max: usize| {
            let text = truncate(text, max.min(budget));
            budget = budget.saturating_sub(text.chars().count());
            text
        };
        if let Some(title) = title {
            embed["title"] = json!(take(&title, MAX_TITLE));
        }
        for field in &mut fields {
            let name = take(field["name"].as_str().unwrap_or(""), MAX_FIELD_NAME);
            let value = take(field["value"].as_str().unwrap_or(""), MAX_FIELD_VALUE);
            field["name"] = json!(if name.is_empty() { "…".to_string() } else { name });
            field["value"] = json!(if value.is_empty() { "…".to_string() } else { value });
        }
        if let Some(footer) = footer {
            let footer = take(&footer, MAX_FOOTER);
            if !footer.is_empty() {
                embed["footer"] = json!({ "text": footer });
            }
        }
        let description = take(&description.join("\n"), MAX_DESCRIPTION);
        if !description.is_empty() {
            embed["description"] = json!(description);
        }
        if !fields.is_empty() {
            embed["fields"] = json!(fields);
        }
        embed
    }

    /// Action rows: the buttons in one row (at most 5), then one select per row (at most 4).
    pub fn components(&mut self, doc: &Doc) -> Vec<Value> {
        let mut rows = Vec::new();
        for block in &doc.blocks {
            match block {
                Block::Buttons(elements) if !elements.is_empty() => {
                    let buttons: Vec<Value> = elements.iter().take(5).map(|e| self.element(e)).collect();
                    rows.push(json!({"type": 1, "components": buttons}));
                }
                Block::Menus(elements) => {
                    rows.extend(
                        elements
                            .iter()
                            .map(|e| json!({"type": 1, "components": [self.element(e)]})),
                    );
                }
                _ => {}
            }
        }
        rows.truncate(5);
        rows
    }

    fn element(&self, element: &Element) -> Value {
        let custom_id = ActionRef::new(element.action(), element.incident().clone(), None).encode();
        match element {
            Element::Button { label, style, .. } => json!({
                "type": 2,
                "style": match style { Style::Primary => 1, Style::Default => 2, Style::Danger => 4 },
                "label": truncate(label, MAX_LABEL),
                "custom_id": custom_id,
            }),
            Element::Select {
                placeholder,
                options,
                selected,
                ..
            } => json!({
                "type": 3,
                "custom_id": custom_id,
                "placeholder": truncate(placeholder, MAX_PLACEHOLDER),
                "options": options.iter().take(MAX_OPTIONS).map(|o| json!({
                    "label": truncate(&o.label, 100),
                    "value": truncate(&o.value, 100),
                    "default": selected.as_deref() == Some(o.value.as_str()),
                })).collect::<Vec<_>>(),
            }),
            Element::UserSelect {
                placeholder, selected, ..
            } => {
                let mut select = json!({
                    "type": 5,
                    "custom_id": custom_id,
                    "placeholder": truncate(placeholder, MAX_PLACEHOLDER),
                });
                if let Some(user) = selected
                    .as_ref()
                    .filter(|u| u.belongs_to(self.provider) && is_snowflake(&u.id))
                {
                    select["default_values"] = json!([{"id": user.id, "type": "user"}]);
                }
                select
            }
        }
    }

    /// Who the message may ping: only the users it names explicitly; never roles, `@everyone`
    /// or `@here`.
    pub fn allowed_mentions(&self) -> Value {
        json!({"parse": [], "users": self.mentioned.iter().collect::<Vec<_>>()})
    }

    /// A whole message body: an incident card as an embed with components; anything else as
    /// content.
    pub fn message(&mut self, doc: &Doc) -> Value {
        let mut body = if doc.card.is_some()
            || doc
                .blocks
                .iter()
                .any(|b| matches!(b, Block::Header(_) | Block::Facts(_)))
        {
            let embed = self.embed(doc);
            let components = self.components(doc);
            json!({"embeds": [embed], "components": components})
        } else {
            json!({"content": self.content(doc)})
        };
        body["allowed_mentions"] = self.allowed_mentions();
        body
    }
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
        let body = r.message(&card(&incident()));
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
    fn mentions_only_for_this_servers_users() {
        let mut r = Renderer::new("guild");
        let t = Text::new()
            .user(&UserRef::new("80351110224678912", Some("nelly".into())).on("guild"))
            .plain(" ")
            .user(&UserRef::new("U123", Some("slacker".into())).on("slack-acme"));
        assert_eq!(r.text(&t), "<@80351110224678912> slacker");
        assert_eq!(r.allowed_mentions()["users"], json!(["80351110224678912"]));
    }

    #[test]
    fn a_maximal_incident_stays_within_every_embed_limit() {
        let mut inc = incident();
        inc.title = "T".repeat(150);
        inc.description = Some("d".repeat(3000));
        inc.resolution = Some("r".repeat(3000));
        inc.service = Some("s".repeat(64));
        let body = Renderer::new("guild").message(&card(&inc));
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
