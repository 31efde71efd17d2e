//! The `/im` command grammar, shared by every platform.
//!
//! Input is the text after the slash command as [`Segment`]s: plain text and the user and channel
//! references the platform marked up (each adapter undoes its own markup and escaping). Phones
//! and desktop clients turn quotes into smart quotes and `--` into an em dash; that is undone
//! here, so `declare --sev SEV-2 “Payment down”` means what the person meant.

use std::fmt;

use crate::incident::{IncidentId, Severity, UserRef};

/// Longest title we accept: it must fit a card's header on every platform (Slack's holds 150).
pub const MAX_TITLE: usize = 150;
/// Longest note or description: one section of a card on every platform.
pub const MAX_TEXT: usize = 3000;
/// Longest service name.
pub const MAX_SERVICE: usize = 64;
/// A title derived from a description is cut to this many characters.
pub const DERIVED_TITLE: usize = 80;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    Declare,
    Ack,
    Resolve,
    Close,
    Status,
    List,
    Help,
    Escalate,
    Assign,
    Update,
    Timeline,
}

impl Verb {
    pub const ALL: [Verb; 11] = [
        Verb::Declare,
        Verb::Ack,
        Verb::Resolve,
        Verb::Close,
        Verb::Status,
        Verb::List,
        Verb::Help,
        Verb::Escalate,
        Verb::Assign,
        Verb::Update,
        Verb::Timeline,
    ];

    /// The verb a word names, aliases included.
    pub fn from_word(word: &str) -> Option<Verb> {
        Some(match word.to_ascii_lowercase().as_str() {
            "declare" | "new" | "create" | "open" => Verb::Declare,
            "ack" | "acknowledge" | "acknowledged" => Verb::Ack,
            "resolve" | "resolved" | "fix" | "fixed" => Verb::Resolve,
            "close" | "closed" => Verb::Close,
            "status" | "show" | "info" => Verb::Status,
            "list" | "ls" => Verb::List,
            "help" | "-h" | "--help" | "?" => Verb::Help,
            "escalate" | "severity" | "sev" => Verb::Escalate,
            "assign" => Verb::Assign,
            "update" | "note" => Verb::Update,
            "timeline" | "log" | "history" => Verb::Timeline,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Verb::Declare => "declare",
            Verb::Ack => "ack",
            Verb::Resolve => "resolve",
            Verb::Close => "close",
            Verb::Status => "status",
            Verb::List => "list",
            Verb::Help => "help",
            Verb::Escalate => "escalate",
            Verb::Assign => "assign",
            Verb::Update => "update",
            Verb::Timeline => "timeline",
        }
    }

    /// Arguments as shown in usage lines, after `/im <verb>`.
    pub fn arguments(self) -> &'static str {
        match self {
            Verb::Declare => "[title] [--sev SEV-1..4] [--service NAME] [--description TEXT] [--title TEXT]",
            Verb::Ack => "INCIDENT-ID [note]",
            Verb::Resolve => "INCIDENT-ID [note]",
            Verb::Close => "INCIDENT-ID",
            Verb::Status => "INCIDENT-ID",
            Verb::List => "",
            Verb::Help => "[command]",
            Verb::Escalate => "INCIDENT-ID SEV-1..4",
            Verb::Assign => "INCIDENT-ID @user|me",
            Verb::Update => "INCIDENT-ID note",
            Verb::Timeline => "INCIDENT-ID",
        }
    }

