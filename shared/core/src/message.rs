//! The neutral message model. Every reply, incident card, timeline line and summary is built once
//! here as a [`Doc`]; each platform renders it to its own format (Block Kit, embeds, Adaptive
//! Cards, Markdown) and owns its escaping and its limits.
//!
//! User text (titles, notes, names) only ever travels as the text of a [`Span`], and every
//! renderer escapes every span's text, so nothing a person types can become markup: no
//! `@channel`, no forged mention, no planted link. The only markup that reaches a platform is the
//! renderer's own, and an operator's template (whose field values the renderer escapes).

use time::OffsetDateTime;

use crate::incident::{IncidentId, UserRef};
use crate::template::{Template, TemplateValues};

/// A run of text with one meaning. Every string in a span is literal text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Span {
    Plain(String),
    Bold(String),
    Italic(String),
    Code(String),
    /// A person: a real mention where the user belongs to the provider being rendered for,
    /// their escaped name elsewhere.
    User(UserRef),
    /// A channel of the provider being rendered for.
    Channel {
        id: String,
        name: Option<String>,
    },
    /// A link with a label; the renderer decides whether its platform can show it safely.
    Link {
        url: String,
        label: String,
    },
    /// A point in time, shown in the reader's time zone where the platform can.
    Time(OffsetDateTime),
}

impl Span {
    /// The span as plain text (fallbacks, logs, text-only surfaces).
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        self.write_plain(&mut out);
        out
    }

    /// [`Self::plain_text`], appending to `out`.
    pub fn write_plain(&self, out: &mut String) {
        match self {
            Span::Plain(s) | Span::Bold(s) | Span::Italic(s) | Span::Code(s) => out.push_str(s),
            Span::User(u) => {
                out.push('@');
                out.push_str(u.display());
            }
            Span::Channel { id, name } => {
                out.push('#');
                out.push_str(name.as_deref().unwrap_or(id));
            }
            Span::Link { label, url } if label.is_empty() => out.push_str(url),
            Span::Link { label, .. } => out.push_str(label),
            Span::Time(t) => out.push_str(&rfc3339(*t)),
        }
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A line of spans.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text(pub Vec<Span>);

impl Text {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn plain(mut self, s: impl Into<String>) -> Self {
        self.push(Span::Plain(s.into()));
        self
    }

    pub fn bold(mut self, s: impl Into<String>) -> Self {
        self.push(Span::Bold(s.into()));
        self
    }

    pub fn italic(mut self, s: impl Into<String>) -> Self {
        self.push(Span::Italic(s.into()));
        self
    }

    pub fn code(mut self, s: impl Into<String>) -> Self {
        self.push(Span::Code(s.into()));
        self
    }

    pub fn user(mut self, u: &UserRef) -> Self {
        self.push(Span::User(u.clone()));
        self
    }

    pub fn time(mut self, t: OffsetDateTime) -> Self {
        self.push(Span::Time(t));
        self
    }

    pub fn channel(mut self, id: impl Into<String>, name: Option<String>) -> Self {
        self.push(Span::Channel { id: id.into(), name });
        self
    }

    pub fn push(&mut self, span: Span) {
        // Empty text renders as nothing on every platform (and empty bold as stray markers).
        let empty = matches!(&span, Span::Plain(s) | Span::Bold(s) | Span::Italic(s) | Span::Code(s) if s.is_empty());
        if !empty {
            self.0.push(span);
        }
    }

    pub fn extend(mut self, other: Text) -> Self {
        for span in other.0 {
            self.push(span);
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn spans(&self) -> &[Span] {
        &self.0
    }

    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for span in &self.0 {
            span.write_plain(&mut out);
        }
        out
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::new().plain(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::new().plain(s)
    }
}

/// A labelled value (`Severity: SEV-1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    pub label: String,
    pub value: Text,
}

impl Fact {
    pub fn new(label: impl Into<String>, value: impl Into<Text>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
        }
    }
}

/// What a button looks like (`default`, `primary`, `danger` in configuration).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    #[default]
    Default,
    /// The main action (Slack `primary`, Discord Primary, Teams `positive` where supported).
    Primary,
    /// A risky action (Slack `danger`, Discord Danger).
    Danger,
}

/// One option of a selection menu.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub label: String,
    /// The value sent back when chosen (a severity, a service, a status verb).
    pub value: String,
}

/// An interactive element. Its action key and incident come back in the platform's payload when
/// it is used, and are handled once for every platform (see [`crate::action`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Element {
    Button {
        action: crate::action::ActionKey,
        label: String,
        style: Style,
        incident: IncidentId,
        /// What the button carries beside the incident (a custom button's id).
        value: Option<String>,
    },
    Select {
        action: crate::action::ActionKey,
        placeholder: String,
        options: Vec<Choice>,
        selected: Option<String>,
        incident: IncidentId,
    },
    /// Pick any person of the workspace (platforms without a people picker offer what they can).
    UserSelect {
        action: crate::action::ActionKey,
        placeholder: String,
        selected: Option<UserRef>,
        incident: IncidentId,
    },
}

impl Element {
    pub fn action(&self) -> crate::action::ActionKey {
        match self {
            Element::Button { action, .. } | Element::Select { action, .. } | Element::UserSelect { action, .. } => {
                *action
            }
        }
    }

