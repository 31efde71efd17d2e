//! A fake Echo service (messages, edits, replies, follow-ups over HTTP, with a bearer token), and
//! Echo in the shared suites.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use im_core::action::ActionRef;
use im_core::inbound::{HttpAnswer, PlatformAdapter};
use serde_json::{Value, json};

use crate::echo::{EchoAdapter, sign};
use crate::world::{Clicked, Seen, Shown, Signed, UnderTest};

pub const SECRET: &str = "echo-suite-secret";
pub const TOKEN: &str = "echo-suite-token";

#[derive(Debug, Clone, Default)]
pub struct EchoMessage {
    pub id: String,
    pub channel: String,
    pub body: Value,
    pub replies: Vec<String>,
}

#[derive(Default)]
struct EchoState {
    messages: Vec<EchoMessage>,
    follow_ups: Vec<Value>,
}

type Shared = Arc<Mutex<EchoState>>;

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

async fn create(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let mut state = s.lock().expect("lock");
    let id = format!("m{}", state.messages.len() + 1);
    let channel = body["channel"].as_str().unwrap_or("").to_string();
    state.messages.push(EchoMessage {
        id: id.clone(),
        channel,
        body,
        replies: Vec::new(),
    });
    axum::Json(json!({"id": id})).into_response()
}

