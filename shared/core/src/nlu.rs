//! Plain language: what a mention of the bot asks for.
//!
//! Deterministic and explainable: a tokenizer that knows the shapes people type (incident ids
//! in any spelling, severities, emoji; people come as the adapter's `Segment::User`s, never as
//! platform markup), a small vocabulary of trigger
//! words with typo tolerance (one edit, same first letter, for words of five letters or more),
//! and ordered rules. Every parse says which rule decided it (`because`). No model, no I/O: a
//! mention is understood in microseconds.
//!
//! Two safety rules shape everything: a state-changing intent needs something to act on (an
//! incident id, "it"/"this one", "the payments incident", a severity, a person), so chatter that
//! happens to contain a verb ("I resolved to drink more water") is not an instruction; and a
//! state-changing intent recognised only from indirect phrasing ("on it", "INC-7 is fixed")
//! gets a confidence below [`CONFIRM_BELOW`], so the bot asks before acting.

use serde::Serialize;

use crate::command::Segment;
use crate::incident::{IncidentId, Severity};

/// State-changing intents below this confidence are confirmed with a button, not acted on.
pub const CONFIRM_BELOW: f32 = 0.8;

/// What a mention asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Create,
    Acknowledge,
    Resolve,
    Close,
    Escalate,
    Assign,
    Update,
    Status,
    List,
    Count,
    Timeline,
    Oncall,
    Help,
    /// Greetings, thanks, chatter: a short help answer and no action.
    None,
}

impl Intent {
    pub const ALL: [Intent; 14] = [
        Intent::Create,
        Intent::Acknowledge,
        Intent::Resolve,
        Intent::Close,
        Intent::Escalate,
        Intent::Assign,
        Intent::Update,
        Intent::Status,
        Intent::List,
        Intent::Count,
        Intent::Timeline,
        Intent::Oncall,
        Intent::Help,
        Intent::None,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Intent::Create => "create",
            Intent::Acknowledge => "acknowledge",
            Intent::Resolve => "resolve",
            Intent::Close => "close",
            Intent::Escalate => "escalate",
            Intent::Assign => "assign",
            Intent::Update => "update",
            Intent::Status => "status",
            Intent::List => "list",
            Intent::Count => "count",
            Intent::Timeline => "timeline",
            Intent::Oncall => "oncall",
            Intent::Help => "help",
            Intent::None => "none",
        }
    }

    pub fn from_name(name: &str) -> Option<Intent> {
        Self::ALL.into_iter().find(|i| i.name() == name)
    }

    /// Whether acting on it changes an incident.
    pub fn changes(self) -> bool {
        matches!(
            self,
            Intent::Create
                | Intent::Acknowledge
                | Intent::Resolve
                | Intent::Close
                | Intent::Escalate
                | Intent::Assign
                | Intent::Update
        )
    }

    /// Whether it is about one incident (which the context may supply).
    pub fn needs_incident(self) -> bool {
        matches!(
            self,
            Intent::Acknowledge
                | Intent::Resolve
                | Intent::Close
                | Intent::Escalate
                | Intent::Assign
                | Intent::Update
                | Intent::Status
                | Intent::Timeline
        )
    }
}

/// Time ranges people ask about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeRange {
    Today,
    Yesterday,
    ThisWeek,
    ThisMonth,
    #[serde(rename = "last_7_days")]
    Last7Days,
    #[serde(rename = "last_24_hours")]
    Last24Hours,
    SinceMonday,
}

impl TimeRange {
    /// How a reply says it ("this week").
    pub fn phrase(self) -> &'static str {
        match self {
            TimeRange::Today => "today",
            TimeRange::Yesterday => "yesterday",
            TimeRange::ThisWeek => "this week",
            TimeRange::ThisMonth => "this month",
            TimeRange::Last7Days => "in the last 7 days",
            TimeRange::Last24Hours => "in the last 24 hours",
            TimeRange::SinceMonday => "since Monday",
        }
    }
}

/// What the sentence names. Canonical forms: `INC-2024-001`, `SEV-1`, a known service, a
/// platform user id, a time range; `text` keeps the person's own spelling.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Entities {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// `#3`: an incident of this channel, by its number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A piece a request cannot go without.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// Which incident (context, a war room or a question may supply it).
    Incident,
    /// A create's title.
    Title,
    /// An update's note.
    Note,
    /// Whom to assign.
    Assignee,
    /// Which service's on-call.
    Service,
}

impl Missing {
    /// The one short question that asks for it.
    pub fn question(self) -> &'static str {
        match self {
            Missing::Incident => "Which incident do you mean?",
            Missing::Title => "What is the incident about? Mention me again with a short title.",
            Missing::Note => "What should the update say? Mention me again with the note.",
            Missing::Assignee => "Who should own it? Mention me again with the person.",
            Missing::Service => "Which service?",
        }
    }
}

/// The understanding of one sentence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Parse {
    pub intent: Intent,
    pub entities: Entities,
    /// 0–1: how directly the sentence said it.
    pub confidence: f32,
    /// The question to ask: for a missing piece nothing else supplies, or to confirm a state
    /// change said indirectly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<Missing>,
    /// "assign to me".
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub to_self: bool,
    /// `user` is a platform mention (an id of this workspace), not a name typed in plain words.
    #[serde(skip)]
    pub user_is_mention: bool,
    /// Which rule decided, for people debugging a parse.
    pub because: String,
}

