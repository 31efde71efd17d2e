//! A strict fake of Discord's REST API on a local port.
//!
//! It checks `Authorization: Bot <token>` and the `DiscordBot` user agent; enforces the embed
//! limits (title 256, description 4096, 25 fields of 256/1024, footer 2048, 6000 in all), content
//! 2000, at most 5 action rows of at most 5 buttons or 1 select, custom ids of 1-100 characters,
//! unique in a message, and `allowed_mentions` with `parse: []`; honours `nonce` +
//! `enforce_nonce` (a repeat returns the first message); announces its rate-limit buckets in
//! `X-RateLimit-*` headers (5 messages per 5 s per channel unless set) and answers 429 with
//! `retry_after` when one is exceeded; can inject one global 429 and records any request made
//! during the pause it announced. Everything accepted is recorded.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

/// A message as the fake holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub channel: String,
    pub body: Value,
    /// The message this one replies to.
    pub reply_to: Option<String>,
    pub edits: u32,
    pub at: Instant,
}

#[derive(Debug, Default)]
struct Fake {
    /// Users who are no longer members of the server (anyone else is one).
    departed: HashSet<String>,
    /// The members endpoint answers 503.
    members_down: bool,
    /// Member lookups, by user id.
    member_lookups: Vec<String>,
    tokens: HashSet<String>,
    messages: Vec<Message>,
    nonces: HashMap<String, String>,
    channels: Vec<(String, String)>,
    permissions: Vec<(String, String, Value)>,
    pins: Vec<(String, String)>,
    commands: HashMap<String, Value>,
    registrations: u32,
    follow_ups: Vec<(String, Value)>,
    /// Calls per bucket key, within the window.
    windows: HashMap<String, Vec<Instant>>,
    per_window: usize,
    window: Duration,
    global_per_second: usize,
    global: Vec<Instant>,
    /// A global 429 to answer next, and the pause it announced.
    inject_global: Option<f64>,
    paused_until: Option<Instant>,
    pub violations: u64,
    rate_limited: u64,
    next_id: u64,
    rejected: Vec<String>,
}

#[derive(Clone)]
pub struct FakeDiscord {
    /// REST base for the client: `http://127.0.0.1:<port>/api/v10`.
    pub api_url: String,
    state: Arc<Mutex<Fake>>,
}

fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, axum::Json(json!({"code": code, "message": message}))).into_response()
}

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Discord's message limits (PROTOCOLS.md §2.4).
fn check_message(body: &Value) -> Result<(), String> {
    if chars(&body["content"]) > 2000 {
        return Err("content over 2000".into());
    }
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if embeds.len() > 10 {
        return Err("more than 10 embeds".into());
    }
    let mut total = 0;
    for e in &embeds {
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if chars(&e["title"]) > 256 || chars(&e["description"]) > 4096 || chars(&e["footer"]["text"]) > 2048 {
            return Err("embed title, description or footer too long".into());
        }
        if fields.len() > 25 {
            return Err("more than 25 fields".into());
        }
        for f in &fields {
            if chars(&f["name"]) == 0 || chars(&f["name"]) > 256 || chars(&f["value"]) == 0 || chars(&f["value"]) > 1024
            {
                return Err("field name or value empty or too long".into());
            }
            total += chars(&f["name"]) + chars(&f["value"]);
        }
        total += chars(&e["title"]) + chars(&e["description"]) + chars(&e["footer"]["text"]);
    }
    if total > 6000 {
        return Err(format!("embeds total {total} over 6000"));
    }
    let rows = body["components"].as_array().cloned().unwrap_or_default();
    if rows.len() > 5 {
        return Err("more than 5 action rows".into());
    }
    let mut ids = HashSet::new();
    for row in &rows {
        let items = row["components"].as_array().cloned().unwrap_or_default();
        let selects = items.iter().filter(|c| c["type"] != 2).count();
        if items.is_empty() || items.len() > 5 || (selects > 0 && items.len() > 1) {
            return Err("a row holds 1-5 buttons or one select".into());
        }
        for c in &items {
            let id = c["custom_id"].as_str().unwrap_or("");
            if id.is_empty() || id.chars().count() > 100 || !ids.insert(id.to_string()) {
                return Err(format!("bad custom_id `{id}`"));
            }
            if c["type"] == 2 && (chars(&c["label"]) > 80 || !(1..=4).contains(&c["style"].as_u64().unwrap_or(0))) {
                return Err("bad button".into());
            }
            if c["type"] == 3 && c["options"].as_array().is_none_or(|o| o.is_empty() || o.len() > 25) {
                return Err("a select needs 1-25 options".into());
            }
        }
    }
    if body["allowed_mentions"]["parse"] != json!([]) {
        return Err("allowed_mentions must say parse: [] (we never let Discord parse mentions)".into());
    }
    Ok(())
}

