//! A mention, from its parse to what to do: which incident it means (an id, a service among the
//! open incidents, `#3`, what this person last talked about in this channel, the war room it
//! was said in, the channel's only incident), one short question with choices when that is
//! ambiguous or missing, a confirmation when the sentence said it indirectly, and otherwise the
//! same [`Command`] a slash command would run.
//!
//! Context and open questions are small records with a time to live, kept through [`Memo`]
//! (DynamoDB in AWS): "acknowledge it" after "show me INC-2024-001" works for 30 minutes.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::action::{ActionKey, next_severity};
use crate::chat::BoxFuture;
use crate::command::{Assignee, Command, Declare, MAX_TITLE};
use crate::incident::{Incident, IncidentId, Severity, UserRef};
use crate::message::{Block, Doc, Element, Style, Text, truncate};
use crate::nlu::{Intent, Missing, Parse, TimeRange, confirm_question};
use crate::ports::StoreError;

/// How long "it" keeps meaning the incident last talked about.
pub const CONTEXT_TTL_SECONDS: i64 = 30 * 60;

/// At most this many choices in a question.
pub const MAX_CHOICES: usize = 5;

/// The id a confirmation button carries when the request names no incident (a create).
pub fn no_incident() -> IncidentId {
    IncidentId::new(1970, 0)
}

/// Small records with an optional expiry (epoch seconds): conversation context, open
/// questions, on-call rotations.
pub trait Memo: Send + Sync {
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        expires_at: Option<i64>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The value, unless it expired by `now`.
    fn get<'a>(&'a self, key: &'a str, now: i64) -> BoxFuture<'a, Result<Option<String>, StoreError>>;
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Adds one to the counter `key` (created expiring at `expires_at`) and returns the new
    /// count, atomically: limits per person and window.
    fn count<'a>(&'a self, key: &'a str, expires_at: i64) -> BoxFuture<'a, Result<u64, StoreError>>;
}

/// Where a person talks: their context and their open question are theirs, per channel.
pub fn context_key(provider: &str, channel: Option<&str>, user: &str) -> String {
    format!("ctx:{provider}:{}:{user}", channel.unwrap_or("-"))
}

pub fn question_key(provider: &str, channel: Option<&str>, user: &str) -> String {
    format!("ask:{provider}:{}:{user}", channel.unwrap_or("-"))
}

/// A request waiting for its answer: the sentence, re-understood when the answer comes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The sentence as its platform's adapter read it.
    pub segments: Vec<crate::command::Segment>,
    /// What the question asked for.
    pub asked: String,
}

/// What a mention comes to.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Run through the use cases, exactly like the slash command.
    Run(Command),
    /// How many incidents were declared in a range.
    Count {
        severity: Option<Severity>,
        service: Option<String>,
        range: Option<TimeRange>,
    },
    /// Who is on call (for a service, or for every service with a rotation).
    OnCall { service: Option<String> },
    /// One short question with choices (buttons that complete the request).
    Ask { question: String, choices: Vec<Incident> },
    /// A question answered by mentioning the bot again (a title, a note, a person).
    AskText { missing: Missing },
    /// "Resolve INC-2024-002?" with one button.
    Confirm {
        question: String,
        incident: Option<IncidentId>,
    },
    /// Help: for questions about the bot and for chatter (`chatter`: no action, a short answer).
    Help { chatter: bool },
    /// An answer without action ("There is no open database incident.").
    Tell(String),
}

/// What is known around the sentence.
pub struct Surroundings<'a> {
    /// Open and acknowledged incidents.
    pub active: &'a [Incident],
    /// The incident this person last talked about here, if within the TTL.
    pub remembered: Option<&'a IncidentId>,
    pub channel: Option<&'a str>,
    pub provider: &'a str,
    /// An answer or a confirmation click: do not ask again.
    pub confirmed: bool,
}

/// The incident the sentence means, or the question that finds it.
enum Target {
    Found(IncidentId),
    Ask(Vec<Incident>, String),
    None(String),
}

