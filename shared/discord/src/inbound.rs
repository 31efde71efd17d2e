//! What Discord posts to the interactions endpoint, read into the core's neutral inbound: PING,
//! `/im` application commands (subcommands with typed options, rebuilt as command text for the
//! one grammar), components (buttons and selects), autocomplete, and modal submissions.

use im_core::action::ActionRef;
use im_core::chat::MessageRef;
use im_core::command::{Segment, quote};
use im_core::inbound::{Context, Inbound, ParseError, Submission};
use im_core::{IncidentId, UserRef};
use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

/// Interaction types (PROTOCOLS.md §2.2).
pub const PING: u64 = 1;
pub const APPLICATION_COMMAND: u64 = 2;
pub const MESSAGE_COMPONENT: u64 = 3;
pub const AUTOCOMPLETE: u64 = 4;
pub const MODAL_SUBMIT: u64 = 5;

/// Text that is usually borrowed from the body (owned only when it held escapes).
type Str<'a> = Cow<'a, str>;

/// The parts of an interaction we read; everything else is skipped unread.
#[derive(Deserialize)]
struct Interaction<'a> {
    #[serde(rename = "type")]
    kind: Option<u64>,
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
    #[serde(borrow, default)]
    application_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    guild_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    channel_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    channel: Option<Idd<'a>>,
    #[serde(borrow, default)]
    token: Option<Str<'a>>,
    #[serde(borrow, default)]
    member: Option<Member<'a>>,
    #[serde(borrow, default)]
    user: Option<User<'a>>,
    #[serde(borrow, default)]
    message: Option<Idd<'a>>,
    #[serde(borrow, default)]
    data: Data<'a>,
}

#[derive(Deserialize, Default)]
struct Idd<'a> {
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct User<'a> {
    #[serde(borrow, default)]
    id: Option<Str<'a>>,
    #[serde(borrow, default)]
    global_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    username: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Member<'a> {
    #[serde(borrow, default)]
    user: Option<User<'a>>,
    #[serde(borrow, default)]
    nick: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Data<'a> {
    #[serde(borrow, default)]
    options: Vec<Opt<'a>>,
    #[serde(borrow, default)]
    resolved: Resolved<'a>,
    #[serde(borrow, default)]
    custom_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    values: Vec<Str<'a>>,
    #[serde(borrow, default)]
    components: Vec<InputRow<'a>>,
}

#[derive(Deserialize, Default)]
struct Resolved<'a> {
    #[serde(borrow, default)]
    users: HashMap<Str<'a>, User<'a>>,
    #[serde(borrow, default)]
    members: HashMap<Str<'a>, Member<'a>>,
}

#[derive(Deserialize, Default)]
struct Opt<'a> {
    #[serde(borrow, default)]
    name: Str<'a>,
    /// A string, or a number, boolean or id by type: kept as JSON.
    #[serde(default)]
    value: Option<Value>,
    #[serde(borrow, default)]
    options: Vec<Opt<'a>>,
    #[serde(default)]
    focused: bool,
}

#[derive(Deserialize, Default)]
struct InputRow<'a> {
    #[serde(borrow, default)]
    components: Vec<Input<'a>>,
}

#[derive(Deserialize, Default)]
struct Input<'a> {
    #[serde(borrow, default)]
    custom_id: Str<'a>,
    #[serde(borrow, default)]
    value: Option<Str<'a>>,
}

/// Present and not empty.
fn text(v: &Option<Str<'_>>) -> Option<String> {
    v.as_deref().filter(|s| !s.is_empty()).map(str::to_string)
}

/// A person's name as the server shows it: nickname, then display name, then username.
fn display_name(member: Option<&Member<'_>>, user: &User<'_>) -> Option<String> {
    member
        .and_then(|m| text(&m.nick))
        .or_else(|| text(&user.global_name))
        .or_else(|| text(&user.username))
}

/// The person: `member.user` in a server, `user` in a direct message.
fn user(v: &Interaction<'_>, provider: &str) -> Option<UserRef> {
    let member = v.member.as_ref();
    let u = member.and_then(|m| m.user.as_ref()).or(v.user.as_ref())?;
    let id = text(&u.id)?;
    Some(UserRef::new(id, display_name(member, u)).on(provider))
}

