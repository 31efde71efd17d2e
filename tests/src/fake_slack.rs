//! A strict fake of Slack's Web API on a local port, for the notification tests.
//!
//! It checks the bearer token, required arguments, Block Kit limits and the top-level `text`;
//! answers errors the way Slack does (HTTP 200 `{"ok": false, "error": …}`); enforces one
//! `chat.postMessage` per second per channel and a per-minute `chat.update` budget per token,
//! answering 429 with `Retry-After` when exceeded; and can inject seeded 500s and 429s (which have
//! no side effects). Everything accepted is recorded for assertions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// A message as the fake holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    pub blocks: Value,
    /// `metadata.event_payload.version`, if any.
    pub version: Option<u64>,
    pub edits: u32,
    /// When the fake accepted it.
    pub at: Instant,
}

#[derive(Debug, Default)]
struct Limits {
    post_interval: Duration,
    updates_per_minute: usize,
}

#[derive(Debug)]
struct Faults {
    rng: u64,
    p500: f64,
    p429: f64,
}

#[derive(Debug)]
struct Fake {
    tokens: HashSet<String>,
    channels: HashMap<String, String>,
    archived: HashSet<String>,
    not_in: HashSet<String>,
    members: HashMap<String, HashSet<String>>,
    pins: Vec<(String, String)>,
    messages: Vec<Message>,
    views: Vec<Value>,
    responses: Vec<(String, Value)>,
    calls: Vec<(String, Value)>,
    last_post: HashMap<String, Instant>,
    updates: HashMap<String, Vec<Instant>>,
    limits: Limits,
    faults: Option<Faults>,
    next_ts: u64,
    rate_limited: u64,
    injected_500: u64,
    injected_429: u64,
    /// Methods that answer only after this long (a slow Slack).
    delays: HashMap<String, Duration>,
    /// The token's scopes, announced in `X-OAuth-Scopes` on every accepted call, as Slack does.
    scopes: Vec<String>,
    /// `users.info` answers: anyone not listed is an active member with an `@example.com`
    /// address; `null` is no such user.
    people: HashMap<String, Value>,
    /// Methods answering HTTP 503 (an outage of one API).
    down: HashSet<String>,
}

/// The scopes the setup guide asks for.
pub const FULL_SCOPES: &[&str] = &[
    "chat:write",
    "chat:write.public",
    "commands",
    "app_mentions:read",
    "channels:read",
    "channels:manage",
    "pins:write",
    "users:read",
];

#[derive(Clone)]
pub struct FakeSlack {
    /// Base URL for the Web API client: `http://127.0.0.1:<port>/api`.
    pub api_url: String,
    /// Prefix of the `response_url`s it hands out: `http://127.0.0.1:<port>/response/`.
    pub response_prefix: String,
    state: Arc<Mutex<Fake>>,
}

/// A `users.info` user: an active full member, `<id>@example.com` (shown with
/// `users:read.email`).
pub fn person(id: &str) -> Value {
    json!({"id": id, "name": id.to_lowercase(), "deleted": false, "is_bot": false, "is_app_user": false,
           "is_restricted": false, "is_ultra_restricted": false,
           "profile": {"email": format!("{}@example.com", id.to_lowercase())}})
}

fn ok(body: Value) -> Response {
    let mut body = body;
    body["ok"] = json!(true);
    axum::Json(body).into_response()
}

fn fail(error: &str) -> Response {
    axum::Json(json!({"ok": false, "error": error})).into_response()
}

