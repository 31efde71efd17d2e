//! Slack in the shared suites: requests as Slack signs and shapes them, and what the strict fake
//! Slack shows.

use std::sync::Arc;
use std::time::Duration;

use im_core::action::{ActionKey, ActionRef};
use im_core::inbound::{HttpAnswer, PlatformAdapter};
use im_slack::{Pacing, SlackAdapter, SlackSettings};
use serde_json::{Value, json};

use crate::fake_slack::FakeSlack;
use crate::world::{Clicked, Seen, Shown, Signed, UnderTest};

pub const SECRET: &str = "suite-signing-secret-0123456789abcdef";
pub const TOKEN: &str = "xoxb-suite-token";

/// Marks a mention in suite text: Slack sends typed text escaped and mentions as `<@U…|name>`.
const MENTION: char = '\u{1}';

/// Command text as Slack delivers it: `&`, `<` and `>` escaped, mentions as markup.
fn as_slack_sends(text: &str) -> String {
    let escaped = im_slack::render::escape(text);
    let mut out = String::new();
    for (i, part) in escaped.split(MENTION).enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("<@{part}|{}>", part.to_lowercase()));
        } else {
            out.push_str(part);
        }
    }
    out
}

pub struct SlackUnderTest {
    pub fake: FakeSlack,
    /// Seconds added to signing timestamps: the sender's clock moves with the world's.
    pub clock_offset: std::sync::atomic::AtomicI64,
}

impl SlackUnderTest {
    /// A fake Slack with relaxed rate limits (the suites test behaviour, not pacing).
    pub async fn start() -> Arc<Self> {
        let fake = FakeSlack::start().await;
        fake.with_token(TOKEN)
            .with_channels(crate::pipeline::CHANNELS)
            .with_post_interval(Duration::ZERO)
            .with_update_limit(100_000);
        Arc::new(Self {
            fake,
            clock_offset: std::sync::atomic::AtomicI64::new(0),
        })
    }

    fn settings(&self) -> SlackSettings {
        SlackSettings {
            api_url: self.fake.api_url.clone(),
            response_url_prefix: self.fake.response_prefix.clone(),
            pacing: Pacing {
                post_interval: Duration::from_millis(5),
                update_interval: Duration::from_millis(5),
            },
            timeout: Duration::from_secs(10),
        }
    }

    fn signed(&self, secret: &str, content_type: &str, body: String) -> Signed {
        let ts = time::OffsetDateTime::now_utc().unix_timestamp()
            + self.clock_offset.load(std::sync::atomic::Ordering::Relaxed);
        let headers = vec![
            ("content-type".to_string(), content_type.to_string()),
            ("x-slack-request-timestamp".to_string(), ts.to_string()),
            (
                "x-slack-signature".to_string(),
                im_slack::sign(secret, ts, body.as_bytes()),
            ),
        ];
        (headers, body.into_bytes())
    }

    fn form(&self, secret: &str, team: &str, user: &str, channel: &str, text: &str) -> Signed {
        let text = as_slack_sends(text);
        let text = text.as_str();
        let trigger = format!("trigger.{}", ulid::Ulid::generate());
        let response_url = format!("{}{trigger}", self.fake.response_prefix);
        let body = serde_urlencoded::to_string([
            ("team_id", team),
            ("api_app_id", "A0FAKE"),
            ("channel_id", channel),
            ("user_id", user),
            ("user_name", &user.to_lowercase()),
            ("command", "/im"),
            ("text", text),
            ("trigger_id", &trigger),
            ("response_url", &response_url),
        ])
        .expect("form");
        self.signed(secret, "application/x-www-form-urlencoded", body)
    }

    /// A `block_actions` payload for one used element of message `message`.
    fn block_action(&self, user: &str, channel: &str, message: &str, element: Value) -> Signed {
        let trigger = format!("trigger.{}", ulid::Ulid::generate());
        self.payload(json!({
            "type": "block_actions", "user": {"id": user, "username": user.to_lowercase()},
            "team": {"id": "T0FAKE"}, "api_app_id": "A0FAKE", "channel": {"id": channel},
            "message": {"ts": message}, "trigger_id": trigger,
            "response_url": format!("{}{trigger}", self.fake.response_prefix),
            "actions": [element],
        }))
    }

    fn payload(&self, payload: Value) -> Signed {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form");
        self.signed(SECRET, "application/x-www-form-urlencoded", body)
    }
}

/// Every text in a Block Kit tree, unescaped, one per line.
pub fn texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(t)) = map.get("text") {
                out.push(im_slack::text::unescape_entities(t));
            }
            for (k, inner) in map {
                if k != "text" || !inner.is_string() {
                    texts(inner, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| texts(i, out)),
        _ => {}
    }
}