/// An option's value as text (strings, and the ids of user options).
fn option(options: &[Opt<'_>], name: &str) -> Option<String> {
    options.iter().find(|o| o.name == name).and_then(|o| match &o.value {
        Some(Value::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// `/im <subcommand> …` as the text a person would have typed, with a chosen user as a mention.
fn command_text(sub: Option<&Opt<'_>>, resolved: &Resolved<'_>, provider: &str) -> Vec<Segment> {
    let name = sub.map_or("help", |s| s.name.as_ref());
    let options = sub.map_or(&[][..], |s| s.options.as_slice());
    let get = |key: &str| option(options, key);
    let incident = get("incident").unwrap_or_default();
    let mut line = name.to_string();
    let mut push = |s: &str| {
        line.push(' ');
        line.push_str(s);
    };
    match name {
        "declare" => {
            if let Some(title) = get("title") {
                push(&quote(&title));
            }
            for (flag, key) in [
                ("--sev", "severity"),
                ("--service", "service"),
                ("--description", "description"),
            ] {
                if let Some(value) = get(key) {
                    push(&format!("{flag} {}", quote(&value)));
                }
            }
        }
        "ack" | "resolve" | "update" => {
            push(&incident);
            if let Some(note) = get("note") {
                push(&quote(&note));
            }
        }
        "escalate" => {
            push(&incident);
            push(&get("severity").unwrap_or_default());
        }
        "assign" => {
            push(&incident);
            let who = get("user").unwrap_or_default();
            let name = resolved
                .users
                .get(who.as_str())
                .and_then(|u| display_name(resolved.members.get(who.as_str()), u));
            line.push(' ');
            return vec![Segment::Text(line), Segment::User(UserRef::new(who, name).on(provider))];
        }
        "help" => {
            if let Some(topic) = get("command") {
                push(&topic);
            }
        }
        "list" => {}
        // `/im run command:deploy args:"checkout v2"` is `run deploy checkout v2`: the
        // arguments are read by the grammar like typed ones.
        "run" => {
            push(&get("command").unwrap_or_default());
            if let Some(args) = get("args") {
                push(&args);
            }
        }
        _ => push(&incident),
    }
    vec![Segment::Text(line)]
}

/// A typed question as segments: Discord's user mentions (`<@123>`, `<@!123>`) become people
/// of this server; everything else (role mentions included) stays text.
fn question(text: &str, provider: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("<@") {
        let after = &rest[open + 2..];
        let person = after
            .find('>')
            .map(|close| (close, after[..close].trim_start_matches('!')))
            .filter(|(_, id)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
        match person {
            Some((close, id)) => {
                plain.push_str(&rest[..open]);
                if !plain.is_empty() {
                    out.push(Segment::Text(std::mem::take(&mut plain)));
                }
                out.push(Segment::User(UserRef::new(id, None).on(provider)));
                rest = &after[close + 1..];
            }
            None => {
                plain.push_str(&rest[..open + 2]);
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    if !plain.is_empty() {
        out.push(Segment::Text(plain));
    }
    out
}

/// The value of a text input in a modal submission.
fn input(rows: &[InputRow<'_>], id: &str) -> Option<String> {
    rows.iter()
        .flat_map(|row| &row.components)
        .find(|c| c.custom_id == id)
        .and_then(|c| c.value.as_deref().map(|v| v.trim().to_string()))
        .filter(|v| !v.is_empty())
}

/// Reads a verified interaction.
pub fn parse(body: &[u8], provider: &str) -> Result<Inbound, ParseError> {
    let v: Interaction<'_> =
        serde_json::from_slice(body).map_err(|e| ParseError(format!("the body is not a Discord interaction: {e}")))?;
    let kind = v
        .kind
        .ok_or_else(|| ParseError("an interaction without a type".into()))?;
    if kind == PING {
        return Ok(Inbound::Challenge(String::new()));
    }
    if !(APPLICATION_COMMAND..=MODAL_SUBMIT).contains(&kind) {
        return Ok(Inbound::Ignored(format!("interaction type {kind}")));
    }
    let user = user(&v, provider).ok_or_else(|| ParseError("an interaction without a user".into()))?;
    let channel = text(&v.channel_id).or_else(|| v.channel.as_ref().and_then(|c| text(&c.id)));
    let ctx = Context {
        user,
        message: match (&channel, v.message.as_ref().and_then(|m| text(&m.id))) {
            (Some(c), Some(m)) => Some(MessageRef::new(c, m)),
            _ => None,
        },
        channel,
        workspace: text(&v.guild_id),
        app: text(&v.application_id),
        request_id: text(&v.id),
        prefix: "/im".into(),
        reply_to: text(&v.token),
        trigger: None,
    };
    if ctx.workspace.is_none() {
        return Ok(Inbound::Unsupported {
            ctx,
            reason: "I run incidents in servers, not in direct messages: use /im in a channel of your server.".into(),
        });
    }
    let data = &v.data;
    let custom_id = data.custom_id.as_deref().unwrap_or("");
    Ok(match kind {
        // `/im ask <question>`: Discord sends plain messages only over its Gateway, so plain
        // language comes in as a subcommand and takes the mention path.
        APPLICATION_COMMAND if data.options.first().is_some_and(|s| s.name == "ask") => Inbound::Mention {
            text: question(
                &data
                    .options
                    .first()
                    .and_then(|s| option(&s.options, "question"))
                    .unwrap_or_default(),
                provider,
            ),
            ctx,
        },
        APPLICATION_COMMAND => Inbound::Command {
            text: command_text(data.options.first(), &data.resolved, provider),
            ctx,
        },
        AUTOCOMPLETE => {
            let focused = data
                .options
                .first()
                .and_then(|sub| sub.options.iter().find(|o| o.focused))
                .and_then(|o| o.value.as_ref())
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            Inbound::Autocomplete { ctx, query: focused }
        }
        MESSAGE_COMPONENT => match ActionRef::decode(custom_id) {
            Ok(mut action) => {
                if let Some(choice) = data.values.first() {
                    action.choice = Some(choice.to_string());
                }
                Inbound::Action { ctx, action }
            }
            Err(e) => Inbound::Ignored(e.to_string()),
        },
        _ => {
            let components = &data.components;
            if custom_id == "im:declare" {
                Inbound::Submission {
                    ctx,
                    submission: Submission::Declare {
                        title: input(components, "title").unwrap_or_default(),
                        severity: input(components, "severity"),
                        service: input(components, "service"),
                        description: input(components, "description"),
                    },
                }
            } else if let Some(incident) = custom_id
                .strip_prefix("im:status_update|")
                .and_then(|i| IncidentId::parse(i).ok())
            {
                Inbound::Submission {
                    ctx,
                    submission: Submission::StatusUpdate {
                        incident,
                        note: input(components, "note").unwrap_or_default(),
                    },
                }
            } else {
                Inbound::Ignored(format!("modal {custom_id}"))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use im_core::action::ActionKey;
    use im_core::command::{Command, parse_segments};
    use serde_json::json;

    fn interaction(kind: u64, data: Value) -> Vec<u8> {
        json!({"id": "1100", "application_id": "900", "type": kind, "guild_id": "700", "channel_id": "600",
               "token": "tok", "member": {"user": {"id": "500", "username": "alice"}}, "data": data})
        .to_string()
        .into_bytes()
    }

    fn command(data: Value) -> Command {
        match parse(&interaction(APPLICATION_COMMAND, data), "guild") {
            Ok(Inbound::Command { text, .. }) => parse_segments(&text).expect("a command"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ask_takes_the_mention_path_with_the_question() {
        let body = interaction(
            APPLICATION_COMMAND,
            json!({"name": "im", "options": [{"type": 1, "name": "ask", "options": [
                {"name": "question", "value": "who is on call for payments?"}]}]}),
        );
        match parse(&body, "guild") {
            Ok(Inbound::Mention { text, ctx }) => {
                assert_eq!(text, vec![Segment::Text("who is on call for payments?".into())]);
                assert_eq!(
                    ctx.reply_to.as_deref(),
                    Some("tok"),
                    "answered through the interaction's token"
                );
            }
            _ => panic!("a mention"),
        }
    }

    #[test]
    fn a_question_names_people_by_their_mentions() {
        let text = |t: &str| Segment::Text(t.into());
        assert_eq!(
            question("assign it to <@!42> and <@&7>", "guild"),
            vec![
                text("assign it to "),
                Segment::User(UserRef::new("42", None).on("guild")),
                text(" and <@&7>"),
            ]
        );
        assert_eq!(
            question("<@5>", "guild"),
            vec![Segment::User(UserRef::new("5", None).on("guild"))]
        );
        assert_eq!(
            im_core::command::plain_text(&question("ack <@ it", "guild")),
            "ack <@ it"
        );
    }

    #[test]
    fn run_names_a_custom_command_and_passes_its_arguments() {
        let run = command(json!({"name": "im", "options": [{"type": 1, "name": "run", "options": [
            {"name": "command", "value": "deploy"}, {"name": "args", "value": "checkout v2.3 INC-2026-007"}]}]}));
        assert_eq!(
            run,
            Command::Custom {
                name: "deploy".into(),
                args: vec!["checkout".into(), "v2.3".into(), "INC-2026-007".into()]
            }
        );
        let bare = command(json!({"name": "im", "options": [{"type": 1, "name": "run", "options": [
            {"name": "command", "value": "Status Page"}]}]}));
        assert_eq!(
            bare,
            Command::Custom {
                name: "status".into(),
                args: vec!["Page".into()]
            },
            "read like typed text (and no command)"
        );
    }

    #[test]
    fn subcommands_become_the_grammars_commands() {
        let declare = command(
            json!({"name": "im", "options": [{"type": 1, "name": "declare", "options": [
            {"name": "title", "value": "Payments \"down\" — “again”"}, {"name": "severity", "value": "SEV-1"},
            {"name": "service", "value": "checkout"}]}]}),
        );
        let Command::Declare(d) = declare else {
            panic!("declare")
        };
        assert_eq!(d.title, "Payments \"down\" — “again”");
        assert_eq!(
            (d.severity.map(|s| s.as_str()), d.service.as_deref()),
            (Some("SEV-1"), Some("checkout"))
        );
        let assign = command(
            json!({"name": "im", "options": [{"type": 1, "name": "assign", "options": [
            {"name": "incident", "value": "INC-2026-001"}, {"name": "user", "value": "42"}]}],
            "resolved": {"users": {"42": {"id": "42", "username": "bob"}}}}),
        );
        assert_eq!(
            assign,
            Command::Assign {
                id: IncidentId::new(2026, 1),
                assignee: im_core::command::Assignee::User(UserRef::new("42", Some("bob".into())).on("guild")),
            }
        );
        let ack = command(json!({"name": "im", "options": [{"type": 1, "name": "ack", "options": [
            {"name": "incident", "value": "INC-2026-001"}, {"name": "note", "value": "--sev is not a flag here"}]}]}));
        assert_eq!(
            ack,
            Command::Ack {
                id: IncidentId::new(2026, 1),
                note: Some("--sev is not a flag here".into())
            }
        );
        assert_eq!(
            command(json!({"name": "im", "options": [{"type": 1, "name": "list"}]})),
            Command::List
        );
    }

    #[test]
    fn components_autocomplete_modals_ping_and_direct_messages() {
        assert_eq!(parse(br#"{"type":1}"#, "guild"), Ok(Inbound::Challenge(String::new())));
        let select = interaction(
            MESSAGE_COMPONENT,
            json!({"custom_id": "im:severity|INC-2026-001", "values": ["SEV-2"]}),
        );
        let Ok(Inbound::Action { action, ctx }) = parse(&select, "guild") else {
            panic!("an action")
        };
        assert_eq!(
            (action.key, action.choice.as_deref()),
            (ActionKey::Severity, Some("SEV-2"))
        );
        assert_eq!(
            (ctx.workspace.as_deref(), ctx.app.as_deref(), ctx.request_id.as_deref()),
            (Some("700"), Some("900"), Some("1100"))
        );
        let auto = interaction(
            AUTOCOMPLETE,
            json!({"name": "im", "options": [{"type": 1, "name": "ack",
            "options": [{"name": "incident", "value": "db", "focused": true}]}]}),
        );
        assert!(matches!(parse(&auto, "guild"), Ok(Inbound::Autocomplete { query, .. }) if query == "db"));
        let modal = interaction(
            MODAL_SUBMIT,
            json!({"custom_id": "im:status_update|INC-2026-001", "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "note", "value": " Failover done "}]}]}),
        );
        assert!(matches!(parse(&modal, "guild"),
            Ok(Inbound::Submission { submission: Submission::StatusUpdate { note, .. }, .. }) if note == "Failover done"));
        let dm = json!({"id": "1", "type": 2, "channel_id": "1", "user": {"id": "500"}, "data": {}}).to_string();
        assert!(matches!(parse(dm.as_bytes(), "guild"), Ok(Inbound::Unsupported { .. })));
        assert!(parse(b"nope", "guild").is_err());
        assert!(matches!(parse(br#"{"type": 99}"#, "guild"), Ok(Inbound::Ignored(_))));
    }
}