fn too_many(retry_after: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [("retry-after", retry_after.to_string())],
        "",
    )
        .into_response()
}

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Slack's Block Kit limits (PROTOCOLS.md §1.5).
fn check_blocks(blocks: &Value) -> Result<(), String> {
    let Some(list) = blocks.as_array() else {
        return Err("blocks must be a list".into());
    };
    if list.len() > 50 {
        return Err(format!("{} blocks (max 50)", list.len()));
    }
    for b in list {
        if chars(&b["block_id"]) > 255 {
            return Err("block_id too long".into());
        }
        match b["type"].as_str() {
            Some("section") => {
                if chars(&b["text"]["text"]) > 3000 {
                    return Err("section text over 3000".into());
                }
                if b["fields"].as_array().is_some_and(|f| f.len() > 10) {
                    return Err("more than 10 fields".into());
                }
            }
            Some("header") => {
                if chars(&b["text"]["text"]) > 150 {
                    return Err("header over 150".into());
                }
            }
            Some("context") => {
                if b["elements"].as_array().is_none_or(|e| e.is_empty() || e.len() > 10) {
                    return Err("context needs 1-10 elements".into());
                }
            }
            Some("actions") => {
                let elements = b["elements"].as_array().cloned().unwrap_or_default();
                if elements.is_empty() || elements.len() > 25 {
                    return Err("actions needs 1-25 elements".into());
                }
                let mut ids = HashSet::new();
                for e in &elements {
                    let id = e["action_id"].as_str().unwrap_or("");
                    if id.is_empty() || id.chars().count() > 255 || !ids.insert(id.to_string()) {
                        return Err(format!("bad or repeated action_id `{id}`"));
                    }
                    match e["type"].as_str() {
                        Some("button") => {
                            if chars(&e["text"]["text"]) > 75 || chars(&e["value"]) > 2000 {
                                return Err("button text/value too long".into());
                            }
                            if let Some(style) = e["style"].as_str()
                                && style != "primary"
                                && style != "danger"
                            {
                                return Err(format!("bad button style {style}"));
                            }
                        }
                        Some("static_select") => {
                            let options = e["options"].as_array().cloned().unwrap_or_default();
                            if options.is_empty() || options.len() > 100 {
                                return Err("static_select needs 1-100 options".into());
                            }
                            for o in &options {
                                if chars(&o["text"]["text"]) > 75 || chars(&o["value"]) > 150 {
                                    return Err("option text/value too long".into());
                                }
                            }
                        }
                        Some("users_select") => {}
                        other => return Err(format!("unknown element {other:?}")),
                    }
                }
            }
            Some("divider") | Some("input") => {}
            other => return Err(format!("unknown block {other:?}")),
        }
    }
    Ok(())
}

impl Fake {
    fn next_ts(&mut self) -> String {
        self.next_ts += 1;
        format!("1764237600.{:06}", self.next_ts)
    }