impl Parse {
    /// Whether acting needs a confirmation click first.
    pub fn needs_confirmation(&self) -> bool {
        self.intent.changes() && self.confidence < CONFIRM_BELOW
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Word,
    Id(String),
    Number(u64),
    Sev(Severity),
    User(String),
    /// `:` `,` `-` `?` `!` `.` `;`
    Punct(char),
}

#[derive(Clone, Debug)]
struct Tok {
    kind: Kind,
    /// Lowercase, apostrophes removed; for words, the trigger word it is a typo of.
    word: String,
    /// Whether `word` was corrected from a typo.
    corrected: bool,
    start: usize,
    end: usize,
}

impl Tok {
    fn is(&self, w: &str) -> bool {
        self.kind == Kind::Word && self.word == w
    }
    fn is_delim(&self) -> bool {
        matches!(self.kind, Kind::Punct(':' | ',' | '-' | '?' | ';' | '!' | '.'))
    }
}

/// Trigger words, which typos are corrected towards (same first letter, one edit, five letters
/// or more). Inflections are listed where they matter.
const VOCABULARY: &[&str] = &[
    "create",
    "declare",
    "incident",
    "incidents",
    "acknowledge",
    "acknowledged",
    "acknowledging",
    "resolve",
    "resolved",
    "resolving",
    "close",
    "closing",
    "escalate",
    "escalating",
    "severity",
    "assign",
    "assignee",
    "reassign",
    "transfer",
    "update",
    "updates",
    "progress",
    "status",
    "timeline",
    "history",
    "happened",
    "events",
    "details",
    "latest",
    "commands",
    "instructions",
    "rotation",
    "upgrade",
];

/// Short aliases people type.
const ALIASES: &[(&str, &str)] = &[
    ("hw", "how"),
    ("halp", "help"),
    ("pls", "please"),
    ("plz", "please"),
    ("thx", "thanks"),
    ("lsit", "list"),
    ("on-call", "oncall"),
    ("acks", "ack"),
    ("acked", "ack"),
    ("acking", "ack"),
];

/// Damerau–Levenshtein distance of at most one (one insertion, deletion, substitution or
/// adjacent transposition).
fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    if a == b {
        return true;
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    match la.cmp(&lb) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..] || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Less => ra == &rb[1..],
        std::cmp::Ordering::Greater => &ra[1..] == rb,
    }
}

fn correct(word: &str) -> Option<&'static str> {
    if let Some((_, to)) = ALIASES.iter().find(|(from, _)| *from == word) {
        return Some(to);
    }
    if word.chars().count() < 5 || VOCABULARY.contains(&word) {
        return None;
    }
    let first = word.chars().next();
    VOCABULARY
        .iter()
        .find(|v| v.chars().next() == first && within_one_edit(word, v))
        .copied()
}

fn severity_word(word: &str) -> Option<Severity> {
    let w = word
        .strip_suffix('s')
        .filter(|w| w.ends_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(word);
    let digits = w
        .strip_prefix("sev")
        .map(|d| d.trim_start_matches(['-', '_']))
        .or_else(|| w.strip_prefix('p').filter(|d| d.len() == 1));
    match (digits, w) {
        (Some("1"), _) | (_, "critical") => Some(Severity::Sev1),
        (Some("2"), _) | (_, "major") => Some(Severity::Sev2),
        (Some("3"), _) => Some(Severity::Sev3),
        (Some("4"), _) => Some(Severity::Sev4),
        _ => None,
    }
}

fn incident_word(word: &str) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    if !lower.starts_with("inc-") || !lower[4..].starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    IncidentId::parse(word).ok().map(|id| id.to_string())
}

/// People among the sentence's text: (start, end, id).
type People = Vec<(usize, usize, String)>;

/// A mention's segments as one text (people as `@name`), with where the people stand. The
/// adapters recognise their platform's markup; the parser only sees neutral segments.
fn flatten(segments: &[Segment]) -> (String, People) {
    let mut text = String::new();
    let mut people = Vec::new();
    for segment in segments {
        let start = text.len();
        text.push_str(&segment.plain_text());
        if let Segment::User(u) = segment {
            people.push((start, text.len(), u.id.clone()));
        }
    }
    (text, people)
}

fn tokenize(text: &str, users: &[(usize, usize, String)]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    let push = |out: &mut Vec<Tok>, kind: Kind, word: String, start: usize, end: usize| {
        out.push(Tok {
            kind,
            word,
            corrected: false,
            start,
            end,
        });
    };
    while let Some(c) = text[i..].chars().next() {
        let rest = &text[i..];
        // A person (a mention the platform's adapter recognised): one token over its text.
        if let Some((end, id)) = users
            .iter()
            .find(|(start, _, _)| *start == i)
            .map(|(_, end, id)| (*end, id))
        {
            push(&mut out, Kind::User(id.clone()), String::new(), i, end);
            i = end;
            continue;
        }
        // `@incident-bot`: the bot's own name in plain text.
        if c == '@' {
            let len = rest[1..]
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '-' || ch == '_' || ch == '.'))
                .map_or(rest.len(), |n| n + 1);
            i += len;
            continue;
        }
        if c == '#' && rest[1..].starts_with(|d: char| d.is_ascii_digit()) {
            let len = rest[1..]
                .find(|d: char| !d.is_ascii_digit())
                .map_or(rest.len(), |n| n + 1);
            let number = rest[1..len].parse().unwrap_or(0);
            push(
                &mut out,
                Kind::Number(number),
                format!("#{}", &rest[1..len]),
                i,
                i + len,
            );
            // A number after `#` is an incident of the channel; marked by the leading `#`.
            i += len;
            continue;
        }
        if c.is_alphanumeric() {
            let mut end = i;
            for (off, ch) in rest.char_indices() {
                // The first character is alphanumeric: hyphens and apostrophes only join words.
                let inner = ch.is_alphanumeric() || matches!(ch, '_' | '-' | '\'' | '’');
                if !inner {
                    break;
                }
                end = i + off + ch.len_utf8();
            }
            // No trailing hyphen or apostrophe.
            while let Some(last @ ('-' | '\'' | '’')) = text[i..end].chars().last() {
                end -= last.len_utf8();
            }
            let raw = &text[i..end];
            let lower: String = raw
                .to_lowercase()
                .chars()
                .filter(|&ch| ch != '\'' && ch != '’')
                .collect();
            let kind = if let Some(id) = incident_word(raw) {
                Kind::Id(id)
            } else if let Some(sev) = severity_word(&lower) {
                Kind::Sev(sev)
            } else if let Ok(n) = lower.parse::<u64>() {
                Kind::Number(n)
            } else {
                Kind::Word
            };
            push(&mut out, kind, lower, i, end);
            i = end;
            continue;
        }
        if matches!(c, ':' | ',' | '-' | '?' | ';' | '!' | '.') {
            push(&mut out, Kind::Punct(c), c.to_string(), i, i + c.len_utf8());
        }
        i += c.len_utf8();
    }
    // `sev 2`: one severity.
    let mut merged: Vec<Tok> = Vec::with_capacity(out.len());
    for tok in out {
        if let Kind::Number(n @ 1..=4) = tok.kind
            && !tok.word.starts_with('#')
            && let Some(prev) = merged.last_mut()
            && prev.is("sev")
        {
            prev.kind = Kind::Sev(Severity::ALL[usize::try_from(n - 1).unwrap_or(0)]);
            prev.end = tok.end;
            continue;
        }
        merged.push(tok);
    }
    for tok in &mut merged {
        if tok.kind == Kind::Word
            && let Some(fixed) = correct(&tok.word)
        {
            tok.corrected = !ALIASES.iter().any(|(from, _)| *from == tok.word);
            tok.word = fixed.to_string();
        }
    }
    merged
}