impl Fake {
    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("{}", 1_200_000_000_000_000_000u64 + self.next_id)
    }

    /// Rate limiting of one call in `bucket`: headers to send, or a 429.
    #[allow(clippy::result_large_err)] // a test fake: the error is the response itself
    fn limit(&mut self, bucket: &str, key: &str) -> Result<Vec<(&'static str, String)>, Response> {
        let now = Instant::now();
        if let Some(until) = self.paused_until.filter(|u| now < *u) {
            // A request during an announced global pause: counted, and refused as Discord would.
            self.violations += 1;
            self.rate_limited += 1;
            let retry = until.duration_since(now).as_secs_f64();
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({"message": "You are being rate limited.", "retry_after": retry, "global": true})),
            )
                .into_response());
        }
        if let Some(retry) = self.inject_global.take() {
            self.paused_until = Some(now + Duration::from_secs_f64(retry));
            self.rate_limited += 1;
            let body = json!({"message": "You are being rate limited.", "retry_after": retry, "global": true});
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("x-ratelimit-global", "true".to_string()),
                    ("x-ratelimit-scope", "global".to_string()),
                    ("retry-after", retry.to_string()),
                ],
                axum::Json(body),
            )
                .into_response());
        }
        self.global.retain(|t| now.duration_since(*t) < Duration::from_secs(1));
        if self.global.len() >= self.global_per_second {
            self.rate_limited += 1;
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({"message": "global", "retry_after": 1.0, "global": true})),
            )
                .into_response());
        }
        let (per, window) = (self.per_window, self.window);
        let calls = self.windows.entry(key.to_string()).or_default();
        calls.retain(|t| now.duration_since(*t) < window);
        let reset_after = calls
            .first()
            .map(|t| window.saturating_sub(now.duration_since(*t)))
            .unwrap_or(window)
            .as_secs_f64();
        if calls.len() >= per {
            self.rate_limited += 1;
            let body = json!({"message": "You are being rate limited.", "retry_after": reset_after, "global": false});
            return Err((
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("x-ratelimit-bucket", bucket.to_string()),
                    ("x-ratelimit-scope", "user".to_string()),
                ],
                axum::Json(body),
            )
                .into_response());
        }
        calls.push(now);
        self.global.push(now);
        Ok(vec![
            ("x-ratelimit-bucket", bucket.to_string()),
            ("x-ratelimit-limit", per.to_string()),
            ("x-ratelimit-remaining", (per - calls.len()).to_string()),
            ("x-ratelimit-reset-after", format!("{:.3}", window.as_secs_f64())),
        ])
    }

    fn handle(&mut self, method: &Method, path: &str, headers: &HeaderMap, body: Value) -> Response {
        let parts: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
        // Follow-ups use the interaction token as their credential, not the bot's.
        if let ["webhooks", _app, token] = parts.as_slice() {
            self.follow_ups.push((token.to_string(), body));
            let id = self.id();
            return axum::Json(json!({"id": id})).into_response();
        }
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bot "));
        if !token.is_some_and(|t| self.tokens.contains(t)) {
            return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
        }
        if !headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ua| ua.starts_with("DiscordBot ("))
        {
            return error(
                StatusCode::FORBIDDEN,
                40333,
                "the user agent must be DiscordBot (url, version)",
            );
        }
        match (method.as_str(), parts.as_slice()) {
            ("GET", ["guilds", _guild, "members", user]) => {
                self.member_lookups.push(user.to_string());
                if self.members_down {
                    return error(StatusCode::SERVICE_UNAVAILABLE, 0, "upstream unavailable");
                }
                if self.departed.contains(*user) {
                    return error(StatusCode::NOT_FOUND, 10007, "Unknown Member");
                }
                axum::Json(
                    json!({"user": {"id": user, "username": user.to_lowercase(), "bot": false},
                                  "roles": [], "pending": false}),
                )
                .into_response()
            }
            ("POST", ["channels", channel, "messages"]) => {
                let headers = match self.limit("b-post-messages", &format!("post:{channel}")) {
                    Ok(h) => h,
                    Err(r) => return r,
                };
                if let Err(e) = check_message(&body) {
                    self.rejected.push(e.clone());
                    return error(StatusCode::BAD_REQUEST, 50035, &e);
                }
                if let Some(nonce) = body["nonce"].as_str() {
                    if nonce.chars().count() > 25 {
                        return error(StatusCode::BAD_REQUEST, 50035, "nonce over 25");
                    }
                    if body["enforce_nonce"] == true
                        && let Some(existing) = self.nonces.get(&format!("{channel}:{nonce}"))
                    {
                        return (
                            headers_map(&headers),
                            axum::Json(json!({"id": existing, "channel_id": channel})),
                        )
                            .into_response();
                    }
                }
                let id = self.id();
                if let Some(nonce) = body["nonce"].as_str() {
                    self.nonces.insert(format!("{channel}:{nonce}"), id.clone());
                }
                let reply_to = body["message_reference"]["message_id"].as_str().map(str::to_string);
                self.messages.push(Message {
                    id: id.clone(),
                    channel: channel.to_string(),
                    body,
                    reply_to,
                    edits: 0,
                    at: Instant::now(),
                });
                (
                    headers_map(&headers),
                    axum::Json(json!({"id": id, "channel_id": channel})),
                )
                    .into_response()
            }
            ("DELETE", ["channels", channel, "messages", id]) => {
                let before = self.messages.len();
                self.messages.retain(|m| !(m.channel == *channel && m.id == *id));
                if self.messages.len() == before {
                    return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
                }
                StatusCode::NO_CONTENT.into_response()
            }
            ("PATCH", ["channels", channel, "messages", id]) => {
                let headers = match self.limit("b-patch-messages", &format!("patch:{channel}")) {
                    Ok(h) => h,
                    Err(r) => return r,
                };
                if let Err(e) = check_message(&body) {
                    self.rejected.push(e.clone());
                    return error(StatusCode::BAD_REQUEST, 50035, &e);
                }
                match self.messages.iter_mut().find(|m| m.id == *id && m.channel == *channel) {
                    Some(m) => {
                        m.body = body;
                        m.edits += 1;
                        (headers_map(&headers), axum::Json(json!({"id": id}))).into_response()
                    }
                    None => error(StatusCode::NOT_FOUND, 10008, "Unknown Message"),
                }
            }
            ("GET", ["users", "@me"]) => {
                axum::Json(json!({"id": "1200000000000000001", "username": "incident-bot", "bot": true}))
                    .into_response()
            }
            ("GET", ["channels", channel]) => match self.channels.iter().find(|(id, _)| id == channel) {
                Some((id, name)) => axum::Json(json!({"id": id, "name": name, "type": 0})).into_response(),
                None => error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
            },
            ("GET", ["applications", app, "guilds", guild, "commands"])
            | ("GET", ["applications", app, guild @ "commands"]) => {
                let list = self
                    .commands
                    .get(&format!("{app}/{guild}"))
                    .cloned()
                    .unwrap_or(json!([]));
                axum::Json(list).into_response()
            }
            ("GET", ["guilds", _guild, "channels"]) => {
                let list: Vec<Value> = self
                    .channels
                    .iter()
                    .map(|(id, name)| json!({"id": id, "name": name, "type": 0}))
                    .collect();
                axum::Json(json!(list)).into_response()
            }
            ("POST", ["guilds", _guild, "channels"]) => {
                let name = body["name"].as_str().unwrap_or("").to_string();
                let valid = (1..=100).contains(&name.chars().count())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
                if !valid {
                    return error(StatusCode::BAD_REQUEST, 50035, "bad channel name");
                }
                let id = self.id();
                self.channels.push((id.clone(), name.clone()));
                (StatusCode::CREATED, axum::Json(json!({"id": id, "name": name}))).into_response()
            }
            ("PUT", ["channels", channel, "permissions", target]) => {
                self.permissions.push((channel.to_string(), target.to_string(), body));
                StatusCode::NO_CONTENT.into_response()
            }
            ("PUT", ["channels", channel, "pins", message]) => {
                self.pins.push((channel.to_string(), message.to_string()));
                StatusCode::NO_CONTENT.into_response()
            }
            ("PUT", ["applications", app, "guilds", guild, "commands"])
            | ("PUT", ["applications", app, guild @ "commands"]) => {
                let key = format!("{app}/{guild}");
                let list = body.as_array().cloned().unwrap_or_default();
                let with_ids: Vec<Value> = list
                    .into_iter()
                    .map(|mut c| {
                        c["id"] = json!("1300000000000000001");
                        c
                    })
                    .collect();
                self.registrations += 1;
                self.commands.insert(key, json!(with_ids));
                axum::Json(json!(with_ids)).into_response()
            }
            _ => error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
        }
    }
}