fn target(parse: &Parse, around: &Surroundings<'_>) -> Target {
    if let Some(id) = parse
        .entities
        .incident_id
        .as_deref()
        .and_then(|i| IncidentId::parse(i).ok())
    {
        return Target::Found(id);
    }
    let here = |i: &&Incident| {
        around.channel.is_some_and(|c| {
            i.war_room.as_ref().is_some_and(|w| w.channel == c) || i.home_channel(around.provider) == Some(c)
        })
    };
    if let Some(service) = &parse.entities.service {
        let matching: Vec<Incident> = around
            .active
            .iter()
            .filter(|i| i.service.as_deref() == Some(service.as_str()))
            .cloned()
            .collect();
        return match matching.len() {
            0 => Target::None(format!("There is no open {service} incident.")),
            1 => Target::Found(matching[0].id.clone()),
            _ => Target::Ask(matching, format!("Which {service} incident do you mean?")),
        };
    }
    if let Some(n) = parse.entities.incident_number {
        let matching: Vec<&Incident> = around
            .active
            .iter()
            .filter(|i| i.id.as_str().ends_with(&format!("-{n:03}")))
            .collect();
        let local: Vec<&Incident> = matching.iter().copied().filter(|i| here(i)).collect();
        return match (local.as_slice(), matching.as_slice()) {
            ([one], _) | ([], [one]) => Target::Found(one.id.clone()),
            _ => Target::None(format!("#{n} does not name one open incident here; use its full id.")),
        };
    }
    if let Some(id) = around.remembered {
        return Target::Found(id.clone());
    }
    // A war room means its incident; a channel with one open incident means that one.
    if let Some(room) = around.active.iter().find(|i| {
        around
            .channel
            .is_some_and(|c| i.war_room.as_ref().is_some_and(|w| w.channel == c))
    }) {
        return Target::Found(room.id.clone());
    }
    let local: Vec<&Incident> = around.active.iter().filter(here).collect();
    if let [one] = local.as_slice() {
        return Target::Found(one.id.clone());
    }
    match around.active.len() {
        0 => Target::None("There are no open incidents.".into()),
        _ => Target::Ask(
            around.active.iter().take(MAX_CHOICES).cloned().collect(),
            Missing::Incident.question().to_string(),
        ),
    }
}

/// What the mention comes to, given what is around it.
pub fn plan(parse: &Parse, around: &Surroundings<'_>) -> Plan {
    let e = &parse.entities;
    match parse.intent {
        Intent::None => return Plan::Help { chatter: true },
        Intent::Help => return Plan::Help { chatter: false },
        Intent::List => return Plan::Run(Command::List),
        Intent::Count => {
            return Plan::Count {
                severity: e.severity,
                service: e.service.clone(),
                range: e.time_range,
            };
        }
        Intent::Oncall => {
            return Plan::OnCall {
                service: e.service.clone(),
            };
        }
        _ => {}
    }
    let text_missing = parse
        .missing
        .iter()
        .copied()
        .find(|m| matches!(m, Missing::Title | Missing::Note | Missing::Assignee));
    let confirm = parse.needs_confirmation() && !around.confirmed;
    if parse.intent == Intent::Create {
        if let Some(missing) = text_missing {
            return Plan::AskText { missing };
        }
        let title = e.text.clone().unwrap_or_default();
        if confirm {
            return Plan::Confirm {
                question: confirm_question(Intent::Create, &truncate(&title, 80)),
                incident: None,
            };
        }
        return Plan::Run(Command::Declare(Declare {
            title: truncate(&title, MAX_TITLE),
            severity: e.severity,
            service: e.service.clone(),
            description: None,
        }));
    }
    let id = match target(parse, around) {
        Target::Found(id) => id,
        Target::Ask(choices, question) => return Plan::Ask { question, choices },
        Target::None(message) => return Plan::Tell(message),
    };
    if let Some(missing) = text_missing {
        return Plan::AskText { missing };
    }
    if confirm {
        return Plan::Confirm {
            question: confirm_question(parse.intent, id.as_str()),
            incident: Some(id),
        };
    }
    let note = e.text.clone();
    Plan::Run(match parse.intent {
        Intent::Acknowledge => Command::Ack { id, note },
        Intent::Resolve => Command::Resolve { id, note },
        Intent::Close => Command::Close { id },
        Intent::Update => Command::Update {
            id,
            note: note.unwrap_or_default(),
        },
        Intent::Timeline => Command::Timeline { id },
        Intent::Assign => Command::Assign {
            id,
            assignee: match &e.user {
                // A mention is a person of this workspace; a plain name is shown as written.
                Some(user) if parse.user_is_mention => {
                    Assignee::User(UserRef::new(user.clone(), None).on(around.provider))
                }
                Some(name) => Assignee::User(UserRef::new(name.clone(), Some(name.clone()))),
                None => Assignee::Me,
            },
        },
        Intent::Escalate => {
            let current = around.active.iter().find(|i| i.id == id).map(|i| i.severity);
            match e.severity.or_else(|| current.and_then(next_severity)) {
                Some(severity) => Command::Escalate { id, severity },
                None if current.is_some() => return Plan::Tell(format!("{id} is already SEV-1.")),
                None => return Plan::Tell(format!("{id} is not open.")),
            }
        }
        _ => Command::Status { id },
    })
}