/// The services a word names: exact, plural/singular, or one typo away (five letters or more,
/// same first letter).
fn service_of(word: &str, services: &[String]) -> Option<String> {
    let exact = services.iter().find(|s| {
        s.as_str() == word
            || word.strip_suffix('s') == Some(s.as_str())
            || word.strip_suffix("es") == Some(s.as_str())
            || s.strip_suffix('s') == Some(word)
    });
    exact
        .or_else(|| {
            (word.chars().count() >= 5)
                .then(|| {
                    services
                        .iter()
                        .find(|s| s.chars().next() == word.chars().next() && within_one_edit(word, s))
                })
                .flatten()
        })
        .cloned()
}

/// Where free text may start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    /// After the request's own words, delimiter or not ("resolve INC-7 failover worked").
    Anywhere,
    /// Only after a delimiter ("close INC-7, postmortem done"; not "close INC-7 after review").
    Delimiter,
    /// A note: like `Anywhere`, and past a delimiter every word is the note's.
    Note,
}

struct Sentence<'a> {
    text: &'a str,
    toks: Vec<Tok>,
    services: &'a [String],
}

/// Words that carry the request's structure rather than its free text.
const STRUCTURAL: &[&str] = &[
    "the",
    "a",
    "an",
    "it",
    "this",
    "that",
    "one",
    "incident",
    "outage",
    "issue",
    "please",
    "pls",
    "as",
    "to",
    "on",
    "for",
    "with",
    "of",
    "and",
    "is",
    "now",
    "thanks",
    "thank",
    "you",
    "ty",
    "down",
    "its",
    "done",
    "mark",
    "out",
    "all",
    "clear",
    "timeline",
    "note",
    "update",
    "resolve",
    "resolved",
    "resolving",
    "fixed",
    "close",
    "closing",
    "archive",
    "acknowledge",
    "ack",
    "acknowledging",
    "acknowledged",
    "progress",
    "log",
    "fyi",
    "add",
    "shut",
    "ok",
    "service",
];

impl<'a> Sentence<'a> {
    fn words(&self) -> impl Iterator<Item = (usize, &Tok)> {
        self.toks.iter().enumerate().filter(|(_, t)| t.kind == Kind::Word)
    }

    fn has(&self, w: &str) -> bool {
        self.words().any(|(_, t)| t.word == w)
    }

    fn has_any(&self, ws: &[&str]) -> bool {
        self.words().any(|(_, t)| ws.contains(&t.word.as_str()))
    }

    fn pos(&self, ws: &[&str]) -> Option<usize> {
        self.words()
            .find(|(_, t)| ws.contains(&t.word.as_str()))
            .map(|(i, _)| i)
    }

    /// Consecutive words (punctuation in between breaks the phrase).
    fn phrase(&self, ws: &[&str]) -> Option<usize> {
        (0..self.toks.len()).find(|&i| {
            ws.iter().enumerate().all(|(k, w)| {
                self.toks
                    .get(i + k)
                    .is_some_and(|t| t.kind == Kind::Word && t.word == *w)
            })
        })
    }

    fn corrected(&self, ws: &[&str]) -> bool {
        self.words().any(|(_, t)| t.corrected && ws.contains(&t.word.as_str()))
    }

    fn id(&self) -> Option<String> {
        self.toks.iter().find_map(|t| match &t.kind {
            Kind::Id(id) => Some(id.clone()),
            _ => None,
        })
    }

    fn severity(&self) -> Option<Severity> {
        self.toks.iter().find_map(|t| match t.kind {
            Kind::Sev(s) => Some(s),
            _ => None,
        })
    }

    fn user(&self) -> Option<String> {
        self.toks.iter().find_map(|t| match &t.kind {
            Kind::User(u) => Some(u.clone()),
            _ => None,
        })
    }