    pub fn summary(self) -> &'static str {
        match self {
            Verb::Declare => "Declare a new incident",
            Verb::Ack => "Acknowledge an incident and take ownership",
            Verb::Resolve => "Resolve an incident, with an optional resolution note",
            Verb::Close => "Close a resolved incident",
            Verb::Status => "Show an incident's details",
            Verb::List => "List open incidents",
            Verb::Help => "Show this help",
            Verb::Escalate => "Change an incident's severity",
            Verb::Assign => "Assign an incident to someone",
            Verb::Update => "Add a note to an incident's timeline",
            Verb::Timeline => "Show an incident's timeline",
        }
    }

    /// `/im ack INCIDENT-ID [note]`, with the slash command the platform used.
    pub fn usage(self, prefix: &str) -> String {
        let args = self.arguments();
        if args.is_empty() {
            format!("{prefix} {}", self.name())
        } else {
            format!("{prefix} {} {args}", self.name())
        }
    }

    /// Whether the command changes an incident (and so is audited and shown in the channel).
    pub fn is_change(self) -> bool {
        !matches!(self, Verb::Status | Verb::List | Verb::Help | Verb::Timeline)
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declare {
    pub title: String,
    pub severity: Option<Severity>,
    pub service: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assignee {
    /// `assign INC-… me`
    Me,
    User(UserRef),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Declare(Declare),
    Ack {
        id: IncidentId,
        note: Option<String>,
    },
    Resolve {
        id: IncidentId,
        note: Option<String>,
    },
    Close {
        id: IncidentId,
    },
    Status {
        id: IncidentId,
    },
    List,
    Help {
        topic: Option<Verb>,
    },
    Escalate {
        id: IncidentId,
        severity: Severity,
    },
    Assign {
        id: IncidentId,
        assignee: Assignee,
    },
    Update {
        id: IncidentId,
        note: String,
    },
    Timeline {
        id: IncidentId,
    },
    /// Change the service (from a selection menu; no slash verb).
    SetService {
        id: IncidentId,
        service: String,
    },
    /// A verb we do not know: a registered custom command, or a mistake.
    Custom {
        name: String,
        args: Vec<String>,
    },
}

impl Command {
    pub fn verb(&self) -> Option<Verb> {
        Some(match self {
            Command::Declare(_) => Verb::Declare,
            Command::Ack { .. } => Verb::Ack,
            Command::Resolve { .. } => Verb::Resolve,
            Command::Close { .. } => Verb::Close,
            Command::Status { .. } => Verb::Status,
            Command::List => Verb::List,
            Command::Help { .. } => Verb::Help,
            Command::Escalate { .. } => Verb::Escalate,
            Command::Assign { .. } => Verb::Assign,
            Command::Update { .. } => Verb::Update,
            Command::Timeline { .. } => Verb::Timeline,
            Command::SetService { .. } | Command::Custom { .. } => return None,
        })
    }
}

impl Command {
    /// The name RBAC knows the command by (`ack`, `service` …; custom commands are checked by
    /// the service as `custom:<name>`), and whether it changes anything. Every command has one:
    /// nothing bypasses the policy.
    pub fn policy(&self) -> (&str, bool) {
        match self {
            Command::SetService { .. } => ("service", true),
            Command::Custom { name, .. } => (name.as_str(), true),
            other => match other.verb() {
                Some(verb) => (verb.name(), verb.is_change()),
                None => ("unknown", true),
            },
        }
    }
}

/// A command that could not be understood: the reply is the usage line of `verb`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct UsageError {
    pub verb: Verb,
    pub problem: String,
}

fn usage(verb: Verb, problem: impl Into<String>) -> UsageError {
    UsageError {
        verb,
        problem: problem.into(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// Unquoted text; may be a flag.
    Word(String),
    /// Quoted text; never a flag.
    Quoted(String),
    User(UserRef),
    Channel {
        id: String,
        name: Option<String>,
    },
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Word(s) | Token::Quoted(s) => s.clone(),
            Token::User(u) => format!("@{}", u.display()),
            Token::Channel { id, name } => format!("#{}", name.as_deref().unwrap_or(id)),
        }
    }

    fn flag(&self) -> Option<&str> {
        match self {
            Token::Word(w) if w.starts_with("--") || (w.starts_with('-') && w.len() == 2) => Some(w),
            _ => None,
        }
    }
}

fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„' | '‟' | '″' | '«' | '»')
}

fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '‘' | '’' | '‚' | '‛')
}

/// Text as one quoted argument of the grammar: whatever it holds (quotes of any kind,
/// backslashes, dashes), it reads back as exactly this text. Adapters that receive typed
/// fields (Discord options, form inputs) build command text with it.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '\\' || is_double_quote(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A piece of command text as a platform adapter delivers it: plain text, or a reference the
/// platform marked up (a user or channel mention). Adapters undo their own markup and escaping
/// (Slack's `<@U123|alice>` and `&lt;`, Discord's `<@123>`, Teams' `<at>…</at>`); the grammar
/// only ever sees these.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Text(String),
    User(UserRef),
    Channel { id: String, name: Option<String> },
}

impl Segment {
    pub fn text(s: impl Into<String>) -> Self {
        Segment::Text(s.into())
    }

    /// As a person would read it: `@alice`, `#ops`.
    pub fn plain_text(&self) -> String {
        match self {
            Segment::Text(t) => t.clone(),
            Segment::User(u) => format!("@{}", u.display()),
            Segment::Channel { id, name } => format!("#{}", name.as_deref().unwrap_or(id)),
        }
    }
}

/// Segments read as one line of text (for the timeline's `command`).
pub fn plain_text(segments: &[Segment]) -> String {
    segments.iter().map(Segment::plain_text).collect()
}

/// The lexer's input: characters, and references (an index into the atoms) that are one token
/// each. Small and `Copy`, so scanning a command costs no allocation per character.
#[derive(Clone, Copy, Debug)]
enum Item {
    Char(char),
    Atom(usize),
}

impl Item {
    fn is_whitespace(&self) -> bool {
        matches!(self, Item::Char(c) if c.is_whitespace())
    }