/// The incident a command is about, to remember as context.
pub fn incident_of(command: &Command) -> Option<&IncidentId> {
    match command {
        Command::Ack { id, .. }
        | Command::Resolve { id, .. }
        | Command::Close { id }
        | Command::Status { id }
        | Command::Escalate { id, .. }
        | Command::Assign { id, .. }
        | Command::Update { id, .. }
        | Command::Timeline { id }
        | Command::SetService { id, .. } => Some(id),
        _ => None,
    }
}

/// "**2 SEV-1 incidents** declared this week: INC-…, INC-…" (at most ten ids named).
pub fn count_doc(found: &[Incident], severity: Option<Severity>, service: Option<&str>, phrase: &str) -> Doc {
    let matching: Vec<&Incident> = found
        .iter()
        .filter(|i| severity.is_none_or(|s| i.severity == s))
        .filter(|i| service.is_none_or(|s| i.service.as_deref() == Some(s)))
        .collect();
    let noun = if matching.len() == 1 { "incident" } else { "incidents" };
    let what: Vec<&str> = [severity.map(Severity::as_str), service]
        .into_iter()
        .flatten()
        .collect();
    let what = if what.is_empty() {
        noun.to_string()
    } else {
        format!("{} {noun}", what.join(" "))
    };
    let mut text = Text::new()
        .bold(format!("{} {what}", matching.len()))
        .plain(format!(" {phrase}"));
    if !matching.is_empty() {
        let ids: Vec<String> = matching.iter().take(10).map(|i| i.id.to_string()).collect();
        text = text.plain(format!(": {}", ids.join(", ")));
        if matching.len() > 10 {
            text = text.plain(format!(" and {} more", matching.len() - 10));
        }
    }
    let mut doc = Doc::new(text.clone());
    doc.push(Block::Paragraph(text));
    doc
}

/// A question with one button per choice (`im:answer`, carrying the chosen incident).
pub fn question_doc(question: &str, choices: &[Incident]) -> Doc {
    let mut doc = Doc::new(question.to_string());
    doc.push(Block::Paragraph(Text::new().plain(question.to_string())));
    let buttons = choices
        .iter()
        .map(|i| Element::Button {
            action: ActionKey::Answer,
            label: truncate(&format!("{} · {}", i.id, i.title), 75),
            style: Style::Default,
            incident: i.id.clone(),
            value: None,
        })
        .collect();
    doc.push(Block::Buttons(buttons));
    doc
}

/// "Do you want me to resolve INC-2024-002?" with a Yes button.
pub fn confirm_doc(question: &str, incident: Option<&IncidentId>) -> Doc {
    let mut doc = Doc::new(question.to_string());
    doc.push(Block::Paragraph(Text::new().plain(question.to_string())));
    doc.push(Block::Buttons(vec![Element::Button {
        action: ActionKey::Answer,
        label: "Yes, do it".into(),
        style: Style::Primary,
        incident: incident.cloned().unwrap_or_else(no_incident),
        value: None,
    }]));
    doc
}

/// The help answer to a mention: short for chatter, with examples otherwise.
pub fn help_doc(chatter: bool, prefix: &str) -> Doc {
    let examples = [
        "what incidents are currently open?",
        "show me the status of INC-2024-001",
        "how many SEV-1 incidents this week?",
        "who is on call for payments?",
        "create an incident for API errors",
        "acknowledge it · resolve the database incident · escalate to SEV-1",
    ];
    let lead = if chatter {
        "I only act on incident requests. For example:"
    } else {
        "Ask me in plain words, for example:"
    };
    let mut doc = Doc::new(lead.to_string());
    doc.push(Block::Paragraph(Text::new().plain(lead.to_string())));
    doc.push(Block::Lines(
        examples.iter().map(|e| Text::new().plain(format!("• {e}"))).collect(),
    ));
    doc.push(Block::Context(
        Text::new().plain(format!("Every command: {prefix} help")),
    ));
    doc
}