    /// "… to bob": a person named in plain words after "to" (not "me").
    fn name_after_to(&self) -> Option<String> {
        self.toks.windows(2).find_map(|w| {
            (w[0].is("to")
                && w[1].kind == Kind::Word
                && !["me", "the", "a", "an", "it", "sev"].contains(&w[1].word.as_str())
                && w[1]
                    .word
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-')))
            .then(|| self.text[w[1].start..w[1].end].to_string())
        })
    }

    fn hash_number(&self) -> Option<u64> {
        self.toks.iter().find_map(|t| match t.kind {
            Kind::Number(n) if t.word.starts_with('#') => Some(n),
            _ => None,
        })
    }

    fn service_in(&self, range: std::ops::Range<usize>) -> Option<String> {
        self.toks[range]
            .iter()
            .filter(|t| t.kind == Kind::Word)
            .find_map(|t| service_of(&t.word, self.services))
    }

    /// "the payments incident", "the checkout one", "the checkout outage".
    fn service_reference(&self) -> bool {
        self.words().any(|(i, t)| {
            service_of(&t.word, self.services).is_some()
                && self.toks.get(i + 1).is_some_and(|n| {
                    n.kind == Kind::Word
                        && ["incident", "one", "outage", "issue", "incidents"].contains(&n.word.as_str())
                })
        })
    }

    /// "it", "this one", "this incident", "this" at the end or before "to".
    fn pronoun(&self) -> bool {
        self.words().any(|(i, t)| {
            let next = self.toks.get(i + 1);
            match t.word.as_str() {
                "it" => true,
                "this" | "that" => {
                    next.is_none_or(|n| n.is_delim() || ["one", "incident", "to", "down"].contains(&n.word.as_str()))
                }
                _ => false,
            }
        })
    }

    /// Something a state change can act on.
    fn target(&self) -> bool {
        self.id().is_some() || self.hash_number().is_some() || self.pronoun() || self.service_reference()
    }

    fn time_range(&self) -> Option<TimeRange> {
        let ranges: [(&[&str], TimeRange); 9] = [
            (&["since", "monday"], TimeRange::SinceMonday),
            (&["this", "week"], TimeRange::ThisWeek),
            (&["this", "month"], TimeRange::ThisMonth),
            (&["last", "24", "hours"], TimeRange::Last24Hours),
            (&["past", "24", "hours"], TimeRange::Last24Hours),
            (&["last", "7", "days"], TimeRange::Last7Days),
            (&["past", "7", "days"], TimeRange::Last7Days),
            (&["today"], TimeRange::Today),
            (&["yesterday"], TimeRange::Yesterday),
        ];
        ranges.into_iter().find_map(|(ws, r)| {
            (0..self.toks.len())
                .any(|i| {
                    ws.iter()
                        .enumerate()
                        .all(|(k, w)| self.toks.get(i + k).is_some_and(|t| t.word == *w))
                })
                .then_some(r)
        })
    }

    /// Free text from the first token after `from` that is not structure, to the end: `None`
    /// when there is none, or (`After::Delimiter`) when no delimiter came first.
    fn text_after(&self, from: usize, mode: After) -> Option<(usize, String)> {
        let mut crossed = false;
        for (i, t) in self.toks.iter().enumerate().skip(from) {
            if t.is_delim() || (t.is("that") && !crossed) {
                crossed = true;
                continue;
            }
            let structural = match &t.kind {
                Kind::Word => STRUCTURAL.contains(&t.word.as_str()) || service_of(&t.word, self.services).is_some(),
                Kind::Number(_) => t.word.starts_with('#'),
                _ => true,
            };
            // Past the delimiter a note is the person's own words, whatever they are; a service
            // named there is part of the text.
            let literal = crossed && (mode == After::Note || service_of(&t.word, self.services).is_some());
            if structural && !literal {
                continue;
            }
            if mode == After::Delimiter && !crossed {
                return None;
            }
            return self.clean(i, self.toks.len()).map(|s| (i, s));
        }
        None
    }

    /// The original text of tokens `from..to`, without trailing pleasantries and punctuation.
    fn clean(&self, from: usize, mut to: usize) -> Option<String> {
        while to > from {
            let last = &self.toks[to - 1];
            if last.is_delim() || ["please", "thanks", "thank", "you", "ty"].contains(&last.word.as_str()) {
                to -= 1;
            } else {
                break;
            }
        }
        if to <= from {
            return None;
        }
        // To the end of the text when nothing was cut (keeps `2%`, emoji), else to the last token.
        let end = if to == self.toks.len() {
            self.text.len()
        } else {
            self.toks[to - 1].end
        };
        // Trailing punctuation and pleasantries were cut as tokens above; what follows the last
        // token (emoji, `%`) is kept.
        Some(self.text[self.toks[from].start..end].trim().to_string()).filter(|t| !t.is_empty())
    }

    /// A create's title: after the head noun ("incident", "sev1"), past "for", delimiters and
    /// severities; a trailing ", P1" is not part of it.
    fn title(&self, head: usize) -> Option<String> {
        // The head itself is "incident" or a severity: skipped like what follows it.
        let mut i = head;
        while let Some(t) = self.toks.get(i) {
            let skip = t.is_delim()
                || matches!(t.kind, Kind::Sev(_))
                || (t.kind == Kind::Word && ["for", "about", "regarding", "re", "incident"].contains(&t.word.as_str()));
            if !skip {
                break;
            }
            i += 1;
        }
        let mut to = self.toks.len();
        while let Some(last) = self.toks[i..to].last()
            && (last.is_delim() || matches!(last.kind, Kind::Sev(_)))
        {
            to -= 1;
        }
        self.clean(i, to)
    }
}

struct Decision {
    intent: Intent,
    confidence: f32,
    because: String,
    /// Where the request's own words end and its free text may begin.
    trigger: Option<usize>,
}

fn decide(s: &Sentence<'_>) -> Decision {
    let d = |intent, confidence, because: &str, trigger| Decision {
        intent,
        confidence,
        because: because.to_string(),
        trigger,
    };
    let typo = |ws: &[&str], base: f32| if s.corrected(ws) { base.min(0.85) } else { base };
    let words = s.words().count();
    if words == 0 {
        return if s.toks.iter().any(|t| t.kind == Kind::Punct('?')) {
            d(Intent::Help, 0.9, "a bare question mark", None)
        } else {
            d(Intent::None, 0.9, "no words", None)
        };
    }
    // Questions about the bot itself.
    if s.has_any(&["help", "usage", "commands", "instructions"])
        || s.phrase(&["how", "do", "i"]).is_some()
        || s.phrase(&["how", "does"]).is_some()
        || s.phrase(&["what", "can", "you"]).is_some()
        || s.phrase(&["what", "can", "i"]).is_some()
    {
        return d(Intent::Help, 0.95, "asks how to use the bot", None);
    }
    if s.phrase(&["how", "many"]).is_some() || s.has_any(&["count", "total"]) || s.phrase(&["number", "of"]).is_some() {
        return d(Intent::Count, 0.95, "asks how many", None);
    }
    if s.has_any(&["oncall", "pager"])
        || s.phrase(&["on", "call"]).is_some()
        || (s.has("who") && s.has_any(&["page", "ping"]))
    {
        return d(Intent::Oncall, 0.95, "asks who is on call", None);
    }
    // Create: a create verb, then (a/an/new/major…) "incident" or a severity.
    let create_verbs = [
        "create", "declare", "open", "start", "raise", "file", "kick", "need", "new",
    ];
    for (i, t) in s.words() {
        if !create_verbs.contains(&t.word.as_str()) {
            continue;
        }
        let mut j = i + 1;
        let mut article = false;
        while let Some(n) = s.toks.get(j) {
            let filler = n.kind == Kind::Word && ["a", "an", "new", "off", "another"].contains(&n.word.as_str());
            if filler {
                article |= n.word != "off";
                j += 1;
            } else {
                break;
            }
        }
        let Some(head) = s.toks.get(j) else { continue };
        let noun = head.is("incident") || (matches!(head.kind, Kind::Sev(_)) && !head.word.ends_with('s'));
        let needs_article = t.word == "open" || t.word == "need";
        let new_incident = t.word == "new" && i == 0 && head.is("incident");
        if (noun && (article || !needs_article) && t.word != "new") || new_incident {
            let conf = typo(&create_verbs, 0.95);
            return d(
                Intent::Create,
                conf,
                "a create verb before \"incident\" or a severity",
                Some(j),
            );
        }
    }
    // Update: a note word, then a note after a delimiter, an id or "that"; or "update it" /
    // "update INC-…" leading the sentence with no note yet (the note is asked for).
    if let Some(p) = s.pos(&["update", "note", "log", "progress", "fyi"])
        && !s.toks.get(p.wrapping_sub(1)).is_some_and(|t| t.is("the"))
    {
        // The note word itself is structure, so the note is looked for from it.
        match s.text_after(p, After::Note) {
            Some((start, _)) => {
                let crossed = s.toks[p..start].iter().any(|t| t.is_delim() || t.is("that"));
                if crossed || s.id().is_some() {
                    return d(
                        Intent::Update,
                        typo(&["update"], 0.95),
                        "a note word followed by a note",
                        Some(p),
                    );
                }
            }
            None if s.words().next().is_some_and(|(i, _)| i == p) && s.target() => {
                return d(
                    Intent::Update,
                    0.9,
                    "\"update\" with an incident and no note yet",
                    Some(p),
                );
            }
            None => {}
        }
    }
    // Assign: a person and an ownership word, or "assign … to me".
    let owner_words = [
        "assign", "reassign", "assignee", "owner", "own", "transfer", "hand", "give", "take",
    ];
    if s.has_any(&["assign", "reassign", "assignee"])
        && (s.user().is_some() || s.phrase(&["to", "me"]).is_some() || s.target())
        || (s.user().is_some() && s.has_any(&owner_words))
    {
        let direct = s.has_any(&["assign", "reassign", "assignee", "owner", "transfer"]);
        return d(
            Intent::Assign,
            typo(&["assign"], if direct { 0.95 } else { 0.85 }),
            "a person and an ownership word",
            s.pos(&owner_words),
        );
    }
    // Escalate: a severity change, or "escalate" with something to act on.
    let sev_change = (s.has_any(&["raise", "set", "change", "increase"]) && s.has("severity"))
        || (s.has("make") && s.pronoun() && s.severity().is_some());
    if sev_change {
        return d(Intent::Escalate, 0.9, "sets the severity", s.pos(&["severity", "make"]));
    }
    if s.has_any(&["escalate", "escalating", "bump", "upgrade"]) && (s.target() || s.severity().is_some()) {
        let direct = s.has_any(&["escalate", "escalating"]);
        return d(
            Intent::Escalate,
            typo(&["escalate", "escalating", "upgrade"], if direct { 0.95 } else { 0.75 }),
            "an escalate word with an incident or severity",
            s.pos(&["escalate", "escalating", "bump", "upgrade"]),
        );
    }
    if s.has_any(&["close", "closing", "closed"]) && s.target() {
        return d(
            Intent::Close,
            typo(&["close", "closing"], 0.95),
            "a close word with an incident",
            s.pos(&["close", "closing", "closed"]),
        );
    }
    if s.has("shut") && s.target() && s.has("down") {
        return d(Intent::Close, 0.7, "\"shut … down\" with an incident", s.pos(&["shut"]));
    }
    if s.has_any(&["resolve", "resolved", "resolving"]) && s.target() {
        return d(
            Intent::Resolve,
            typo(&["resolve", "resolved", "resolving"], 0.95),
            "a resolve word with an incident",
            s.pos(&["resolve", "resolved", "resolving"]),
        );
    }
    if (s.has("fixed") || s.phrase(&["all", "clear"]).is_some()) && s.target() {
        return d(
            Intent::Resolve,
            0.7,
            "\"fixed\" / \"all clear\" with an incident",
            s.pos(&["fixed", "clear"]),
        );
    }
    let ack_words = ["ack", "acknowledge", "acknowledged", "acknowledging"];
    if s.has_any(&ack_words) && s.target() {
        return d(
            Intent::Acknowledge,
            typo(&ack_words, 0.95),
            "an acknowledge word with an incident",
            s.pos(&ack_words),
        );
    }
    let taking = (s.has_any(&["taking", "take"]) && s.target())
        || s.phrase(&["on", "it"]).is_some()
        || (s.phrase(&["im", "on"]).is_some() && s.id().is_some());
    if taking {
        return d(
            Intent::Acknowledge,
            0.7,
            "\"on it\" / \"taking …\": acknowledging, said indirectly",
            s.pos(&["taking", "take", "on"]),
        );
    }
    let timeline_words = ["timeline", "history", "events", "happened", "recap", "audit", "updates"];
    if s.has_any(&timeline_words) || s.phrase(&["been", "done"]).is_some() || s.phrase(&["did", "we", "do"]).is_some() {
        return d(Intent::Timeline, 0.9, "asks what happened", None);
    }
    if s.id().is_none() {
        let listy = s.has_any(&["incidents", "list"])
            || s.toks
                .iter()
                .any(|t| matches!(t.kind, Kind::Sev(_)) && t.word.ends_with('s'))
            || (s.has("what") || s.has("whats")) && s.has("open")
            || s.phrase(&["on", "fire"]).is_some()
            || s.phrase(&["dealing", "with"]).is_some();
        if listy && !s.service_reference() {
            return d(Intent::List, 0.9, "asks what is open", None);
        }
    }
    let status_words = [
        "status", "latest", "news", "details", "going", "working", "about", "show",
    ];
    if s.target() && (s.has_any(&status_words) || s.id().is_some() || s.service_reference()) {
        return d(Intent::Status, 0.9, "asks about one incident", None);
    }
    if s.has_any(&["incidents"]) {
        return d(Intent::List, 0.8, "mentions incidents", None);
    }
    d(Intent::None, 0.9, "no request recognised", None)
}

/// "Do you want me to resolve INC-2024-002?": the confirmation of a state change said
/// indirectly.
pub fn confirm_question(intent: Intent, what: &str) -> String {
    match intent {
        Intent::Create => format!("Do you want me to declare an incident “{what}”?"),
        Intent::Update => format!("Do you want me to add this update to {what}?"),
        other => format!("Do you want me to {} {what}?", other.name()),
    }
}

/// Understands one sentence (its segments, as the platform's adapter read them), given the
/// services the system knows.
pub fn understand(segments: &[Segment], services: &[String]) -> Parse {
    let (text, people) = flatten(segments);
    let s = Sentence {
        text: &text,
        toks: tokenize(&text, &people),
        services,
    };
    let decision = decide(&s);
    let intent = decision.intent;
    let mut entities = Entities::default();
    let mut to_self = false;
    if intent != Intent::None && intent != Intent::Help {
        // Free text, and where the request's own words end.
        let (text, head_end) = match intent {
            Intent::Create => (decision.trigger.and_then(|h| s.title(h)), s.toks.len()),
            Intent::Update | Intent::Resolve => {
                let mode = if intent == Intent::Update {
                    After::Note
                } else {
                    After::Anywhere
                };
                match decision.trigger.and_then(|t| s.text_after(t + 1, mode)) {
                    Some((start, text)) => (Some(text), start),
                    None => (None, s.toks.len()),
                }
            }
            Intent::Close | Intent::Acknowledge => {
                match decision.trigger.and_then(|t| s.text_after(t + 1, After::Delimiter)) {
                    Some((start, text)) => (Some(text), start),
                    None => (None, s.toks.len()),
                }
            }
            _ => (None, s.toks.len()),
        };
        entities.text = text;
        entities.incident_id = s.id();
        entities.incident_number = s.hash_number();
        entities.severity = s.severity();
        entities.service = s.service_in(0..head_end);
        entities.user = s
            .user()
            .or_else(|| (intent == Intent::Assign).then(|| s.name_after_to()).flatten());
        if matches!(intent, Intent::List | Intent::Count) {
            entities.time_range = s.time_range();
        }
        to_self = intent == Intent::Assign && entities.user.is_none() && s.phrase(&["to", "me"]).is_some();
    }
    let mut missing = Vec::new();
    let has_incident =
        entities.incident_id.is_some() || entities.incident_number.is_some() || entities.service.is_some();
    if intent.needs_incident() && !has_incident {
        missing.push(Missing::Incident);
    }
    match intent {
        Intent::Create if entities.text.is_none() => missing.push(Missing::Title),
        Intent::Update if entities.text.is_none() => missing.push(Missing::Note),
        Intent::Assign if entities.user.is_none() && !to_self => missing.push(Missing::Assignee),
        Intent::Oncall if entities.service.is_none() => missing.push(Missing::Service),
        _ => {}
    }
    let confirm = (intent.changes() && decision.confidence < CONFIRM_BELOW).then(|| {
        let what = entities
            .incident_id
            .clone()
            .or_else(|| entities.service.as_ref().map(|s| format!("the {s} incident")))
            .unwrap_or_else(|| "it".into());
        confirm_question(intent, &what)
    });
    Parse {
        intent,
        entities,
        confidence: decision.confidence,
        question: missing.first().map(|m| m.question().to_string()).or(confirm),
        missing,
        to_self,
        user_is_mention: s.user().is_some(),
        because: decision.because,
    }
}

/// How the parser does on an evaluation file (JSON lines `{"text", "intent", "entities"}`):
/// a line is right when the intent and every entity match exactly.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// Per expected intent: (right, lines).
    pub per_intent: std::collections::BTreeMap<String, (usize, usize)>,
    /// What went wrong, one line each.
    pub misses: Vec<String>,
    /// Chatter lines that came out as a state change (must be none).
    pub chatter_acting: Vec<String>,
    /// Lines that could not be read.
    pub unreadable: Vec<String>,
}