    fn char(&self) -> Option<char> {
        match self {
            Item::Char(c) => Some(*c),
            Item::Atom(_) => None,
        }
    }
}

fn items(segments: &[Segment]) -> (Vec<Item>, Vec<Token>) {
    let mut out = Vec::with_capacity(
        segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.len(),
                _ => 1,
            })
            .sum(),
    );
    let mut atoms = Vec::new();
    for segment in segments {
        let atom = match segment {
            Segment::Text(t) => {
                out.extend(t.chars().map(Item::Char));
                continue;
            }
            Segment::User(u) => Token::User(u.clone()),
            Segment::Channel { id, name } => Token::Channel {
                id: id.clone(),
                name: name.clone(),
            },
        };
        out.push(Item::Atom(atoms.len()));
        atoms.push(atom);
    }
    (out, atoms)
}

/// Characters and references inside quotes read as text.
fn text_of(items: &[Item], atoms: &[Token]) -> String {
    let mut out = String::with_capacity(items.len());
    for item in items {
        match item {
            Item::Char(c) => out.push(*c),
            Item::Atom(a) => out.push_str(&atoms[*a].text()),
        }
    }
    out
}

fn tokenize(segments: &[Segment]) -> Result<Vec<Token>, String> {
    let (chars, atoms) = items(segments);
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = match chars[i] {
            Item::Atom(a) => {
                tokens.push(atoms[a].clone());
                i += 1;
                continue;
            }
            Item::Char(c) => c,
        };
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if is_double_quote(c) {
            let mut value = Vec::new();
            let mut j = i + 1;
            let mut closed = false;
            while j < chars.len() {
                let d = chars[j].char();
                let next = chars.get(j + 1).and_then(Item::char);
                if d == Some('\\') && next.is_some_and(|n| is_double_quote(n) || n == '\\') {
                    value.push(chars[j + 1]);
                    j += 2;
                    continue;
                }
                if d.is_some_and(is_double_quote) {
                    closed = true;
                    break;
                }
                value.push(chars[j]);
                j += 1;
            }
            if !closed {
                return Err("a quote is not closed".to_string());
            }
            tokens.push(Token::Quoted(text_of(&value, &atoms)));
            i = j + 1;
            continue;
        }
        if is_single_quote(c) {
            // Only a quote if a closing quote ends a word later on; otherwise an apostrophe.
            let close = (i + 1..chars.len()).find(|&j| {
                chars[j].char().is_some_and(is_single_quote) && chars.get(j + 1).is_none_or(Item::is_whitespace)
            });
            if let Some(j) = close {
                tokens.push(Token::Quoted(text_of(&chars[i + 1..j], &atoms)));
                i = j + 1;
                continue;
            }
        }
        let start = i;
        while i < chars.len() && matches!(chars[i], Item::Char(c) if !c.is_whitespace()) {
            i += 1;
        }
        let mut word = text_of(&chars[start..i], &atoms);
        // Clients turn `--sev` into `—sev` or `–sev`.
        for dash in ['—', '–'] {
            if let Some(rest) = word.strip_prefix(dash)
                && rest.chars().next().is_some_and(char::is_alphabetic)
            {
                word = format!("--{rest}");
            }
        }
        tokens.push(Token::Word(word));
    }
    Ok(tokens)
}

/// Parses plain command text (the text after `/im`, with no platform markup).
pub fn parse(text: &str) -> Result<Command, UsageError> {
    parse_segments(&[Segment::text(text)])
}