    pub fn incident(&self) -> &IncidentId {
        match self {
            Element::Button { incident, .. }
            | Element::Select { incident, .. }
            | Element::UserSelect { incident, .. } => incident,
        }
    }
}

/// An operator's template in the target platform's own markup; the renderer fills its fields,
/// escaping each value for that platform.
#[derive(Clone, Debug, PartialEq)]
pub struct Markup {
    pub template: Template,
    pub values: TemplateValues,
}

impl Markup {
    /// Fills the template, escaping every value with the platform's `escape`.
    pub fn render(&self, escape: impl Fn(&str) -> String) -> String {
        self.template.render(&self.values, escape)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A title line (plain text only on every platform).
    Header(String),
    Paragraph(Text),
    /// Rows of labelled values; a row may be shown on one line.
    Facts(Vec<Vec<Fact>>),
    /// A list: one line each. Renderers pack lines into as few blocks as their limits allow.
    Lines(Vec<Text>),
    /// Small print.
    Context(Text),
    /// An operator's template for this platform.
    Markup(Markup),
    /// Buttons (one row); `Menus` are selection menus (one row).
    Buttons(Vec<Element>),
    Menus(Vec<Element>),
}

/// Which incident and version a card shows (message metadata, footers, ordered edits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardMeta {
    pub incident: IncidentId,
    pub version: u64,
}

/// A whole message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Doc {
    pub blocks: Vec<Block>,
    /// The one-line summary: notification text, previews, screen readers.
    pub summary: Text,
    pub card: Option<CardMeta>,
}

impl Doc {
    pub fn new(summary: impl Into<Text>) -> Self {
        Self {
            blocks: Vec::new(),
            summary: summary.into(),
            card: None,
        }
    }

    pub fn with(mut self, block: Block) -> Self {
        self.blocks.push(block);
        self
    }

    pub fn push(&mut self, block: Block) {
        self.blocks.push(block);
    }

    /// A message that is one paragraph.
    pub fn text(text: impl Into<Text>) -> Self {
        let text = text.into();
        Self {
            blocks: vec![Block::Paragraph(text.clone())],
            summary: text,
            card: None,
        }
    }

    /// Every interactive element, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.blocks.iter().flat_map(|b| match b {
            Block::Buttons(e) | Block::Menus(e) => e.as_slice(),
            _ => &[],
        })
    }

    /// The whole message as plain text, one block per paragraph (text-only surfaces, tests).
    pub fn plain_text(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        for block in &self.blocks {
            match block {
                Block::Header(h) => out.push(h.clone()),
                Block::Paragraph(t) | Block::Context(t) => out.push(t.plain_text()),
                Block::Facts(rows) => {
                    for row in rows {
                        let line: Vec<String> = row
                            .iter()
                            .map(|f| format!("{}: {}", f.label, f.value.plain_text()))
                            .collect();
                        out.push(line.join(" | "));
                    }
                }
                Block::Lines(lines) => out.extend(lines.iter().map(Text::plain_text)),
                Block::Markup(m) => out.push(m.render(str::to_string)),
                Block::Buttons(_) | Block::Menus(_) => {}
            }
        }
        out.join("\n")
    }
}

/// Cuts `s` to at most `max` characters, marking a cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    // No more bytes than `max` means no more characters either.
    if s.len() <= max || s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn relative_times() {
        let t = datetime!(2026-11-27 10:00 UTC);
        assert_eq!(relative(t, t), "just now");
        assert_eq!(relative(t, datetime!(2026-11-27 10:01 UTC)), "1 minute ago");
        assert_eq!(relative(t, datetime!(2026-11-27 10:59:59 UTC)), "59 minutes ago");
        assert_eq!(relative(t, datetime!(2026-11-27 13:00 UTC)), "3 hours ago");
        assert_eq!(relative(t, datetime!(2026-11-29 10:00 UTC)), "2 days ago");
        assert_eq!(
            relative(datetime!(2026-11-28 10:00 UTC), t),
            "just now",
            "future is now"
        );
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééééé", 4).chars().count(), 4);
        assert_eq!(truncate("ééé", 3), "ééé", "characters are counted, not bytes");
    }

    #[test]
    fn a_link_without_a_label_reads_as_its_address() {
        let bare = Span::Link {
            label: String::new(),
            url: "https://status.example.com".into(),
        };
        assert_eq!(bare.plain_text(), "https://status.example.com");
        let labelled = Span::Link {
            label: "status".into(),
            url: "https://status.example.com".into(),
        };
        assert_eq!(labelled.plain_text(), "status");
    }

    #[test]
    fn empty_spans_are_dropped_and_plain_text_reads_naturally() {
        let t = Text::new()
            .bold("")
            .plain("by ")
            .user(&UserRef::new("U1", Some("alice".into())))
            .plain(" in ")
            .channel("C1", Some("ops".into()));
        assert_eq!(t.spans().len(), 4);
        assert_eq!(t.plain_text(), "by @alice in #ops");
        let doc = Doc::new("s")
            .with(Block::Header("H".into()))
            .with(Block::Facts(vec![vec![Fact::new("A", "1"), Fact::new("B", "2")]]));
        assert_eq!(doc.plain_text(), "H\nA: 1 | B: 2");
    }
}