fn headers_map(pairs: &[(&'static str, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        if let Ok(v) = v.parse() {
            map.insert(*k, v);
        }
    }
    map
}

async fn api(
    State(state): State<Arc<Mutex<Fake>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut fake = state.lock().unwrap_or_else(|p| p.into_inner());
    fake.handle(&method, uri.path(), &headers, body)
}

impl FakeDiscord {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(Fake {
            per_window: 5,
            window: Duration::from_secs(5),
            global_per_second: 50,
            ..Fake::default()
        }));
        let app = Router::new()
            .route("/api/v10/{*rest}", any(api))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake discord");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            api_url: format!("http://{addr}/api/v10"),
            state,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `user` left the server (member lookups answer 404 Unknown Member).
    pub fn depart(&self, user: &str) {
        self.lock().departed.insert(user.to_string());
    }

    /// The members endpoint fails (`false`: back).
    pub fn members_down(&self, down: bool) {
        self.lock().members_down = down;
    }

    /// Member lookups made so far, by user id.
    pub fn member_lookups(&self) -> Vec<String> {
        self.lock().member_lookups.clone()
    }

    pub fn with_token(&self, token: &str) -> &Self {
        self.lock().tokens.insert(token.to_string());
        self
    }

    /// `per` calls per `window` for each channel's message bucket.
    pub fn with_buckets(&self, per: usize, window: Duration) -> &Self {
        let mut fake = self.lock();
        fake.per_window = per;
        fake.window = window;
        self
    }

    /// The next call is answered with a global 429 and `retry_after`.
    pub fn inject_global_limit(&self, retry_after: f64) {
        self.lock().inject_global = Some(retry_after);
    }

    pub fn with_channel(&self, id: &str, name: &str) -> &Self {
        self.lock().channels.push((id.to_string(), name.to_string()));
        self
    }

    /// Top-level messages in a channel, oldest first.
    pub fn top_level(&self, channel: &str) -> Vec<Message> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.reply_to.is_none())
            .cloned()
            .collect()
    }

    pub fn replies(&self, channel: &str, to: &str) -> Vec<Message> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.channel == channel && m.reply_to.as_deref() == Some(to))
            .cloned()
            .collect()
    }

    pub fn all_messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }

    pub fn channel_named(&self, name: &str) -> Option<String> {
        self.lock()
            .channels
            .iter()
            .find(|(_, n)| n == name)
            .map(|(id, _)| id.clone())
    }

    pub fn permissions(&self, channel: &str) -> Vec<(String, Value)> {
        self.lock()
            .permissions
            .iter()
            .filter(|(c, _, _)| c == channel)
            .map(|(_, t, b)| (t.clone(), b.clone()))
            .collect()
    }

    pub fn pins(&self) -> Vec<(String, String)> {
        self.lock().pins.clone()
    }

    pub fn registrations(&self) -> (u32, HashMap<String, Value>) {
        let fake = self.lock();
        (fake.registrations, fake.commands.clone())
    }

    pub fn follow_ups(&self) -> Vec<(String, Value)> {
        self.lock().follow_ups.clone()
    }

    pub fn rate_limited(&self) -> u64 {
        self.lock().rate_limited
    }

    /// Requests made while a global pause was in force.
    pub fn violations(&self) -> u64 {
        self.lock().violations
    }

    /// What an interaction answer of type 7 does: updates the clicked message.
    pub fn apply_update(&self, message: &str, body: Value) {
        if let Some(m) = self.lock().messages.iter_mut().find(|m| m.id == message) {
            // Discord keeps whatever an update leaves out.
            match (m.body.as_object_mut(), body.as_object()) {
                (Some(old), Some(new)) => old.extend(new.clone()),
                _ => m.body = body,
            }
            m.edits += 1;
        }
    }

    /// Bodies refused for breaking a limit.
    pub fn rejected(&self) -> Vec<String> {
        self.lock().rejected.clone()
    }
}
