//! Discord in the shared suites: interactions as Discord signs and shapes them (suite commands
//! turned into `/im` subcommands with typed options), and what the strict fake Discord shows.

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use im_core::action::{ActionKey, ActionRef};
use im_core::command::{Assignee, Command};
use im_core::inbound::{HttpAnswer, PlatformAdapter};
use im_discord::render::visible_text;
use im_discord::{DiscordAdapter, DiscordSettings};
use serde_json::{Value, json};

use crate::fake_discord::FakeDiscord;
use crate::world::{Clicked, Seen, Shown, Signed, UnderTest};

pub const TOKEN: &str = "discord-suite-bot-token";
pub const APPLICATION: &str = "900";
pub const GUILD: &str = "700";

/// The application's key pair (a fixed seed: the tests are repeatable).
pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

pub fn public_key_hex() -> String {
    hex::encode(signing_key().verifying_key().to_bytes())
}

/// Interaction ids: unique, as Discord's are.
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Marks a mention in suite text; Discord sends a chosen person as a USER option.
const MENTION: char = '\u{1}';

pub struct DiscordUnderTest {
    pub fake: FakeDiscord,
}

impl DiscordUnderTest {
    pub async fn start() -> Arc<Self> {
        let fake = FakeDiscord::start().await;
        fake.with_token(TOKEN).with_buckets(1000, Duration::from_secs(1));
        Arc::new(Self { fake })
    }

    pub fn settings(&self) -> DiscordSettings {
        DiscordSettings {
            api_url: self.fake.api_url.clone(),
            timeout: Duration::from_secs(10),
        }
    }

    /// An interaction body, signed with `key`.
    pub fn signed_with(&self, key: &SigningKey, body: Value) -> Signed {
        let body = body.to_string().into_bytes();
        let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let mut message = ts.clone().into_bytes();
        message.extend_from_slice(&body);
        let signature = hex::encode(key.sign(&message).to_bytes());
        let headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("x-signature-timestamp".to_string(), ts),
            ("x-signature-ed25519".to_string(), signature),
        ];
        (headers, body)
    }

    /// An interaction of `kind` by `user` in `channel` of `guild`.
    pub fn interaction(&self, kind: u64, guild: &str, user: &str, channel: &str, data: Value) -> Value {
        json!({
            "id": format!("{}", 1_100_000_000_000_000_000u64 + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
            "application_id": APPLICATION, "type": kind, "guild_id": guild, "channel_id": channel,
            "token": format!("itoken-{}", ulid::Ulid::generate()), "version": 1,
            "member": {"user": {"id": user, "username": user.to_lowercase()}}, "data": data,
        })
    }

    /// Suite command text as the `/im` subcommand Discord would send.
    pub fn command_data(text: &str) -> Value {
        let mut users = serde_json::Map::new();
        let plain: String = text.replace(MENTION, "");
        let mut verb = plain.split_whitespace().next().unwrap_or("help").to_string();
        let opt = |name: &str, value: &str| json!({"name": name, "type": 3, "value": value});
        let options: Vec<Value> = match im_core::parse(&plain) {
            Ok(Command::Declare(d)) => {
                let mut o = vec![opt("title", &d.title)];
                if let Some(s) = d.severity {
                    o.push(opt("severity", s.as_str()));
                }
                if let Some(s) = d.service {
                    o.push(opt("service", &s));
                }
                if let Some(s) = d.description {
                    o.push(opt("description", &s));
                }
                o
            }
            Ok(Command::Ack { id, note } | Command::Resolve { id, note }) => {
                let mut o = vec![opt("incident", id.as_str())];
                o.extend(note.map(|n| opt("note", &n)));
                o
            }
            Ok(Command::Update { id, note }) => vec![opt("incident", id.as_str()), opt("note", &note)],
            Ok(Command::Escalate { id, severity }) => {
                vec![opt("incident", id.as_str()), opt("severity", severity.as_str())]
            }
            Ok(Command::Assign { id, assignee }) => {
                let who = match assignee {
                    Assignee::User(u) => u.id,
                    Assignee::Me => "me".into(),
                };
                users.insert(who.clone(), json!({"id": who, "username": who.to_lowercase()}));
                vec![
                    opt("incident", id.as_str()),
                    json!({"name": "user", "type": 6, "value": who}),
                ]
            }
            Ok(Command::Close { id } | Command::Status { id } | Command::Timeline { id }) => {
                vec![opt("incident", id.as_str())]
            }
            Ok(Command::Help { topic }) => topic.map(|t| vec![opt("command", t.name())]).unwrap_or_default(),
            // Discord's subcommands are fixed at registration: a custom command is `/im run`.
            Ok(Command::Custom { name, args }) => {
                verb = "run".into();
                let mut o = vec![opt("command", &name)];
                if !args.is_empty() {
                    o.push(opt("args", &args.join(" ")));
                }
                o
            }
            // What the grammar refuses is sent as typed: incident, then severity.
            _ => {
                let words: Vec<&str> = plain.split_whitespace().skip(1).collect();
                let mut o = Vec::new();
                if let Some(w) = words.first() {
                    o.push(opt("incident", w));
                }
                if let Some(w) = words.get(1) {
                    o.push(opt("severity", w));
                }
                o
            }
        };
        json!({"id": "1300000000000000001", "name": "im", "type": 1,
               "options": [{"type": 1, "name": verb, "options": options}],
               "resolved": {"users": users}})
    }

    fn answer(answer: &HttpAnswer) -> Value {
        serde_json::from_slice(&answer.body).unwrap_or_default()
    }
}