/// Parses the text after `/im` as a platform adapter delivered it.
pub fn parse_segments(segments: &[Segment]) -> Result<Command, UsageError> {
    let tokens = tokenize(segments).map_err(|problem| {
        // Name the verb if the first word is one, so the reply is that verb's usage line.
        let verb = plain_text(segments)
            .split_whitespace()
            .next()
            .and_then(Verb::from_word)
            .unwrap_or(Verb::Help);
        usage(verb, problem)
    })?;
    let Some((first, rest)) = tokens.split_first() else {
        return Ok(Command::Help { topic: None });
    };
    let word = match first {
        Token::Word(w) => w.clone(),
        other => other.text(),
    };
    let Some(verb) = Verb::from_word(&word) else {
        // `run NAME …` runs a custom command by name (Discord's fixed subcommands need it).
        if word.eq_ignore_ascii_case("run")
            && let Some((name, args)) = rest.split_first()
        {
            return Ok(Command::Custom {
                name: name.text().to_lowercase(),
                args: args.iter().map(Token::text).collect(),
            });
        }
        return Ok(Command::Custom {
            name: word.to_lowercase(),
            args: rest.iter().map(Token::text).collect(),
        });
    };
    if verb != Verb::Help
        && rest
            .iter()
            .any(|t| matches!(t, Token::Word(w) if w == "--help" || w == "-h"))
    {
        return Ok(Command::Help { topic: Some(verb) });
    }
    let args = Args { verb, tokens: rest };
    match verb {
        Verb::Declare => parse_declare(rest).map(Command::Declare),
        Verb::Ack => {
            let (id, note) = args.id_and_optional_text()?;
            Ok(Command::Ack { id, note })
        }
        Verb::Resolve => {
            let (id, note) = args.id_and_optional_text()?;
            Ok(Command::Resolve { id, note })
        }
        Verb::Close => args.only_id().map(|id| Command::Close { id }),
        Verb::Status => args.only_id().map(|id| Command::Status { id }),
        Verb::Timeline => args.only_id().map(|id| Command::Timeline { id }),
        Verb::List => {
            if let Some(extra) = rest.first() {
                return Err(usage(verb, format!("list takes no arguments (got `{}`)", extra.text())));
            }
            Ok(Command::List)
        }
        Verb::Help => Ok(Command::Help {
            topic: rest.first().and_then(|t| Verb::from_word(&t.text())),
        }),
        Verb::Escalate => {
            let id = args.id()?;
            let severity = match rest.get(1) {
                None => {
                    return Err(usage(verb, "say which severity: SEV-1, SEV-2, SEV-3 or SEV-4"));
                }
                Some(token) => Severity::parse(&token.text()).map_err(|e| usage(verb, e.to_string()))?,
            };
            args.no_more(2)?;
            Ok(Command::Escalate { id, severity })
        }
        Verb::Assign => {
            let id = args.id()?;
            let assignee = match rest.get(1) {
                None => return Err(usage(verb, "say who to assign, e.g. @alice or me")),
                Some(Token::User(user)) => Assignee::User(user.clone()),
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("me") || w.eq_ignore_ascii_case("myself") => {
                    Assignee::Me
                }
                Some(token @ (Token::Word(_) | Token::Quoted(_))) => {
                    let name = token.text();
                    let name = name.trim_start_matches('@').trim();
                    if name.is_empty() || name.starts_with('-') {
                        return Err(usage(verb, "say who to assign, e.g. @alice or me"));
                    }
                    Assignee::User(UserRef::new(name, Some(name.to_string())))
                }
                Some(Token::Channel { .. }) => {
                    return Err(usage(verb, "assign to a person, not a channel"));
                }
            };
            args.no_more(2)?;
            Ok(Command::Assign { id, assignee })
        }
        Verb::Update => {
            let (id, note) = args.id_and_optional_text()?;
            let note = note.ok_or_else(|| usage(verb, "add the note text, e.g. \"Failover started\""))?;
            Ok(Command::Update { id, note })
        }
    }
}

struct Args<'a> {
    verb: Verb,
    tokens: &'a [Token],
}

impl Args<'_> {
    fn id(&self) -> Result<IncidentId, UsageError> {
        match self.tokens.first() {
            None => Err(usage(
                self.verb,
                format!("{} needs an incident id, e.g. INC-2026-001", self.verb),
            )),
            Some(token) => IncidentId::parse(&token.text()).map_err(|e| usage(self.verb, e.to_string())),
        }
    }

    fn only_id(&self) -> Result<IncidentId, UsageError> {
        let id = self.id()?;
        self.no_more(1)?;
        Ok(id)
    }

    fn no_more(&self, used: usize) -> Result<(), UsageError> {
        match self.tokens.get(used) {
            None => Ok(()),
            Some(extra) => Err(usage(self.verb, format!("unexpected `{}`", extra.text()))),
        }
    }

    fn id_and_optional_text(&self) -> Result<(IncidentId, Option<String>), UsageError> {
        let id = self.id()?;
        let text = join(&self.tokens[1..]);
        if text.chars().count() > MAX_TEXT {
            return Err(usage(
                self.verb,
                format!("the note is too long (at most {MAX_TEXT} characters)"),
            ));
        }
        Ok((id, (!text.is_empty()).then_some(text)))
    }
}