fn action_ids(blocks: &Value) -> Vec<String> {
    blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["action_id"].as_str().map(str::to_string))
        .collect()
}

fn trigger_of(request: &Signed) -> String {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&request.1).unwrap_or_default();
    let payload = form
        .iter()
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let payload: Value = serde_json::from_str(&payload).unwrap_or_default();
    payload["trigger_id"].as_str().unwrap_or("").to_string()
}

impl SlackUnderTest {
    /// An Events API `app_mention` by `user` in `channel` (the message `ts`), as Slack signs it;
    /// `retry` adds `X-Slack-Retry-Num`.
    pub fn mention_event(
        &self,
        event_id: &str,
        user: &str,
        channel: &str,
        ts: &str,
        text: &str,
        retry: Option<u32>,
    ) -> Signed {
        let body = json!({
            "type": "event_callback", "event_id": event_id, "team_id": "T0FAKE", "api_app_id": "A0FAKE",
            "event": {"type": "app_mention", "user": user, "text": format!("<@U0BOT> {text}"), "ts": ts, "channel": channel}
        })
        .to_string();
        let mut signed = self.signed(SECRET, "application/json", body);
        if let Some(n) = retry {
            signed.0.push(("x-slack-retry-num".into(), n.to_string()));
            signed.0.push(("x-slack-retry-reason".into(), "http_timeout".into()));
        }
        signed
    }

    /// A correctly signed command, with any signing secret.
    pub fn command_signed_with(&self, secret: &str, user: &str, channel: &str, text: &str) -> Signed {
        self.form(secret, "T0FAKE", user, channel, text)
    }

    /// A click on an action id that is not ours.
    pub fn foreign_click(&self, user: &str, channel: &str, message: &str, action_id: &str, incident: &str) -> Signed {
        self.payload(json!({
            "type": "block_actions", "user": {"id": user}, "team": {"id": "T0FAKE"}, "api_app_id": "A0FAKE",
            "channel": {"id": channel}, "message": {"ts": message}, "trigger_id": format!("trigger.{}", ulid::Ulid::generate()),
            "actions": [{"action_id": action_id, "type": "button", "value": incident}],
        }))
    }
}

/// The timestamp of the `n`th ask's message (its answers are in its thread).
fn ask_ts(n: u32) -> String {
    format!("1764237600.{:06}", 500_000 + n)
}

/// A message on the fake as the suites see it.
fn seen(m: &crate::fake_slack::Message) -> Seen {
    let mut all = vec![im_slack::text::unescape_entities(&m.text)];
    texts(&m.blocks, &mut all);
    Seen {
        id: m.ts.clone(),
        text: all.join("\n"),
        version: m.version,
        actions: action_ids(&m.blocks),
        raw: json!({"text": m.text, "blocks": m.blocks}),
    }
}

impl UnderTest for SlackUnderTest {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn adapter(&self) -> Arc<dyn PlatformAdapter> {
        Arc::new(SlackAdapter::new(self.settings()))
    }

    fn secrets(&self) -> Vec<(&'static str, String)> {
        vec![("signing_secret", SECRET.into()), ("bot_token", TOKEN.into())]
    }

    fn binding(&self) -> Value {
        json!({"team_id": "T0FAKE", "api_app_id": "A0FAKE"})
    }

    fn mention(&self, user: &str) -> String {
        format!("{MENTION}{user}{MENTION}")
    }

    fn shift_clock(&self, seconds: i64) {
        self.clock_offset
            .fetch_add(seconds, std::sync::atomic::Ordering::Relaxed);
    }

    fn ask(&self, user: &str, channel: &str, text: &str, n: u32) -> Option<Signed> {
        let ts = ask_ts(n);
        self.fake.with_message(channel, &ts, "…");
        Some(self.mention_event(&format!("EvAsk{n}"), user, channel, &ts, text, None))
    }

    fn answers(&self, channel: &str, n: u32) -> Vec<String> {
        self.thread(channel, &ask_ts(n))
    }