fn version_of(body: &Value) -> Option<u64> {
    let footer = body["embeds"][0]["footer"]["text"].as_str()?;
    let after = footer.split("version ").nth(1)?;
    after.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

impl UnderTest for DiscordUnderTest {
    fn name(&self) -> &'static str {
        "discord"
    }

    fn adapter(&self) -> Arc<dyn PlatformAdapter> {
        Arc::new(DiscordAdapter::new(self.settings()))
    }

    fn secrets(&self) -> Vec<(&'static str, String)> {
        vec![("bot_token", TOKEN.into())]
    }

    fn binding(&self) -> Value {
        json!({"application_id": APPLICATION, "guild_id": GUILD, "public_key": public_key_hex()})
    }

    fn mention(&self, user: &str) -> String {
        // The grammar reads `@name` as a person; Discord sends the picked user's id.
        format!("{MENTION}{user}{MENTION}")
    }

    fn live_markup(&self, raw: &str) -> Vec<String> {
        let chars: Vec<char> = raw.chars().collect();
        let mut live = Vec::new();
        for (i, c) in chars.iter().enumerate() {
            let escaped = i > 0 && chars[i - 1] == '\\';
            let next = chars.get(i + 1).copied();
            let ours = *c == '<'
                && (next == Some('t') || (next == Some('@') && chars.get(i + 2).is_some_and(char::is_ascii_digit)));
            if (*c == '<' && !escaped && !ours)
                || (*c == '@' && next != Some('\u{200B}') && !escaped && i > 0 && chars[i - 1] != '<')
            {
                live.push(chars[i..chars.len().min(i + 16)].iter().collect());
            }
        }
        live
    }

    fn command(&self, user: &str, channel: &str, text: &str) -> Signed {
        let body = self.interaction(2, GUILD, user, channel, Self::command_data(text));
        self.signed_with(&signing_key(), body)
    }

    fn foreign_command(&self, user: &str, channel: &str, text: &str) -> Signed {
        let body = self.interaction(2, "701", user, channel, Self::command_data(text));
        self.signed_with(&signing_key(), body)
    }

    fn forged(&self, user: &str, channel: &str, text: &str) -> Signed {
        let body = self.interaction(2, GUILD, user, channel, Self::command_data(text));
        self.signed_with(&SigningKey::from_bytes(&[9u8; 32]), body)
    }

    fn click(&self, user: &str, channel: &str, message: &str, action: &ActionRef) -> Signed {
        let custom_id = ActionRef::new(action.key, action.incident.clone(), None).encode();
        let component_type = match action.key {
            ActionKey::Assign => 5,
            ActionKey::Severity | ActionKey::Service | ActionKey::Transition => 3,
            _ => 2,
        };
        let mut data = json!({"custom_id": custom_id, "component_type": component_type});
        if let Some(choice) = &action.choice {
            data["values"] = json!([choice]);
        }
        let mut body = self.interaction(3, GUILD, user, channel, data);
        body["message"] = json!({"id": message, "channel_id": channel});
        self.signed_with(&signing_key(), body)
    }

    fn press(&self, user: &str, channel: &str, seen: &Seen, label: &str) -> Option<Signed> {
        let data = seen.raw["components"]
            .as_array()?
            .iter()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .find_map(|c| match c["type"].as_u64() {
                Some(2) if c["label"] == label => Some(json!({"custom_id": c["custom_id"], "component_type": 2})),
                Some(3) => c["options"]
                    .as_array()?
                    .iter()
                    .find(|o| o["label"] == label)
                    .map(|o| json!({"custom_id": c["custom_id"], "component_type": 3, "values": [o["value"]]})),
                _ => None,
            })?;
        let mut body = self.interaction(3, GUILD, user, channel, data);
        body["message"] = json!({"id": seen.id, "channel_id": channel});
        Some(self.signed_with(&signing_key(), body))
    }

    fn submit_note(&self, user: &str, incident: &str, note: &str) -> Signed {
        let data = json!({"custom_id": format!("im:status_update|{incident}"), "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "note", "value": note}]}]});
        self.signed_with(&signing_key(), self.interaction(5, GUILD, user, "C_MINOR", data))
    }

    fn shown(&self, answer: &HttpAnswer) -> Shown {
        let body = Self::answer(answer);
        Shown {
            status: answer.status,
            text: visible_text(&body["data"]),
            private: body["data"]["flags"].as_u64().is_some_and(|f| f & 64 != 0),
        }
    }

    fn clicked(&self, answer: &HttpAnswer, request: &Signed) -> Clicked {
        let body = Self::answer(answer);
        let kind = body["type"].as_u64().unwrap_or(0);
        if kind == 7 {
            // The answer replaces the clicked message: Discord applies it.
            let clicked: Value = serde_json::from_slice(&request.1).unwrap_or_default();
            if let Some(id) = clicked["message"]["id"].as_str() {
                self.fake.apply_update(id, body["data"].clone());
            }
        }
        Clicked {
            status: answer.status,
            private: (kind == 4).then(|| visible_text(&body["data"])),
            form: kind == 9,
        }
    }

    fn top_level(&self, channel: &str) -> Vec<Seen> {
        self.fake
            .top_level(channel)
            .into_iter()
            .map(|m| {
                let mut actions: Vec<String> = Vec::new();
                for row in m.body["components"].as_array().into_iter().flatten() {
                    for c in row["components"].as_array().into_iter().flatten() {
                        if let Some(a) = c["custom_id"].as_str().and_then(|id| ActionRef::decode(id).ok())
                            && !actions.contains(&a.key.id().to_string())
                        {
                            actions.push(a.key.id().to_string());
                        }
                    }
                }
                Seen {
                    id: m.id.clone(),
                    text: visible_text(&m.body),
                    version: version_of(&m.body),
                    actions,
                    raw: m.body.clone(),
                }
            })
            .collect()
    }

    fn thread(&self, channel: &str, message: &str) -> Vec<String> {
        self.fake
            .replies(channel, message)
            .iter()
            .map(|m| visible_text(&m.body))
            .collect()
    }

    fn ask(&self, user: &str, channel: &str, text: &str, _n: u32) -> Option<Signed> {
        let data = json!({"name": "im", "options": [{"type": 1, "name": "ask", "options": [
            {"name": "question", "type": 3, "value": text}]}]});
        Some(self.signed_with(&signing_key(), self.interaction(2, GUILD, user, channel, data)))
    }

    fn answers(&self, _channel: &str, _n: u32) -> Vec<String> {
        self.follow_ups().last().cloned().into_iter().collect()
    }

    fn answered(&self, _channel: &str, _n: u32) -> Option<Seen> {
        let (_, body) = self.fake.follow_ups().last()?.clone();
        Some(Seen {
            // A follow-up's own id does not matter to a click on it.
            id: "1170000000000000999".into(),
            text: visible_text(&body),
            version: version_of(&body),
            actions: Vec::new(),
            raw: body,
        })
    }

    fn follow_ups_raw(&self) -> Vec<String> {
        self.fake
            .follow_ups()
            .iter()
            .map(|(_, body)| body.to_string())
            .collect()
    }

    fn follow_ups(&self) -> Vec<String> {
        self.fake
            .follow_ups()
            .iter()
            .map(|(_, body)| visible_text(body))
            .collect()
    }
}