async fn edit(State(s): State<Shared>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut state = s.lock().expect("lock");
    match state.messages.iter_mut().find(|m| m.id == id) {
        Some(m) => {
            let channel = m.body["channel"].clone();
            m.body = serde_json::from_str(&body).unwrap_or_default();
            m.body["channel"] = channel;
            axum::Json(json!({})).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn reply(State(s): State<Shared>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let mut state = s.lock().expect("lock");
    match state.messages.iter_mut().find(|m| m.id == id) {
        Some(m) => {
            m.replies.push(body["text"].as_str().unwrap_or("").to_string());
            axum::Json(json!({"id": format!("{id}.r{}", m.replies.len())})).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn follow_up(State(s): State<Shared>, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    s.lock().expect("lock").follow_ups.push(body);
    axum::Json(json!({})).into_response()
}

/// Echo's Markdown back to what a person reads (backslash escapes undone).
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

pub struct EchoUnderTest {
    base: String,
    state: Shared,
    /// Seconds added to signing timestamps: the sender's clock moves with the world's.
    clock_offset: std::sync::atomic::AtomicI64,
}

impl EchoUnderTest {
    pub async fn start() -> Arc<Self> {
        let state: Shared = Arc::default();
        let app = Router::new()
            .route("/messages", post(create))
            .route("/messages/{id}", put(edit))
            .route("/messages/{id}/replies", post(reply))
            .route("/followups", post(follow_up))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Arc::new(Self {
            base: format!("http://{addr}"),
            state,
            clock_offset: std::sync::atomic::AtomicI64::new(0),
        })
    }

    fn signed(&self, secret: &str, body: Value) -> Signed {
        let body = body.to_string().into_bytes();
        let ts = time::OffsetDateTime::now_utc().unix_timestamp()
            + self.clock_offset.load(std::sync::atomic::Ordering::Relaxed);
        let headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("x-echo-timestamp".to_string(), ts.to_string()),
            ("x-echo-signature".to_string(), sign(secret, ts, &body)),
        ];
        (headers, body)
    }

    fn request(&self, kind: &str, workspace: &str, user: &str, channel: &str) -> Value {
        json!({"type": kind, "id": ulid::Ulid::generate().to_string(), "workspace": workspace,
               "user": {"id": user, "name": user.to_lowercase()}, "channel": channel})
    }
}

impl UnderTest for EchoUnderTest {
    fn shift_clock(&self, seconds: i64) {
        self.clock_offset
            .fetch_add(seconds, std::sync::atomic::Ordering::Relaxed);
    }

    fn name(&self) -> &'static str {
        "echo"
    }

    fn adapter(&self) -> Arc<dyn PlatformAdapter> {
        Arc::new(EchoAdapter::new(&self.base))
    }

    fn secrets(&self) -> Vec<(&'static str, String)> {
        vec![("echo_secret", SECRET.into()), ("echo_token", TOKEN.into())]
    }

    fn binding(&self) -> Value {
        json!({"workspace": "W1"})
    }

    fn mention(&self, user: &str) -> String {
        format!("<user:{user}>")
    }

    fn live_markup(&self, raw: &str) -> Vec<String> {
        // Unescaped `<` or `@` would act, except the `<@id>` of a mention.
        let chars: Vec<char> = raw.chars().collect();
        let mut live = Vec::new();
        for (i, c) in chars.iter().enumerate() {
            let escaped = i > 0 && chars[i - 1] == '\\';
            let mention = (*c == '<' && chars.get(i + 1) == Some(&'@')) || (*c == '@' && i > 0 && chars[i - 1] == '<');
            if matches!(c, '<' | '@') && !escaped && !mention {
                live.push(chars[i..chars.len().min(i + 12)].iter().collect());
            }
        }
        live
    }

    fn command(&self, user: &str, channel: &str, text: &str) -> Signed {
        let mut body = self.request("command", "W1", user, channel);
        body["text"] = json!(text);
        self.signed(SECRET, body)
    }

    fn foreign_command(&self, user: &str, channel: &str, text: &str) -> Signed {
        let mut body = self.request("command", "W2", user, channel);
        body["text"] = json!(text);
        self.signed(SECRET, body)
    }

    fn forged(&self, user: &str, channel: &str, text: &str) -> Signed {
        let mut body = self.request("command", "W1", user, channel);
        body["text"] = json!(text);
        self.signed("someone-elses-secret", body)
    }

    fn click(&self, user: &str, channel: &str, message: &str, action: &ActionRef) -> Signed {
        let mut body = self.request("click", "W1", user, channel);
        body["message"] = json!(message);
        body["action"] = json!(action.encode());
        self.signed(SECRET, body)
    }

    fn press(&self, user: &str, channel: &str, seen: &Seen, label: &str) -> Option<Signed> {
        let button = seen.raw["buttons"].as_array()?.iter().find(|b| b["label"] == label)?;
        let action = ActionRef::decode(button["id"].as_str()?).ok()?;
        Some(self.click(user, channel, &seen.id, &action))
    }

    fn submit_note(&self, user: &str, incident: &str, note: &str) -> Signed {
        let mut body = self.request("form", "W1", user, "");
        body["incident"] = json!(incident);
        body["note"] = json!(note);
        self.signed(SECRET, body)
    }

    fn shown(&self, answer: &HttpAnswer) -> Shown {
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        Shown {
            status: answer.status,
            text: unescape(body["reply"]["text"].as_str().unwrap_or("")),
            private: body["visibility"] != "channel",
        }
    }

    fn clicked(&self, answer: &HttpAnswer, request: &Signed) -> Clicked {
        let body: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        // The clicked message is edited in the response itself: the fake applies it, as Echo would.
        if let Some(updated) = body.get("updated").filter(|u| !u.is_null()) {
            let clicked: Value = serde_json::from_slice(&request.1).unwrap_or_default();
            let mut state = self.state.lock().expect("lock");
            if let Some(m) = state.messages.iter_mut().find(|m| m.id == clicked["message"]) {
                let channel = m.body["channel"].clone();
                m.body = updated.clone();
                m.body["channel"] = channel;
            }
        }
        Clicked {
            status: answer.status,
            private: body["private"].as_str().map(unescape),
            form: body["form"] == "status_update",
        }
    }

    fn top_level(&self, channel: &str) -> Vec<Seen> {
        let state = self.state.lock().expect("lock");
        state
            .messages
            .iter()
            .filter(|m| m.channel == channel)
            .map(|m| Seen {
                id: m.id.clone(),
                text: unescape(m.body["text"].as_str().unwrap_or("")),
                version: m.body["version"].as_u64(),
                actions: m.body["buttons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b["id"].as_str())
                    .filter_map(|id| ActionRef::decode(id).ok())
                    .map(|a| a.key.id().to_string())
                    .fold(Vec::new(), |mut v, k| {
                        if !v.contains(&k) {
                            v.push(k);
                        }
                        v
                    }),
                raw: m.body.clone(),
            })
            .collect()
    }

    fn thread(&self, channel: &str, message: &str) -> Vec<String> {
        let state = self.state.lock().expect("lock");
        state
            .messages
            .iter()
            .find(|m| m.channel == channel && m.id == message)
            .map(|m| m.replies.iter().map(|r| unescape(r)).collect())
            .unwrap_or_default()
    }

    fn follow_ups_raw(&self) -> Vec<String> {
        let state = self.state.lock().expect("lock");
        state
            .follow_ups
            .iter()
            .map(|f| f["text"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn follow_ups(&self) -> Vec<String> {
        let state = self.state.lock().expect("lock");
        state
            .follow_ups
            .iter()
            .map(|f| unescape(f["text"].as_str().unwrap_or("")))
            .collect()
    }
}