impl Evaluation {
    pub fn lines(&self) -> usize {
        self.per_intent.values().map(|t| t.1).sum()
    }

    pub fn accuracy(&self) -> f64 {
        let right: usize = self.per_intent.values().map(|t| t.0).sum();
        right as f64 / self.lines().max(1) as f64
    }

    /// Accuracy per intent and the misses, as a person reads them.
    pub fn report(&self) -> String {
        let mut out = String::new();
        for (intent, (ok, all)) in &self.per_intent {
            out.push_str(&format!(
                "  {intent:<12} {ok:>3} / {all:<3} {:>5.1} %\n",
                100.0 * *ok as f64 / *all as f64
            ));
        }
        let right: usize = self.per_intent.values().map(|t| t.0).sum();
        out.push_str(&format!(
            "  overall      {right:>3} / {:<3} {:>5.1} %\n",
            self.lines(),
            100.0 * self.accuracy()
        ));
        for miss in &self.misses {
            out.push_str(&format!("  wrong: {miss}\n"));
        }
        out
    }
}

/// Runs [`understand`] over every line of `jsonl`, each text read into segments by `read` (a
/// platform's own reading: the corpus is written as Slack delivers mentions).
pub fn evaluate(jsonl: &str, services: &[String], read: impl Fn(&str) -> Vec<Segment>) -> Evaluation {
    let mut e = Evaluation::default();
    for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            e.unreadable.push(line.to_string());
            continue;
        };
        let (Some(text), Some(expected)) = (v["text"].as_str(), v["intent"].as_str()) else {
            e.unreadable.push(line.to_string());
            continue;
        };
        let parse = understand(&read(text), services);
        let got = serde_json::to_value(&parse.entities).unwrap_or_default();
        let right = parse.intent.name() == expected && got == v["entities"];
        let tally = e.per_intent.entry(expected.to_string()).or_default();
        tally.1 += 1;
        if right {
            tally.0 += 1;
        } else {
            e.misses.push(format!(
                "{text:?}: expected {expected} {}, got {} {got} ({})",
                v["entities"],
                parse.intent.name(),
                parse.because
            ));
        }
        if expected == "none" && parse.intent.changes() {
            e.chatter_acting.push(text.to_string());
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Vec<String> {
        ["payments", "checkout", "database", "api"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn parse(text: &str) -> Parse {
        understand(&[Segment::Text(text.into())], &services())
    }

    /// "assign it to " and a person the adapter recognised.
    fn with_person(text: &str, id: &str, name: Option<&str>) -> Parse {
        let person = crate::incident::UserRef::new(id, name.map(str::to_string));
        understand(&[Segment::Text(text.into()), Segment::User(person)], &services())
    }

    #[test]
    fn one_edit_means_one_insertion_deletion_substitution_or_swap() {
        assert!(within_one_edit("resolve", "resolve"));
        assert!(within_one_edit("reslove", "resolve"), "swap");
        assert!(within_one_edit("creat", "create"), "deletion");
        assert!(within_one_edit("closee", "close"), "insertion");
        assert!(within_one_edit("clase", "close"), "substitution");
        assert!(!within_one_edit("clsaoe", "close"));
        assert!(!within_one_edit("cl", "close"));
        assert!(!within_one_edit("resolev", "resolves"));
        assert!(!within_one_edit("abcd", "abdx"));
    }

    #[test]
    fn typos_are_corrected_only_towards_trigger_words_of_five_letters_or_more() {
        assert_eq!(correct("escalte"), Some("escalate"));
        assert_eq!(correct("mixed"), None, "first letter differs from fixed");
        assert_eq!(correct("last"), None, "too short to guess");
        assert_eq!(correct("clos"), None, "four letters are too short to guess");
        assert_eq!(correct("creat"), Some("create"), "five letters are enough");
        assert_eq!(correct("lsit"), Some("list"), "a listed alias");
        assert_eq!(correct("resolve"), None, "already a trigger word");
    }

    #[test]
    fn incident_ids_severities_and_people_in_every_spelling() {
        let p = parse("escalate inc-2024-5 to sev 2");
        assert_eq!(p.entities.incident_id.as_deref(), Some("INC-2024-005"));
        assert_eq!(p.entities.severity, Some(Severity::Sev2));
        for (text, sev) in [
            ("P1", Severity::Sev1),
            ("sev-3", Severity::Sev3),
            ("SEV4", Severity::Sev4),
            ("major", Severity::Sev2),
        ] {
            assert_eq!(
                parse(&format!("escalate it to {text}")).entities.severity,
                Some(sev),
                "{text}"
            );
        }
        let ann = with_person("assign it to ", "U1", Some("Ann Lee"));
        assert_eq!((ann.entities.user.as_deref(), ann.user_is_mention), (Some("U1"), true));
        assert_eq!(with_person("give ", "42", None).entities.user.as_deref(), Some("42"));
        assert_eq!(parse("ack #3").entities.incident_number, Some(3));
        assert_eq!(
            parse("assign it to Bob").entities.user.as_deref(),
            Some("Bob"),
            "a name"
        );
        assert_eq!(parse("assign it to me").entities.user, None);
        assert_eq!(
            parse("escalate it to sev1").entities.user,
            None,
            "only assignments name people"
        );
    }

    #[test]
    fn services_match_plurals_singulars_and_one_typo() {
        let known: Vec<String> = ["payments", "search", "auth", "database"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let of = |w: &str| service_of(w, &known);
        assert_eq!(of("payments").as_deref(), Some("payments"));
        assert_eq!(of("payment").as_deref(), Some("payments"), "singular");
        assert_eq!(of("databases").as_deref(), Some("database"), "plural");
        assert_eq!(of("searches").as_deref(), Some("search"), "plural in -es");
        assert_eq!(of("paymnts").as_deref(), Some("payments"), "one typo");
        assert_eq!(of("auth").as_deref(), Some("auth"));
        assert_eq!(of("aut"), None, "too short to guess");
        assert_eq!(of("xatabase"), None, "typos keep the first letter");
        assert_eq!(of("datbase").as_deref(), Some("database"));
        assert_eq!(of("billing"), None);
    }

    #[test]
    fn typos_and_indirect_phrasing_lower_the_confidence() {
        assert_eq!(parse("resolve INC-2024-001").confidence, 0.95);
        assert_eq!(parse("reslove INC-2024-001").confidence, 0.85, "a typo'd verb");
        assert_eq!(parse("INC-2024-001 is fixed").confidence, 0.7);
    }

    #[test]
    fn what_counts_as_something_to_act_on() {
        assert_eq!(parse("close the payments one").intent, Intent::Close);
        assert_eq!(
            parse("resolve the checkout outage").entities.service.as_deref(),
            Some("checkout")
        );
        assert_eq!(
            parse("close payments").intent,
            Intent::None,
            "a service alone is no incident"
        );
        assert_eq!(parse("close this").intent, Intent::Close);
        assert_eq!(parse("close that one").intent, Intent::Close);
        assert_eq!(parse("escalate this to sev1").intent, Intent::Escalate);
        assert_eq!(parse("close this year").intent, Intent::None);
        assert_eq!(parse("close that deal").intent, Intent::None);
    }

    #[test]
    fn a_note_keeps_its_own_words() {
        let p = parse("log on INC-2024-001 that we paged the team that owns DNS");
        assert_eq!(p.entities.text.as_deref(), Some("we paged the team that owns DNS"));
        let p = parse("update INC-2024-001: checkout and payments recovered");
        assert_eq!(p.entities.text.as_deref(), Some("checkout and payments recovered"));
        assert_eq!(p.entities.service, None, "services in the note are the note's");
    }

    #[test]
    fn notes_lose_trailing_pleasantries_and_keep_a_leading_that() {
        let note = |t: &str| parse(t).entities.text;
        assert_eq!(
            note("update INC-2024-001: cache flushed thanks").as_deref(),
            Some("cache flushed")
        );
        assert_eq!(
            note("update INC-2024-001: cache flushed, thank you!").as_deref(),
            Some("cache flushed")
        );
        assert_eq!(
            note("update INC-2024-001: that fixed it").as_deref(),
            Some("that fixed it")
        );
        assert_eq!(
            note("update INC-2024-001: queue at 2% 🎉").as_deref(),
            Some("queue at 2% 🎉")
        );
        assert_eq!(
            note("declare a major incident for the db, sev2 P1").as_deref(),
            Some("the db")
        );
        assert_eq!(
            parse("declare a major incident for the db").entities.severity,
            Some(Severity::Sev2)
        );
    }

    #[test]
    fn near_misses_of_the_rules_are_not_taken() {
        let intent = |t: &str| parse(t).intent;
        assert_eq!(
            intent("I need incident reports by friday"),
            Intent::None,
            "need without an article"
        );
        assert_eq!(intent("there is a new incident process"), Intent::None);
        assert_eq!(intent("new incident: db down"), Intent::Create);
        assert_eq!(
            intent("any update on INC-2024-005?"),
            Intent::Status,
            "asks, does not note"
        );
        assert_eq!(intent("what is the severity of INC-2024-001?"), Intent::Status);
        assert_eq!(intent("it is a sev2 now"), Intent::None, "no make, no escalation");
        assert_eq!(intent("INC-2024-001 went down"), Intent::Status, "down without shut");
        assert_eq!(intent("shut down the coffee machine"), Intent::None);
        assert_eq!(intent("what is this?"), Intent::None);
        assert!(parse("resolve the database incident").missing.is_empty());
        assert!(parse("ack #3").missing.is_empty());
    }

    #[test]
    fn chatter_with_a_verb_is_not_an_instruction() {
        for text in [
            "I resolved to drink more water",
            "closing time at the pub",
            "update my calendar please",
            "status: tired",
        ] {
            assert_eq!(parse(text).intent, Intent::None, "{text}");
        }
    }

    #[test]
    fn indirect_state_changes_ask_for_confirmation() {
        let p = parse("INC-2024-002 is fixed");
        assert_eq!(p.intent, Intent::Resolve);
        assert!(p.needs_confirmation());
        assert_eq!(p.question.as_deref(), Some("Do you want me to resolve INC-2024-002?"));
        let p = parse("resolve INC-2024-002");
        assert!(!p.needs_confirmation());
        assert!(
            !parse("show me INC-2024-002").needs_confirmation(),
            "reads never confirm"
        );
    }

    #[test]
    fn time_ranges_read_back_as_people_say_them() {
        let phrases: Vec<&str> = [
            "today",
            "yesterday",
            "this week",
            "this month",
            "in the last 7 days",
            "in the last 24 hours",
            "since monday",
        ]
        .iter()
        .map(|t| {
            let p = parse(&format!("how many incidents {t}"));
            p.entities.time_range.expect(t).phrase()
        })
        .collect();
        assert_eq!(
            phrases,
            [
                "today",
                "yesterday",
                "this week",
                "this month",
                "in the last 7 days",
                "in the last 24 hours",
                "since Monday"
            ]
        );
    }

    #[test]
    fn confirmation_is_below_the_threshold_only() {
        let mut p = parse("resolve INC-2024-002");
        p.confidence = CONFIRM_BELOW;
        assert!(!p.needs_confirmation(), "at the threshold it acts");
        p.confidence = CONFIRM_BELOW - 0.01;
        assert!(p.needs_confirmation());
        p.intent = Intent::Status;
        assert!(!p.needs_confirmation(), "reads never confirm");
    }

    #[test]
    fn missing_pieces_become_one_question() {
        let p = parse("resolve it");
        assert_eq!(p.missing, vec![Missing::Incident]);
        assert_eq!(p.question.as_deref(), Some(Missing::Incident.question()));
        assert_eq!(parse("create an incident").missing, vec![Missing::Title]);
        let update = parse("update INC-2024-001");
        assert_eq!((update.intent, update.missing), (Intent::Update, vec![Missing::Note]));
        assert_eq!(parse("who is on call").missing, vec![Missing::Service]);
        let me = parse("assign INC-2024-001 to me");
        assert!(me.to_self && me.missing.is_empty());
        assert!(parse("show me INC-2024-001").missing.is_empty());
    }

    /// (kind, word, the original text it covers) for every token.
    fn tokens(text: &str) -> Vec<(String, String, String)> {
        tokenize(text, &[])
            .into_iter()
            .map(|t| {
                (
                    format!("{:?}", t.kind),
                    t.word.clone(),
                    text[t.start..t.end].to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn the_tokenizer_knows_people_ids_severities_and_where_each_token_stands() {
        let text = "@incident-bot #3 it's on-call sev 2 P1s 😅 2% INC-2024-7 done- x";
        let t = |k: &str, w: &str, span: &str| (k.to_string(), w.to_string(), span.to_string());
        assert_eq!(
            tokens(text),
            vec![
                t("Number(3)", "#3", "#3"),
                t("Word", "its", "it's"),
                t("Word", "oncall", "on-call"),
                t("Sev(Sev2)", "sev", "sev 2"),
                t("Sev(Sev1)", "p1s", "P1s"),
                t("Number(2)", "2", "2"),
                t("Id(\"INC-2024-007\")", "inc-2024-7", "INC-2024-7"),
                t("Word", "done", "done"),
                t("Punct('-')", "-", "-"),
                t("Word", "x", "x"),
            ]
        );
        // A person is one token over the text the segment became, wherever it stands.
        let (flat, people) = flatten(&[
            Segment::Text("ack ".into()),
            Segment::User(crate::incident::UserRef::new("U1", Some("ann".into()))),
            Segment::Text(" now".into()),
        ]);
        assert_eq!(flat, "ack @ann now");
        let toks = tokenize(&flat, &people);
        assert_eq!(
            toks.iter()
                .map(|t| (format!("{:?}", t.kind), &flat[t.start..t.end]))
                .collect::<Vec<_>>(),
            [
                ("Word".to_string(), "ack"),
                ("User(\"U1\")".to_string(), "@ann"),
                ("Word".to_string(), "now")
            ]
        );
        assert_eq!(
            tokens("@ann ack"),
            vec![t("Word", "ack", "ack")],
            "a plain @name is not a person"
        );
        assert_eq!(
            tokens("-x")[0],
            t("Punct('-')", "-", "-"),
            "a leading hyphen is punctuation"
        );
        assert_eq!(
            tokens("@incident.bot_2-x ack"),
            vec![t("Word", "ack", "ack")],
            "the bot's name, dots and all"
        );
        assert_eq!(
            tokens("it’s--"),
            vec![
                t("Word", "its", "it’s"),
                t("Punct('-')", "-", "-"),
                t("Punct('-')", "-", "-")
            ]
        );
        assert_eq!(tokens("sev 5")[0].0, "Word", "no SEV-5");
        assert_eq!(tokens("#3 sev")[0].0, "Number(3)", "a # number is not a severity");
    }

    #[test]
    fn any_text_is_understood_without_panicking() {
        let pieces = [
            "😅",
            "é",
            "<",
            "<@",
            "<at>",
            "</at>",
            "@",
            "#",
            "#7",
            "-",
            "'",
            "’",
            "sev",
            "2",
            "inc-",
            "INC-2024-1",
            ":",
            " ",
            "ß",
            "\u{200b}",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}{c}");
                    let p = parse(&text);
                    if let Some(t) = &p.entities.text {
                        assert!(text.contains(t.as_str()), "{text:?} -> {t:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn an_evaluation_counts_right_wrong_and_acting_chatter() {
        let file = r#"{"text": "ack INC-2024-001", "intent": "acknowledge", "entities": {"incident_id": "INC-2024-001"}}
{"text": "ack INC-2024-001", "intent": "acknowledge", "entities": {}}
{"text": "close it", "intent": "none", "entities": {}}
not json"#;
        let e = evaluate(file, &[], |t| vec![Segment::Text(t.into())]);
        assert_eq!(e.per_intent["acknowledge"], (1, 2));
        assert_eq!(e.per_intent["none"], (0, 1));
        assert_eq!(e.lines(), 3);
        assert!((e.accuracy() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(e.chatter_acting, ["close it"]);
        assert_eq!(e.misses.len(), 2);
        assert_eq!(e.unreadable, ["not json"]);
        assert!(e.report().contains("overall        1 / 3"), "{}", e.report());
    }

    #[test]
    fn every_intent_has_a_name_that_reads_back() {
        for intent in Intent::ALL {
            assert_eq!(Intent::from_name(intent.name()), Some(intent));
        }
    }
}