/// `[from, to)` for a time range, with days and weeks (starting Monday) in `timezone`
/// (an IANA name; UTC when unknown).
pub fn window(range: TimeRange, now: OffsetDateTime, timezone: &str) -> (OffsetDateTime, OffsetDateTime) {
    let tz = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let to_odt = |z: &jiff::ZonedDateTime| {
        OffsetDateTime::from_unix_timestamp(z.timestamp().as_second()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    let Ok(ts) = jiff::Timestamp::from_second(now.unix_timestamp()) else {
        return (now, now);
    };
    let here = ts.to_zoned_datetime(tz.clone());
    let midnight = |date: jiff::civil::Date| date.to_zoned_datetime(tz.clone()).map(|z| to_odt(&z)).unwrap_or(now);
    let today = here.date();
    let monday = today
        .checked_sub(jiff::Span::new().days(i64::from(today.weekday().to_monday_zero_offset())))
        .unwrap_or(today);
    let from = match range {
        TimeRange::Today => midnight(today),
        TimeRange::Yesterday => {
            let yesterday = today.yesterday().unwrap_or(today);
            return (midnight(yesterday), midnight(today));
        }
        TimeRange::ThisWeek | TimeRange::SinceMonday => midnight(monday),
        TimeRange::ThisMonth => midnight(today.first_of_month()),
        TimeRange::Last7Days => now - time::Duration::days(7),
        TimeRange::Last24Hours => now - time::Duration::hours(24),
    };
    (from, now + time::Duration::seconds(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Segment;
    use crate::incident::{Status, WarRoom};
    use crate::memory::incident;

    fn understand(text: &str, services: &[String]) -> Parse {
        crate::nlu::understand(&[Segment::Text(text.into())], services)
    }

    fn services() -> Vec<String> {
        ["payments", "database", "checkout"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn with_service(seq: u64, service: &str) -> Incident {
        let mut i = incident(seq, Severity::Sev2, Status::Open);
        i.service = Some(service.into());
        i
    }

    fn plan_for(text: &str, active: &[Incident], remembered: Option<&IncidentId>, channel: Option<&str>) -> Plan {
        let around = Surroundings {
            active,
            remembered,
            channel,
            provider: "acme",
            confirmed: false,
        };
        plan(&understand(text, &services()), &around)
    }

    #[test]
    fn it_means_the_incident_last_talked_about() {
        let active = [with_service(1, "payments"), with_service(2, "checkout")];
        let id = IncidentId::new(2026, 2);
        assert_eq!(
            plan_for("ack it", &active, Some(&id), Some("C1")),
            Plan::Run(Command::Ack {
                id: id.clone(),
                note: None
            })
        );
        assert_eq!(
            plan_for("escalate to SEV-1", &active, Some(&id), None),
            Plan::Run(Command::Escalate {
                id,
                severity: Severity::Sev1
            })
        );
    }

    #[test]
    fn without_context_it_asks_which_incident_with_choices() {
        let active = [with_service(1, "payments"), with_service(2, "checkout")];
        match plan_for("resolve it", &active, None, Some("C1")) {
            Plan::Ask { question, choices } => {
                assert_eq!(question, "Which incident do you mean?");
                assert_eq!(choices.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            plan_for("resolve it", &[], None, None),
            Plan::Tell("There are no open incidents.".into())
        );
    }

    #[test]
    fn two_matching_incidents_make_a_question_one_makes_the_command() {
        let active = [
            with_service(1, "database"),
            with_service(2, "database"),
            with_service(3, "payments"),
        ];
        match plan_for("resolve the database incident", &active, None, None) {
            Plan::Ask { question, choices } => {
                assert_eq!(question, "Which database incident do you mean?");
                assert_eq!(
                    choices.iter().map(|i| i.id.to_string()).collect::<Vec<_>>(),
                    ["INC-2026-001", "INC-2026-002"]
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            plan_for("resolve the payments incident", &active, None, None),
            Plan::Run(Command::Resolve {
                id: IncidentId::new(2026, 3),
                note: None
            })
        );
        assert_eq!(
            plan_for("resolve the checkout incident", &active, None, None),
            Plan::Tell("There is no open checkout incident.".into())
        );
    }

    #[test]
    fn a_war_room_means_its_incident_and_a_number_means_the_channels_incident() {
        let mut room = with_service(4, "payments");
        room.war_room = Some(WarRoom {
            provider: "acme".into(),
            channel: "CROOM".into(),
            name: "inc-4".into(),
        });
        let active = [with_service(1, "database"), room];
        assert_eq!(
            plan_for("ack it", &active, None, Some("CROOM")),
            Plan::Run(Command::Ack {
                id: IncidentId::new(2026, 4),
                note: None
            })
        );
        assert_eq!(
            plan_for("ack #1", &active, None, Some("C9")),
            Plan::Run(Command::Ack {
                id: IncidentId::new(2026, 1),
                note: None
            })
        );
    }

    #[test]
    fn indirect_changes_are_confirmed_and_the_click_acts() {
        let active = [with_service(2, "payments")];
        let id = IncidentId::new(2026, 2);
        let parse = understand("INC-2026-002 is fixed", &services());
        let mut around = Surroundings {
            active: &active,
            remembered: None,
            channel: None,
            provider: "acme",
            confirmed: false,
        };
        assert_eq!(
            plan(&parse, &around),
            Plan::Confirm {
                question: "Do you want me to resolve INC-2026-002?".into(),
                incident: Some(id.clone())
            }
        );
        around.confirmed = true;
        assert_eq!(plan(&parse, &around), Plan::Run(Command::Resolve { id, note: None }));
    }

    #[test]
    fn a_create_without_a_title_asks_for_one() {
        assert_eq!(
            plan_for("create an incident", &[], None, None),
            Plan::AskText {
                missing: Missing::Title
            }
        );
        match plan_for("create an incident for API errors", &[], None, None) {
            Plan::Run(Command::Declare(d)) => assert_eq!(d.title, "API errors"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_intent_comes_to_its_plan() {
        let id = IncidentId::new(2026, 1);
        let active = [with_service(1, "payments")];
        let at = |text: &str| plan_for(text, &active, Some(&id), Some("C9"));
        assert_eq!(at("thanks!"), Plan::Help { chatter: true });
        assert_eq!(at("help"), Plan::Help { chatter: false });
        assert_eq!(at("what's open?"), Plan::Run(Command::List));
        assert_eq!(
            at("how many sev1 incidents for payments this week"),
            Plan::Count {
                severity: Some(Severity::Sev1),
                service: Some("payments".into()),
                range: Some(TimeRange::ThisWeek)
            }
        );
        assert_eq!(
            at("who is on call for payments"),
            Plan::OnCall {
                service: Some("payments".into())
            }
        );
        assert_eq!(at("close it"), Plan::Run(Command::Close { id: id.clone() }));
        assert_eq!(
            at("update it: failover done"),
            Plan::Run(Command::Update {
                id: id.clone(),
                note: "failover done".into()
            })
        );
        assert_eq!(
            at("give me the timeline"),
            Plan::Run(Command::Timeline { id: id.clone() })
        );
        assert_eq!(
            at("show me the payments incident"),
            Plan::Run(Command::Status { id: id.clone() })
        );
        let bob = [
            Segment::Text("assign it to ".into()),
            Segment::User(UserRef::new("U0BOB", Some("bob".into())).on("acme")),
        ];
        let around = Surroundings {
            active: &active,
            remembered: Some(&id),
            channel: Some("C9"),
            provider: "acme",
            confirmed: false,
        };
        assert_eq!(
            plan(&crate::nlu::understand(&bob, &services()), &around),
            Plan::Run(Command::Assign {
                id: id.clone(),
                assignee: Assignee::User(UserRef::new("U0BOB", None).on("acme"))
            })
        );
        assert_eq!(
            at("assign it to me"),
            Plan::Run(Command::Assign {
                id: id.clone(),
                assignee: Assignee::Me
            })
        );
        assert_eq!(
            at("assign it to Bob"),
            Plan::Run(Command::Assign {
                id: id.clone(),
                assignee: Assignee::User(UserRef::new("Bob", Some("Bob".into())))
            })
        );
        assert_eq!(at("update it"), Plan::AskText { missing: Missing::Note });
        assert_eq!(
            at("assign it"),
            Plan::AskText {
                missing: Missing::Assignee
            }
        );
    }

    #[test]
    fn escalate_without_a_severity_goes_one_step_up() {
        let mut top = with_service(2, "checkout");
        top.severity = Severity::Sev1;
        let active = [with_service(1, "payments"), top];
        let one = IncidentId::new(2026, 1);
        let two = IncidentId::new(2026, 2);
        assert_eq!(
            plan_for("escalate it", &active, Some(&one), None),
            Plan::Run(Command::Escalate {
                id: one,
                severity: Severity::Sev1
            })
        );
        assert_eq!(
            plan_for("escalate it", &active, Some(&two), None),
            Plan::Tell("INC-2026-002 is already SEV-1.".into())
        );
        assert_eq!(
            plan_for("escalate INC-2026-009", &active, None, None),
            Plan::Tell("INC-2026-009 is not open.".into())
        );
    }

    #[test]
    fn the_channel_an_incident_lives_in_means_it() {
        let mut elsewhere = with_service(1, "payments");
        elsewhere.origin.channel = Some("C_OTHER".into());
        let here = with_service(2, "checkout");
        let mut other_room = with_service(3, "search");
        other_room.war_room = Some(WarRoom {
            provider: "acme".into(),
            channel: "C_ROOM3".into(),
            name: "inc-3".into(),
        });
        other_room.origin.channel = Some("C_OTHER".into());
        let active = [elsewhere, here, other_room];
        // Only INC-2 was declared in C_ORIGIN: "it" there is INC-2.
        assert_eq!(
            plan_for("ack it", &active, None, Some("C_ORIGIN")),
            Plan::Run(Command::Ack {
                id: IncidentId::new(2026, 2),
                note: None
            })
        );
        // A channel nothing lives in asks.
        assert!(matches!(
            plan_for("ack it", &active, None, Some("C_NONE")),
            Plan::Ask { .. }
        ));
        // Another provider's channel of the same name is not this one.
        let around = Surroundings {
            active: &active,
            remembered: None,
            channel: Some("C_ORIGIN"),
            provider: "beta",
            confirmed: false,
        };
        assert!(matches!(
            plan(&understand("ack it", &services()), &around),
            Plan::Ask { .. }
        ));
    }

    #[test]
    fn a_low_confidence_create_is_confirmed_first() {
        let mut parse = understand("create an incident for checkout errors", &services());
        parse.confidence = 0.7;
        let mut around = Surroundings {
            active: &[],
            remembered: None,
            channel: None,
            provider: "acme",
            confirmed: false,
        };
        assert_eq!(
            plan(&parse, &around),
            Plan::Confirm {
                question: "Do you want me to declare an incident “checkout errors”?".into(),
                incident: None
            }
        );
        around.confirmed = true;
        assert!(matches!(plan(&parse, &around), Plan::Run(Command::Declare(_))));
    }

    #[test]
    fn commands_name_the_incident_to_remember() {
        let id = IncidentId::new(2026, 4);
        for command in [
            Command::Ack {
                id: id.clone(),
                note: None,
            },
            Command::Close { id: id.clone() },
            Command::Status { id: id.clone() },
            Command::Timeline { id: id.clone() },
        ] {
            assert_eq!(incident_of(&command), Some(&id), "{command:?}");
        }
        assert_eq!(incident_of(&Command::List), None);
    }

    #[test]
    fn questions_carry_answer_buttons_for_their_choices() {
        let choices = [with_service(1, "db"), with_service(2, "db")];
        let doc = question_doc("Which db incident do you mean?", &choices);
        let buttons: Vec<(ActionKey, String, IncidentId)> = doc
            .blocks
            .iter()
            .flat_map(|b| match b {
                Block::Buttons(elements) => elements.clone(),
                _ => Vec::new(),
            })
            .filter_map(|e| match e {
                Element::Button {
                    action,
                    label,
                    incident,
                    ..
                } => Some((action, label, incident)),
                _ => None,
            })
            .collect();
        assert_eq!(buttons.len(), 2);
        assert!(buttons.iter().all(|(a, _, _)| *a == ActionKey::Answer));
        assert_eq!(buttons[0].1, "INC-2026-001 · Database connection timeout");
        assert_eq!(buttons[1].2, IncidentId::new(2026, 2));
        assert_eq!(doc.summary.plain_text(), "Which db incident do you mean?");
        let yes = confirm_doc("Do you want me to resolve INC-2026-001?", None);
        assert!(
            yes.blocks
                .iter()
                .any(|b| matches!(b, Block::Buttons(e) if matches!(&e[0],
            Element::Button { action: ActionKey::Answer, incident, .. } if *incident == no_incident())))
        );
        let chatter = help_doc(true, "/im").summary.plain_text();
        let help = help_doc(false, "/im").summary.plain_text();
        assert!(chatter.starts_with("I only act on incident requests"));
        assert!(help.starts_with("Ask me in plain words"));
        assert!(
            help_doc(false, "/inc")
                .blocks
                .iter()
                .any(|b| matches!(b, Block::Context(t) if t.plain_text() == "Every command: /inc help"))
        );
    }

    #[test]
    fn rolling_windows_end_now_and_reach_back_exactly() {
        let now = time::macros::datetime!(2026-12-02 10:00 UTC);
        let (from, to) = window(TimeRange::Last7Days, now, "UTC");
        assert_eq!(
            (from, to),
            (now - time::Duration::days(7), now + time::Duration::seconds(1))
        );
        let (from, _) = window(TimeRange::Last24Hours, now, "Asia/Tokyo");
        assert_eq!(from, now - time::Duration::hours(24), "rolling windows ignore the zone");
        let (from, _) = window(TimeRange::Today, now, "Asia/Tokyo");
        assert_eq!(from, time::macros::datetime!(2026-12-01 15:00 UTC), "Tokyo's midnight");
    }

    #[test]
    fn counts_say_how_many_of_what_and_name_them() {
        let mut found: Vec<Incident> = (1..=12).map(|n| with_service(n, "payments")).collect();
        found[0].severity = Severity::Sev1;
        found[1].service = Some("checkout".into());
        let say = |sev, svc, phrase| count_doc(&found, sev, svc, phrase).summary.plain_text();
        assert_eq!(
            say(Some(Severity::Sev1), None, "declared today"),
            "1 SEV-1 incident declared today: INC-2026-001"
        );
        assert_eq!(
            say(None, Some("checkout"), "open now"),
            "1 checkout incident open now: INC-2026-002"
        );
        assert_eq!(
            say(Some(Severity::Sev4), Some("payments"), "open now"),
            "0 SEV-4 payments incidents open now"
        );
        let all = say(None, None, "declared this week");
        assert!(
            all.starts_with("12 incidents declared this week: INC-2026-001, "),
            "{all}"
        );
        assert!(all.ends_with("INC-2026-010 and 2 more"), "{all}");
        let ten = count_doc(&found[2..], None, None, "open now").summary.plain_text();
        assert!(
            ten.starts_with("10 incidents open now") && ten.ends_with("INC-2026-012"),
            "{ten}"
        );
    }

    #[test]
    fn context_lasts_the_documented_thirty_minutes() {
        assert_eq!(CONTEXT_TTL_SECONDS, 1800, "README: 30-minute TTL");
    }

    #[test]
    fn keys_are_per_provider_channel_and_person() {
        let keys = [
            context_key("acme", Some("C1"), "U1"),
            context_key("beta", Some("C1"), "U1"),
            context_key("acme", Some("C2"), "U1"),
            context_key("acme", Some("C1"), "U2"),
            context_key("acme", None, "U1"),
            question_key("acme", Some("C1"), "U1"),
            question_key("acme", Some("C1"), "U2"),
            question_key("beta", Some("C2"), "U1"),
        ];
        let distinct: std::collections::BTreeSet<&String> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:?}");
        assert!(keys[0].contains("acme") && keys[0].contains("C1") && keys[0].contains("U1"));
    }

    #[test]
    fn weeks_start_on_monday_in_the_providers_zone() {
        // Sunday 2026-11-29 23:30 UTC is Monday 00:30 in Berlin: the Berlin week began 30
        // minutes ago; in UTC it began six days earlier.
        let now = time::macros::datetime!(2026-11-29 23:30 UTC);
        let (from, _) = window(TimeRange::ThisWeek, now, "Europe/Berlin");
        assert_eq!(from, time::macros::datetime!(2026-11-29 23:00 UTC));
        let (from, _) = window(TimeRange::ThisWeek, now, "UTC");
        assert_eq!(from, time::macros::datetime!(2026-11-23 00:00 UTC));
        let (from, to) = window(TimeRange::Yesterday, now, "America/New_York");
        assert_eq!(from, time::macros::datetime!(2026-11-28 05:00 UTC));
        assert_eq!(to, time::macros::datetime!(2026-11-29 05:00 UTC));
        let (from, _) = window(TimeRange::ThisMonth, now, "nowhere/unknown");
        assert_eq!(
            from,
            time::macros::datetime!(2026-11-01 00:00 UTC),
            "unknown zones count in UTC"
        );
    }
}