fn join(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(Token::text)
        .filter(|t| !t.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

fn parse_declare(tokens: &[Token]) -> Result<Declare, UsageError> {
    let verb = Verb::Declare;
    let mut positional: Vec<Token> = Vec::new();
    let mut title = None;
    let mut severity = None;
    let mut service = None;
    let mut description = None;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        i += 1;
        let Some(flag) = token.flag() else {
            positional.push(token.clone());
            continue;
        };
        if flag == "--" {
            positional.extend(tokens[i..].iter().cloned());
            break;
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let key = match name.to_ascii_lowercase().as_str() {
            "--title" | "-t" => "title",
            "--sev" | "--severity" | "-s" => "severity",
            "--service" => "service",
            "--description" | "--desc" | "-d" => "description",
            _ => return Err(usage(verb, format!("unknown option `{name}`"))),
        };
        let value = match inline {
            Some(v) => v,
            None => match tokens.get(i) {
                Some(next) if next.flag().is_none() => {
                    i += 1;
                    next.text()
                }
                _ => return Err(usage(verb, format!("`{name}` needs a value"))),
            },
        };
        let value = value.trim().to_string();
        if value.is_empty() {
            return Err(usage(verb, format!("`{name}` needs a value")));
        }
        let slot = match key {
            "title" => &mut title,
            "severity" => &mut severity,
            "service" => &mut service,
            _ => &mut description,
        };
        if slot.replace(value).is_some() {
            return Err(usage(verb, format!("`{name}` is given twice")));
        }
    }

    let positional = join(&positional);
    let severity = severity
        .map(|s| Severity::parse(&s).map_err(|e| usage(verb, e.to_string())))
        .transpose()?;
    if let Some(s) = &service
        && (s.chars().count() > MAX_SERVICE || !valid_service(s))
    {
        return Err(usage(
            verb,
            format!("`{s}` is not a service name (letters, digits, - _ . /, at most {MAX_SERVICE})"),
        ));
    }
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_TEXT) {
        return Err(usage(
            verb,
            format!("the description is too long (at most {MAX_TEXT} characters)"),
        ));
    }
    let title = match (title, positional.is_empty()) {
        (Some(_), false) => {
            return Err(usage(verb, "give the title as text or with --title, not both"));
        }
        (Some(t), true) => t,
        (None, false) => positional,
        (None, true) => match description.as_deref().map(title_from_description) {
            Some(t) if !t.is_empty() => t,
            _ => {
                return Err(usage(verb, "say what is wrong: the title is the text after declare"));
            }
        },
    };
    if title.chars().count() > MAX_TITLE {
        return Err(usage(
            verb,
            format!("the title is too long (at most {MAX_TITLE} characters); put details in --description"),
        ));
    }
    Ok(Declare {
        title,
        severity,
        service,
        description,
    })
}

/// Whether a word is the grammar's own (a verb, `run` or `ask`): no custom command may take it.
pub fn reserved(name: &str) -> bool {
    Verb::from_word(name).is_some() || name == "run" || name == "ask"
}

/// The incident a custom command is about: the first of its arguments that is an incident id.
pub fn incident_arg(args: &[String]) -> Option<IncidentId> {
    args.iter().find_map(|a| IncidentId::parse(a).ok())
}

/// What a configured name (a workflow command, a custom action) may be: lowercase letters,
/// digits, `-` and `_`, at most 32.
pub fn custom_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Letters, digits and `- _ . /` and spaces: what a service name may hold.
pub fn valid_service(s: &str) -> bool {
    !s.trim().is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ' | '/'))
}

/// The first sentence of a description, cut at [`DERIVED_TITLE`] characters on a word boundary.
pub fn title_from_description(description: &str) -> String {
    let line = description.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut end = line.len();
    for (idx, c) in line.char_indices() {
        if matches!(c, '.' | '!' | '?') {
            let next = line[idx + c.len_utf8()..].chars().next();
            if next.is_none_or(char::is_whitespace) {
                end = idx;
                break;
            }
        }
    }
    let sentence = line[..end].trim();
    if sentence.chars().count() <= DERIVED_TITLE {
        return sentence.to_string();
    }
    let cut: String = sentence.chars().take(DERIVED_TITLE - 1).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > DERIVED_TITLE / 2 => cut[..space].trim_end().to_string(),
        _ => cut,
    };
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> IncidentId {
        IncidentId::parse(s).expect("valid id")
    }

    fn declare(title: &str, severity: Option<Severity>, service: Option<&str>, description: Option<&str>) -> Command {
        Command::Declare(Declare {
            title: title.into(),
            severity,
            service: service.map(Into::into),
            description: description.map(Into::into),
        })
    }

    fn fails(text: &str, verb: Verb, problem_contains: &str) {
        match parse(text) {
            Err(e) => {
                assert_eq!(e.verb, verb, "{text}: {e:?}");
                assert!(e.problem.contains(problem_contains), "{text}: got {:?}", e.problem);
            }
            Ok(c) => panic!("{text} should fail, parsed as {c:?}"),
        }
    }

    // The five examples from the product documentation.
    #[test]
    fn documented_examples_parse_exactly() {
        assert_eq!(
            parse("declare Database connection timeout"),
            Ok(declare("Database connection timeout", None, None, None))
        );
        assert_eq!(
            parse(r#"declare --sev SEV-2 --service checkout "Payment processing down""#),
            Ok(declare(
                "Payment processing down",
                Some(Severity::Sev2),
                Some("checkout"),
                None
            ))
        );
        assert_eq!(
            parse(
                r#"declare --sev SEV-1 --service payments --description "Complete payment system outage affecting all customers""#
            ),
            Ok(declare(
                "Complete payment system outage affecting all customers",
                Some(Severity::Sev1),
                Some("payments"),
                Some("Complete payment system outage affecting all customers"),
            ))
        );
        assert_eq!(
            parse(r#"ack INC-2024-001 "Investigating MySQL cluster""#),
            Ok(Command::Ack {
                id: id("INC-2024-001"),
                note: Some("Investigating MySQL cluster".into())
            })
        );
        assert_eq!(
            parse(
                r#"resolve INC-2024-001 "Fixed by restarting MySQL primary. Root cause: connection pool exhaustion""#
            ),
            Ok(Command::Resolve {
                id: id("INC-2024-001"),
                note: Some("Fixed by restarting MySQL primary. Root cause: connection pool exhaustion".into())
            })
        );
    }

    #[test]
    fn declare_variants() {
        let cases: Vec<(&str, Command)> = vec![
            (
                "declare --title \"API errors\"",
                declare("API errors", None, None, None),
            ),
            (
                "declare --title=API --sev=1",
                declare("API", Some(Severity::Sev1), None, None),
            ),
            (
                "DECLARE Checkout slow --sev sev3",
                declare("Checkout slow", Some(Severity::Sev3), None, None),
            ),
            (
                "declare --sev 2 Checkout slow",
                declare("Checkout slow", Some(Severity::Sev2), None, None),
            ),
            ("new Checkout slow", declare("Checkout slow", None, None, None)),
            (
                "declare “Payment processing down” —sev SEV-2",
                declare("Payment processing down", Some(Severity::Sev2), None, None),
            ),
            (
                "declare ‘Login broken’ –service auth",
                declare("Login broken", None, Some("auth"), None),
            ),
            ("declare R&D wiki <down>", declare("R&D wiki <down>", None, None, None)),
            ("declare Can't log in", declare("Can't log in", None, None, None)),
            (
                "declare -- --sev is part of the title",
                declare("--sev is part of the title", None, None, None),
            ),
            ("declare   spaced    out   ", declare("spaced out", None, None, None)),
            (
                "declare \"quote with \\\" inside\"",
                declare("quote with \" inside", None, None, None),
            ),
            (
                "declare --service \"Payments API\" --sev critical Down",
                declare("Down", Some(Severity::Sev1), Some("Payments API"), None),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn declare_title_comes_from_the_first_sentence_of_the_description() {
        let parsed = parse("declare --description \"Checkout returns 502. Started after deploy 1234.\"");
        assert_eq!(
            parsed,
            Ok(declare(
                "Checkout returns 502",
                None,
                None,
                Some("Checkout returns 502. Started after deploy 1234.")
            ))
        );
        let long = "word ".repeat(40);
        let Ok(Command::Declare(d)) = parse(&format!("declare -d \"{long}\"")) else {
            panic!("long description should parse");
        };
        assert!(d.title.chars().count() <= DERIVED_TITLE, "{}", d.title);
        assert!(d.title.ends_with('…'));
        assert_eq!(title_from_description("v1.2 is broken! Rollback"), "v1.2 is broken");
    }

    #[test]
    fn lifecycle_commands() {
        let cases: Vec<(&str, Command)> = vec![
            (
                "ack INC-2026-001",
                Command::Ack {
                    id: id("INC-2026-001"),
                    note: None,
                },
            ),
            (
                "acknowledge inc-2026-1 on it",
                Command::Ack {
                    id: id("INC-2026-001"),
                    note: Some("on it".into()),
                },
            ),
            (
                "resolve INC-2026-002",
                Command::Resolve {
                    id: id("INC-2026-002"),
                    note: None,
                },
            ),
            ("close INC-2026-003", Command::Close { id: id("INC-2026-003") }),
            ("status INC-2026-004", Command::Status { id: id("INC-2026-004") }),
            ("timeline INC-2026-005", Command::Timeline { id: id("INC-2026-005") }),
            ("list", Command::List),
            ("", Command::Help { topic: None }),
            ("help", Command::Help { topic: None }),
            ("help ack", Command::Help { topic: Some(Verb::Ack) }),
            ("ack --help", Command::Help { topic: Some(Verb::Ack) }),
            (
                "escalate INC-2026-001 SEV-1",
                Command::Escalate {
                    id: id("INC-2026-001"),
                    severity: Severity::Sev1,
                },
            ),
            (
                "escalate INC-2026-001 sev1",
                Command::Escalate {
                    id: id("INC-2026-001"),
                    severity: Severity::Sev1,
                },
            ),
            (
                "escalate INC-2026-001 2",
                Command::Escalate {
                    id: id("INC-2026-001"),
                    severity: Severity::Sev2,
                },
            ),
            (
                "assign INC-2026-001 @bob",
                Command::Assign {
                    id: id("INC-2026-001"),
                    assignee: Assignee::User(UserRef::new("bob", Some("bob".into()))),
                },
            ),
            (
                "assign INC-2026-001 me",
                Command::Assign {
                    id: id("INC-2026-001"),
                    assignee: Assignee::Me,
                },
            ),
            (
                "update INC-2026-001 Failover to replica started",
                Command::Update {
                    id: id("INC-2026-001"),
                    note: "Failover to replica started".into(),
                },
            ),
            (
                "update INC-2026-001 “Failover started”",
                Command::Update {
                    id: id("INC-2026-001"),
                    note: "Failover started".into(),
                },
            ),
            (
                "deploy checkout v2",
                Command::Custom {
                    name: "deploy".into(),
                    args: vec!["checkout".into(), "v2".into()],
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn malformed_commands_get_their_own_usage() {
        fails("declare", Verb::Declare, "say what is wrong");
        fails("declare --sev SEV-9 Broken", Verb::Declare, "not a severity");
        fails("declare --sev", Verb::Declare, "needs a value");
        fails("declare --sev --service x Title", Verb::Declare, "needs a value");
        fails("declare --color red Title", Verb::Declare, "unknown option `--color`");
        fails("declare --sev 1 --sev 2 Title", Verb::Declare, "given twice");
        fails("declare Title --title Other", Verb::Declare, "not both");
        fails("declare \"unterminated title", Verb::Declare, "not closed");
        fails(&format!("declare {}", "x".repeat(151)), Verb::Declare, "too long");
        fails(
            "declare --service \"bad;name\" Title",
            Verb::Declare,
            "not a service name",
        );
        fails("ack", Verb::Ack, "needs an incident id");
        fails("ack 123abc", Verb::Ack, "not an incident id");
        fails("resolve", Verb::Resolve, "needs an incident id");
        fails("close INC-2026-001 now", Verb::Close, "unexpected `now`");
        fails("close", Verb::Close, "needs an incident id");
        fails("status", Verb::Status, "needs an incident id");
        fails("timeline nope", Verb::Timeline, "not an incident id");
        fails("escalate INC-2026-001", Verb::Escalate, "which severity");
        fails("escalate INC-2026-001 SEV-7", Verb::Escalate, "not a severity");
        fails("escalate INC-2026-001 SEV-1 now", Verb::Escalate, "unexpected");
        fails("escalate", Verb::Escalate, "needs an incident id");
        fails("assign INC-2026-001", Verb::Assign, "who to assign");
        fails("assign INC-2026-001 @a @b", Verb::Assign, "unexpected");
        fails("update INC-2026-001", Verb::Update, "note text");
        fails("update", Verb::Update, "needs an incident id");
        fails("list everything", Verb::List, "takes no arguments");
        fails(
            &format!("update INC-2026-001 {}", "y".repeat(3001)),
            Verb::Update,
            "too long",
        );
    }

    #[test]
    fn references_from_the_platform_are_tokens() {
        let alice = UserRef::new("U123", Some("alice".into())).on("acme");
        let segs = |parts: Vec<Segment>| parse_segments(&parts);
        assert_eq!(
            segs(vec![
                Segment::text("assign INC-2026-001 "),
                Segment::User(alice.clone())
            ]),
            Ok(Command::Assign {
                id: id("INC-2026-001"),
                assignee: Assignee::User(alice.clone()),
            })
        );
        assert_eq!(
            segs(vec![
                Segment::text("declare Outage in "),
                Segment::Channel {
                    id: "C123".into(),
                    name: Some("ops".into())
                },
                Segment::text(" reported by "),
                Segment::User(UserRef::new("U42", Some("carol".into()))),
            ]),
            Ok(declare("Outage in #ops reported by @carol", None, None, None))
        );
        // A reference inside quotes is part of the quoted text.
        assert_eq!(
            segs(vec![
                Segment::text("update INC-2026-001 \"paged "),
                Segment::User(alice.clone()),
                Segment::text(" twice\""),
            ]),
            Ok(Command::Update {
                id: id("INC-2026-001"),
                note: "paged @alice twice".into()
            })
        );
        assert_eq!(
            segs(vec![
                Segment::text("assign INC-2026-001 "),
                Segment::Channel {
                    id: "C1".into(),
                    name: Some("ops".into())
                }
            ])
            .map_err(|e| e.problem),
            Err("assign to a person, not a channel".into())
        );
        assert_eq!(plain_text(&[Segment::text("ack "), Segment::User(alice)]), "ack @alice");
    }

    #[test]
    fn quoted_text_reads_back_exactly() {
        for text in [
            "plain",
            "with \"quotes\" and “smart” ones",
            "back\\slash \\\"",
            "--sev SEV-1",
            "it's",
        ] {
            assert_eq!(
                parse(&format!("update INC-2026-001 {}", quote(text))),
                Ok(Command::Update {
                    id: id("INC-2026-001"),
                    note: text.into()
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn usage_lines_use_the_platform_command() {
        assert_eq!(Verb::Ack.usage("/im"), "/im ack INCIDENT-ID [note]");
        assert_eq!(Verb::List.usage("/incident"), "/incident list");
        assert!(Verb::ALL.iter().all(|v| Verb::from_word(v.name()) == Some(*v)));
    }

    fn note(text: &str) -> Result<Command, UsageError> {
        parse(&format!("update INC-2026-001 {text}"))
    }

    fn noted(text: &str) -> Result<Command, UsageError> {
        Ok(Command::Update {
            id: id("INC-2026-001"),
            note: text.into(),
        })
    }

    #[test]
    fn quotes_and_apostrophes_are_told_apart() {
        assert_eq!(
            note("'quoted note'"),
            noted("quoted note"),
            "single quotes around words quote"
        );
        assert_eq!(note("it's Bob's"), noted("it's Bob's"), "apostrophes inside words stay");
        assert_eq!(
            note("'a 'b"),
            noted("'a 'b"),
            "a quote not ending a word closes nothing"
        );
        assert_eq!(note("'a'b"), noted("'a'b"));
        assert_eq!(note("a ' b"), noted("a ' b"), "a lone quote is a character");
        assert_eq!(note("a '"), noted("a '"));
        assert_eq!(
            note(r#""C:\temp\x" \n"#),
            noted(r#"C:\temp\x \n"#),
            "a backslash escapes only a quote or a backslash"
        );
        assert_eq!(note(r#""a\b""#), noted(r#"a\b"#));
    }

    #[test]
    fn every_length_limit_is_inclusive() {
        let exactly = "n".repeat(MAX_TEXT);
        assert_eq!(note(&exactly), noted(&exactly));
        fails(&format!("update INC-2026-001 {exactly}n"), Verb::Update, "too long");
        let service = "s".repeat(MAX_SERVICE);
        assert!(parse(&format!("declare --service {service} Down")).is_ok());
        fails(
            &format!("declare --service {service}s Down"),
            Verb::Declare,
            "not a service name",
        );
        let title = "t".repeat(MAX_TITLE);
        assert!(parse(&format!("declare {title}")).is_ok());
        fails(&format!("declare {title}t"), Verb::Declare, "title is too long");
        let description = "d".repeat(MAX_TEXT);
        assert!(parse(&format!("declare Down -d \"{description}\"")).is_ok());
        fails(
            &format!("declare Down -d \"{description}d\""),
            Verb::Declare,
            "description is too long",
        );
    }

    #[test]
    fn a_description_without_a_first_sentence_is_no_title() {
        fails("declare --description \".\"", Verb::Declare, "say what is wrong");
        fails("declare --description \"   \"", Verb::Declare, "needs a value");
    }

    #[test]
    fn long_derived_titles_are_cut_at_a_word_past_halfway() {
        // 75 characters, a space, then more: cut at that space.
        let late_space = format!("{} {}", "a".repeat(75), "b".repeat(20));
        assert_eq!(title_from_description(&late_space), format!("{}…", "a".repeat(75)));
        // The only space is early (before half of 80): a hard cut at 79 characters.
        let early_space = format!("{} {}", "a".repeat(10), "b".repeat(100));
        assert_eq!(
            title_from_description(&early_space),
            format!("{} {}…", "a".repeat(10), "b".repeat(68))
        );
        // A space right at half is not past it.
        let at_half = format!("{} {}", "a".repeat(40), "b".repeat(60));
        assert_eq!(
            title_from_description(&at_half),
            format!("{} {}…", "a".repeat(40), "b".repeat(38))
        );
        let past_half = format!("{} {}", "a".repeat(41), "b".repeat(60));
        assert_eq!(title_from_description(&past_half), format!("{}…", "a".repeat(41)));
    }

    #[test]
    fn assign_needs_a_person() {
        fails("assign INC-2026-001 @", Verb::Assign, "say who");
        fails("assign INC-2026-001 -x", Verb::Assign, "say who");
    }

    #[test]
    fn verbs_read_as_their_names_with_a_summary() {
        assert_eq!(Verb::Escalate.to_string(), "escalate");
        let summaries: Vec<&str> = Verb::ALL.iter().map(|v| v.summary()).collect();
        assert_eq!(summaries[0], "Declare a new incident");
        assert!(summaries.iter().all(|s| s.len() > 10), "{summaries:?}");
        let distinct: std::collections::BTreeSet<&str> = summaries.iter().copied().collect();
        assert_eq!(distinct.len(), Verb::ALL.len());
    }
}