    fn roll(&mut self) -> Option<Response> {
        let faults = self.faults.as_mut()?;
        // xorshift64*: deterministic for a seed.
        faults.rng ^= faults.rng >> 12;
        faults.rng ^= faults.rng << 25;
        faults.rng ^= faults.rng >> 27;
        let r = (faults.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        if r < faults.p500 {
            self.injected_500 += 1;
            return Some(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        if r < faults.p500 + faults.p429 {
            self.injected_429 += 1;
            return Some(too_many(1));
        }
        None
    }

    fn channel(&self, body: &Value) -> Result<String, &'static str> {
        let channel = body["channel"].as_str().ok_or("channel_not_found")?;
        if !self.channels.contains_key(channel) {
            return Err("channel_not_found");
        }
        if self.archived.contains(channel) {
            return Err("is_archived");
        }
        if self.not_in.contains(channel) {
            return Err("not_in_channel");
        }
        Ok(channel.to_string())
    }

    fn message_body(body: &Value) -> Result<(), &'static str> {
        if body["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
            // Strict: a message with blocks must still carry a top-level text fallback.
            return Err("no_text");
        }
        if chars(&body["text"]) > 40_000 {
            return Err("msg_too_long");
        }
        if !body["blocks"].is_null() && check_blocks(&body["blocks"]).is_err() {
            return Err("invalid_blocks");
        }
        Ok(())
    }

    fn handle(&mut self, method: &str, token: Option<&str>, body: Value) -> Response {
        if let Some(fault) = self.roll() {
            return fault;
        }
        if !token.is_some_and(|t| self.tokens.contains(t)) {
            return fail("invalid_auth");
        }
        self.calls.push((method.to_string(), body.clone()));
        if self.down.contains(method) {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        match method {
            "users.info" => {
                let id = body["user"].as_str().unwrap_or_default().to_string();
                match self.people.get(&id) {
                    Some(Value::Null) => fail("user_not_found"),
                    Some(user) => ok(json!({ "user": user })),
                    None => {
                        let mut user = person(&id);
                        if !self.scopes.iter().any(|s| s == "users:read.email") {
                            user["profile"].as_object_mut().map(|p| p.remove("email"));
                        }
                        ok(json!({ "user": user }))
                    }
                }
            }
            "auth.test" => ok(
                json!({"team_id": "T0FAKE", "team": "Fake Workspace", "user": "incident-bot",
                                     "user_id": "U0BOT", "bot_id": "B0BOT"}),
            ),
            "conversations.list" => {
                let mut ids: Vec<&String> = self.channels.keys().filter(|c| !self.archived.contains(*c)).collect();
                ids.sort();
                // Pages of at most two, so a client that ignores the cursor misses channels.
                let limit = body["limit"].as_u64().unwrap_or(100).clamp(1, 2) as usize;
                let start: usize = body["cursor"].as_str().and_then(|c| c.parse().ok()).unwrap_or(0);
                let page: Vec<Value> = ids
                    .iter()
                    .skip(start)
                    .take(limit)
                    .map(|id| {
                        json!({"id": id, "name": self.channels[*id], "is_private": false,
                                     "is_member": !self.not_in.contains(*id)})
                    })
                    .collect();
                let next = if start + limit < ids.len() {
                    (start + limit).to_string()
                } else {
                    String::new()
                };
                ok(json!({"channels": page, "response_metadata": {"next_cursor": next}}))
            }
            "conversations.info" => {
                let Some(id) = body["channel"].as_str() else {
                    return fail("channel_not_found");
                };
                match self.channels.get(id) {
                    Some(name) => ok(
                        json!({"channel": {"id": id, "name": name, "is_member": !self.not_in.contains(id),
                                                        "is_archived": self.archived.contains(id)}}),
                    ),
                    None => fail("channel_not_found"),
                }
            }
            "bots.info" if body["bot"] == "B0BOT" => ok(json!({"bot": {"id": "B0BOT", "app_id": "A0FAKE"}})),
            "bots.info" => fail("bot_not_found"),
            "chat.postMessage" => {
                let channel = match self.channel(&body) {
                    Ok(c) => c,
                    Err(e) => return fail(e),
                };
                if let Err(e) = Self::message_body(&body) {
                    return fail(e);
                }
                let now = Instant::now();
                if let Some(last) = self.last_post.get(&channel)
                    && now.duration_since(*last) < self.limits.post_interval
                {
                    self.rate_limited += 1;
                    return too_many(1);
                }
                self.last_post.insert(channel.clone(), now);
                let thread_ts = body["thread_ts"].as_str().map(str::to_string);
                if let Some(parent) = &thread_ts
                    && !self.messages.iter().any(|m| &m.ts == parent && m.channel == channel)
                {
                    return fail("thread_not_found");
                }
                let ts = self.next_ts();
                self.messages.push(Message {
                    channel: channel.clone(),
                    ts: ts.clone(),
                    thread_ts,
                    text: body["text"].as_str().unwrap_or("").to_string(),
                    blocks: body["blocks"].clone(),
                    version: body["metadata"]["event_payload"]["version"].as_u64(),
                    edits: 0,
                    at: now,
                });
                ok(json!({"channel": channel, "ts": ts}))
            }
            "chat.delete" => {
                let channel = match self.channel(&body) {
                    Ok(c) => c,
                    Err(e) => return fail(e),
                };
                let ts = body["ts"].as_str().unwrap_or_default().to_string();
                let before = self.messages.len();
                self.messages.retain(|m| !(m.channel == channel && m.ts == ts));
                if self.messages.len() == before {
                    return fail("message_not_found");
                }
                ok(json!({"channel": channel, "ts": ts}))
            }
            "chat.update" => {
                let channel = match self.channel(&body) {
                    Ok(c) => c,
                    Err(e) => return fail(e),
                };
                let Some(ts) = body["ts"].as_str().map(str::to_string) else {
                    return fail("message_not_found");
                };
                if let Err(e) = Self::message_body(&body) {
                    return fail(e);
                }
                let token = token.unwrap_or_default().to_string();
                let now = Instant::now();
                let window = self.updates.entry(token).or_default();
                window.retain(|t| now.duration_since(*t) < Duration::from_secs(60));
                if window.len() >= self.limits.updates_per_minute {
                    let oldest = window.first().copied().unwrap_or(now);
                    let wait = Duration::from_secs(60).saturating_sub(now.duration_since(oldest));
                    self.rate_limited += 1;
                    return too_many(wait.as_secs().max(1));
                }
                window.push(now);
                let Some(m) = self
                    .messages
                    .iter_mut()
                    .find(|m| m.channel == channel && m.ts == ts && m.thread_ts.is_none())
                else {
                    return fail("message_not_found");
                };
                m.text = body["text"].as_str().unwrap_or("").to_string();
                if !body["blocks"].is_null() {
                    m.blocks = body["blocks"].clone();
                }
                m.version = body["metadata"]["event_payload"]["version"].as_u64().or(m.version);
                m.edits += 1;
                ok(json!({"channel": channel, "ts": ts}))
            }
            "conversations.create" => {
                let name = body["name"].as_str().unwrap_or("");
                let valid = !name.is_empty()
                    && name.len() <= 80
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
                if !valid {
                    return fail("invalid_name_specials");
                }
                if self.channels.values().any(|n| n == name) {
                    return fail("name_taken");
                }
                let id = format!("C0WAR{:04}", self.channels.len());
                self.channels.insert(id.clone(), name.to_string());
                ok(json!({"channel": {"id": id, "name": name}}))
            }
            "conversations.invite" => {
                let channel = match self.channel(&body) {
                    Ok(c) => c,
                    Err(e) => return fail(e),
                };
                let Some(users) = body["users"].as_str() else {
                    return fail("no_user");
                };
                let members = self.members.entry(channel).or_default();
                let mut added = false;
                for u in users.split(',') {
                    added |= members.insert(u.trim().to_string());
                }
                if added {
                    ok(json!({}))
                } else {
                    fail("already_in_channel")
                }
            }
            "conversations.archive" => {
                let channel = match self.channel(&body) {
                    Ok(c) => c,
                    Err("is_archived") => return fail("already_archived"),
                    Err(e) => return fail(e),
                };
                self.archived.insert(channel);
                ok(json!({}))
            }
            "pins.add" => {
                let channel = match self.channel(&body) {
                    Ok(c) => c,
                    Err(e) => return fail(e),
                };
                let Some(ts) = body["timestamp"].as_str() else {
                    return fail("no_item_specified");
                };
                if self.pins.iter().any(|(c, t)| c == &channel && t == ts) {
                    return fail("already_pinned");
                }
                self.pins.push((channel, ts.to_string()));
                ok(json!({}))
            }
            "views.open" => {
                if body["trigger_id"].as_str().is_none_or(str::is_empty) {
                    return fail("invalid_trigger_id");
                }
                let view = body["view"].clone();
                if chars(&view["title"]["text"]) > 24 || check_blocks(&view["blocks"]).is_err() {
                    return fail("invalid_arguments");
                }
                self.views.push(view);
                ok(json!({"view": {"id": "V0FAKE"}}))
            }
            _ => fail("unknown_method"),
        }
    }
}

async fn api(
    State(state): State<Arc<Mutex<Fake>>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    // JSON for most methods, a form for some read methods (`users.info`).
    let body: Value = serde_json::from_str(&body).unwrap_or_else(|_| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&body)
            .map(|pairs| pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
            .unwrap_or(Value::Null)
    });
    let delay = state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .delays
        .get(&method)
        .copied();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut fake = state.lock().unwrap_or_else(|p| p.into_inner());
    let mut response = fake.handle(&method, token.as_deref(), body);
    if token.is_some_and(|t| fake.tokens.contains(&t))
        && let Ok(value) = axum::http::HeaderValue::from_str(&fake.scopes.join(","))
    {
        response.headers_mut().insert("x-oauth-scopes", value);
    }
    response
}

async fn response_url(State(state): State<Arc<Mutex<Fake>>>, Path(id): Path<String>, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .responses
        .push((id, body));
    ok(json!({}))
}

impl FakeSlack {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(Fake {
            tokens: HashSet::new(),
            channels: HashMap::new(),
            archived: HashSet::new(),
            not_in: HashSet::new(),
            members: HashMap::new(),
            pins: Vec::new(),
            messages: Vec::new(),
            views: Vec::new(),
            responses: Vec::new(),
            calls: Vec::new(),
            last_post: HashMap::new(),
            updates: HashMap::new(),
            limits: Limits {
                post_interval: Duration::from_secs(1),
                updates_per_minute: 50,
            },
            faults: None,
            next_ts: 0,
            rate_limited: 0,
            injected_500: 0,
            injected_429: 0,
            scopes: FULL_SCOPES.iter().map(|s| s.to_string()).collect(),
            delays: HashMap::new(),
            people: HashMap::new(),
            down: HashSet::new(),
        }));
        let app = Router::new()
            .route("/api/{method}", post(api))
            .route("/response/{id}", post(response_url))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake slack");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            api_url: format!("http://{addr}/api"),
            response_prefix: format!("http://{addr}/response/"),
            state,
        }
    }

    /// What `users.info` says about `id` (`null`: no such user); see [`person`].
    pub fn with_person(&self, id: &str, user: Value) -> &Self {
        self.lock().people.insert(id.to_string(), user);
        self
    }

    /// A Web API method answering HTTP 503 (`false`: back).
    pub fn method_down(&self, method: &str, down: bool) {
        let mut fake = self.lock();
        if down {
            fake.down.insert(method.to_string());
        } else {
            fake.down.remove(method);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token's scopes (what `X-OAuth-Scopes` announces).
    pub fn with_scopes(&self, scopes: &[&str]) -> &Self {
        self.lock().scopes = scopes.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn with_token(&self, token: &str) -> &Self {
        self.lock().tokens.insert(token.to_string());
        self
    }

    pub fn revoke_token(&self, token: &str) {
        self.lock().tokens.remove(token);
    }

    pub fn with_channels(&self, ids: &[&str]) -> &Self {
        let mut fake = self.lock();
        for id in ids {
            fake.channels.insert((*id).to_string(), id.to_lowercase());
        }
        self
    }

    /// A channel someone already created with this name.
    pub fn with_named_channel(&self, id: &str, name: &str) -> &Self {
        self.lock().channels.insert(id.to_string(), name.to_string());
        self
    }

    /// The bot is not a member of this channel (`not_in_channel`) until [`Self::join`].
    pub fn without_bot(&self, channel: &str) {
        self.lock().not_in.insert(channel.to_string());
    }

    pub fn join(&self, channel: &str) {
        self.lock().not_in.remove(channel);
    }

    /// Injects seeded faults: a share `p500` of calls answer 500, `p429` answer 429 (Retry-After: 1).
    pub fn with_faults(&self, seed: u64, p500: f64, p429: f64) -> &Self {
        self.lock().faults = Some(Faults {
            rng: seed.max(1),
            p500,
            p429,
        });
        self
    }

    pub fn without_faults(&self) {
        self.lock().faults = None;
    }

    /// A message someone wrote (a mention the bot will answer in its thread).
    pub fn with_message(&self, channel: &str, ts: &str, text: &str) -> &Self {
        self.lock().messages.push(Message {
            channel: channel.into(),
            ts: ts.into(),
            thread_ts: None,
            text: text.into(),
            blocks: Value::Null,
            version: None,
            edits: 0,
            at: Instant::now(),
        });
        self
    }

    /// `method` answers only after `delay`.
    pub fn with_delay(&self, method: &str, delay: Duration) -> &Self {
        self.lock().delays.insert(method.to_string(), delay);
        self
    }

    /// Least time between two posts to one channel (Slack's is about a second).
    pub fn with_post_interval(&self, interval: Duration) -> &Self {
        self.lock().limits.post_interval = interval;
        self
    }

    pub fn with_update_limit(&self, per_minute: usize) -> &Self {
        self.lock().limits.updates_per_minute = per_minute;
        self
    }

    /// 429s answered because a rate limit was exceeded (not injected ones).
    pub fn rate_limited(&self) -> u64 {
        self.lock().rate_limited
    }

    pub fn injected(&self) -> (u64, u64) {
        let f = self.lock();
        (f.injected_500, f.injected_429)
    }

    /// Top-level messages in a channel.
    pub fn top_level(&self, channel: &str) -> Vec<Message> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.thread_ts.is_none())
            .cloned()
            .collect()
    }

    /// Replies in a message's thread.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<Message> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.thread_ts.as_deref() == Some(ts))
            .cloned()
            .collect()
    }

    /// Channels (by id) with at least one top-level message.
    pub fn channels_posted_to(&self) -> Vec<String> {
        let mut set: Vec<String> = self
            .lock()
            .messages
            .iter()
            .filter(|m| m.thread_ts.is_none())
            .map(|m| m.channel.clone())
            .collect();
        set.sort();
        set.dedup();
        set
    }

    pub fn all_messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }

    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.lock()
            .calls
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub fn channel_named(&self, name: &str) -> Option<String> {
        self.lock()
            .channels
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| id.clone())
    }

    pub fn members(&self, channel: &str) -> Vec<String> {
        let mut m: Vec<String> = self
            .lock()
            .members
            .get(channel)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        m.sort();
        m
    }

    pub fn is_archived(&self, channel: &str) -> bool {
        self.lock().archived.contains(channel)
    }

    pub fn pins(&self) -> Vec<(String, String)> {
        self.lock().pins.clone()
    }

    pub fn views(&self) -> Vec<Value> {
        self.lock().views.clone()
    }

    /// What was posted to response URLs, by the id in the URL.
    pub fn responses(&self) -> BTreeMap<String, Vec<Value>> {
        let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (id, body) in self.lock().responses.iter() {
            out.entry(id.clone()).or_default().push(body.clone());
        }
        out
    }
}