    fn live_markup(&self, raw: &str) -> Vec<String> {
        let mut live = Vec::new();
        let mut rest = raw;
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open..].find('>') else { break };
            let markup = &rest[open..open + close + 1];
            if !(markup.starts_with("<@U") || markup.starts_with("<!date^")) {
                live.push(markup.to_string());
            }
            rest = &rest[open + close + 1..];
        }
        live
    }

    fn command(&self, user: &str, channel: &str, text: &str) -> Signed {
        self.form(SECRET, "T0FAKE", user, channel, text)
    }

    fn foreign_command(&self, user: &str, channel: &str, text: &str) -> Signed {
        self.form(SECRET, "T0OTHER", user, channel, text)
    }

    fn forged(&self, user: &str, channel: &str, text: &str) -> Signed {
        self.form(
            "not-the-secret-but-long-enough-0123456789",
            "T0FAKE",
            user,
            channel,
            text,
        )
    }

    fn click(&self, user: &str, channel: &str, message: &str, action: &ActionRef) -> Signed {
        let id = action.incident.to_string();
        let element = match (action.key, &action.choice) {
            (ActionKey::Assign, Some(who)) => {
                json!({"action_id": action.key.id(), "block_id": format!("im:menus:{id}"),
                "type": "users_select", "selected_user": who})
            }
            (_, Some(choice)) => json!({"action_id": action.key.id(), "block_id": format!("im:menus:{id}"),
                "type": "static_select", "selected_option": {"value": format!("{id}|{choice}")}}),
            (_, None) => json!({"action_id": action.key.id(), "block_id": format!("im:buttons:{id}"),
                "type": "button", "value": id}),
        };
        self.block_action(user, channel, message, element)
    }

    fn press(&self, user: &str, channel: &str, seen: &Seen, label: &str) -> Option<Signed> {
        let blocks = seen.raw["blocks"].as_array()?;
        let element = blocks
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| {
                let block_id = b["block_id"].clone();
                b["elements"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |e| (block_id.clone(), e))
            })
            .find_map(|(block_id, e)| {
                let base = json!({"action_id": e["action_id"], "block_id": block_id, "type": e["type"]});
                match e["type"].as_str() {
                    Some("button") if e["text"]["text"] == label => {
                        let mut clicked = base;
                        clicked["value"] = e["value"].clone();
                        Some(clicked)
                    }
                    Some("static_select") => e["options"]
                        .as_array()?
                        .iter()
                        .find(|o| o["text"]["text"] == label)
                        .map(|o| {
                            let mut chosen = base;
                            chosen["selected_option"] = json!({"value": o["value"]});
                            chosen
                        }),
                    _ => None,
                }
            })?;
        Some(self.block_action(user, channel, &seen.id, element))
    }

    fn submit_note(&self, user: &str, incident: &str, note: &str) -> Signed {
        self.payload(json!({
            "type": "view_submission", "user": {"id": user}, "team": {"id": "T0FAKE"}, "api_app_id": "A0FAKE",
            "trigger_id": format!("trigger.{}", ulid::Ulid::generate()),
            "view": {"callback_id": "im:status_update", "private_metadata": incident,
                     "state": {"values": {"note": {"note": {"type": "plain_text_input", "value": note}}}}}
        }))
    }

    fn shown(&self, answer: &HttpAnswer) -> Shown {
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        let mut all = Vec::new();
        texts(&body, &mut all);
        Shown {
            status: answer.status,
            text: all.join("\n"),
            private: body["response_type"] != "in_channel",
        }
    }

    fn clicked(&self, answer: &HttpAnswer, request: &Signed) -> Clicked {
        let trigger = trigger_of(request);
        let private = self
            .fake
            .responses()
            .get(&trigger)
            .and_then(|r| r.last().cloned())
            .map(|body| {
                let mut all = Vec::new();
                texts(&body, &mut all);
                all.join("\n")
            });
        let form = self
            .fake
            .calls("views.open")
            .iter()
            .any(|c| c["trigger_id"] == trigger.as_str());
        Clicked {
            status: answer.status,
            private,
            form,
        }
    }

    fn top_level(&self, channel: &str) -> Vec<Seen> {
        self.fake.top_level(channel).iter().map(seen).collect()
    }

    fn answered(&self, channel: &str, n: u32) -> Option<Seen> {
        let ts = ask_ts(n);
        self.fake.thread(channel, &ts).last().map(seen)
    }

    fn thread(&self, channel: &str, message: &str) -> Vec<String> {
        self.fake
            .thread(channel, message)
            .into_iter()
            .map(|m| im_slack::text::unescape_entities(&m.text))
            .collect()
    }

    fn follow_ups_raw(&self) -> Vec<String> {
        self.fake
            .responses()
            .into_values()
            .flatten()
            .map(|body| body.to_string())
            .collect()
    }

    fn follow_ups(&self) -> Vec<String> {
        self.fake
            .responses()
            .into_values()
            .flatten()
            .map(|body| {
                let mut all = Vec::new();
                texts(&body, &mut all);
                all.join("\n")
            })
            .collect()
    }
}
