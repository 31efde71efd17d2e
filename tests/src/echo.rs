//! Echo: a made-up fifth platform, test-only, proving the platform seam: its own signature
//! (HMAC-SHA256 of `echo:<timestamp>:<body>`), JSON payloads and backslash-escaped Markdown; it
//! edits clicked messages in the response and has no channels (war rooms take the core's
//! fallback). It passes the shared suites with no change outside this file and `echo_fake.rs`.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use im_core::UserRef;
use im_core::action::ActionRef;
use im_core::chat::{BoxFuture, ChatError, MessageRef, Messenger, Op, PaceRule};
use im_core::command::Segment;
use im_core::inbound::{
    Answer, Context, Exchange, HttpAnswer, Inbound, ParseError, PlatformAdapter, Request, Submission, VerifyError,
    Visibility,
};
use im_core::message::{Block, Doc, Element, Span, Text};
use im_core::provider::{PlatformSpec, Provider, ProviderSecrets, TenantField};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

pub static SPEC: PlatformSpec = PlatformSpec {
    name: "echo",
    title: "Echo",
    config_keys: &[("workspace", "the Echo workspace the provider serves")],
    secret_keys: &[("echo_secret", "signs requests"), ("echo_token", "posts messages")],
    inbound_keys: &["echo_secret"],
    tenant_keys: &[("workspace", TenantField::Workspace)],
    check: None,
    shares_email: false,
    room: im_core::action::AMPLE,
};

/// `sha256=<hex>` of `echo:<timestamp>:<body>`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(format!("echo:{timestamp}:").as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Escapes Echo's Markdown: every special character gets a backslash.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '*' | '_' | '`' | '<' | '>' | '@' | '#' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn span(provider: &str, s: &Span) -> String {
    match s {
        Span::Plain(t) => escape(t),
        Span::Bold(t) => format!("**{}**", escape(t)),
        Span::Italic(t) => format!("_{}_", escape(t)),
        Span::Code(t) => format!("`{}`", escape(t)),
        Span::User(u) if u.belongs_to(provider) => format!("<@{}>", escape(&u.id)),
        Span::User(u) => escape(u.display()),
        Span::Channel { id, name } => format!("\\#{}", escape(name.as_deref().unwrap_or(id))),
        Span::Link { url, label } => format!("{} ({})", escape(label), escape(url)),
        Span::Time(t) => escape(&im_core::message::rfc3339(*t)),
    }
}

fn text(provider: &str, t: &Text) -> String {
    t.spans().iter().map(|s| span(provider, s)).collect()
}

/// A document as Echo's Markdown text, and its elements as `{label, id}` buttons.
pub fn render(provider: &str, doc: &Doc) -> Value {
    let mut lines = Vec::new();
    for block in &doc.blocks {
        match block {
            Block::Header(h) => lines.push(format!("**{}**", escape(h))),
            Block::Paragraph(t) | Block::Context(t) => lines.push(text(provider, t)),
            Block::Lines(ls) => lines.extend(ls.iter().map(|l| text(provider, l))),
            Block::Facts(rows) => lines.extend(
                rows.iter()
                    .flatten()
                    .map(|f| format!("{}: {}", escape(&f.label), text(provider, &f.value))),
            ),
            Block::Markup(m) => lines.push(m.render(escape)),
            Block::Buttons(_) | Block::Menus(_) => {}
        }
    }
    let button = |label: &str, a: &ActionRef| json!({"label": label, "id": a.encode()});
    let buttons: Vec<Value> = doc
        .elements()
        .flat_map(|e| {
            let at = |choice: Option<&String>| ActionRef::new(e.action(), e.incident().clone(), choice.cloned());
            match e {
                Element::Button { label, value, .. } => vec![button(label, &at(value.as_ref()))],
                Element::UserSelect { placeholder: label, .. } => vec![button(label, &at(None))],
                Element::Select { options, .. } => {
                    options.iter().map(|o| button(&o.label, &at(Some(&o.value)))).collect()
                }
            }
        })
        .collect();
    json!({"text": lines.join("\n"), "buttons": buttons, "version": doc.card.as_ref().map(|c| c.version)})
}

/// Echo text → segments: `<user:ID>` is a person, everything else text.
fn segments(raw: &str, provider: &str) -> Vec<Segment> {
    let mut parts = raw.split("<user:");
    let mut out = vec![Segment::text(parts.next().unwrap_or(""))];
    for part in parts {
        let (id, rest) = part.split_once('>').unwrap_or((part, ""));
        out.extend([Segment::User(UserRef::new(id, None).on(provider)), Segment::text(rest)]);
    }
    out
}

/// The Echo platform: its service's base URL and an HTTP client.
pub struct EchoAdapter(String, reqwest::Client);

impl EchoAdapter {
    pub fn new(base: &str) -> Self {
        Self(
            base.into(),
            im_slack::client::http_client(Duration::from_secs(5)).expect("client"),
        )
    }
}

fn field(v: &Value, key: &str) -> Option<String> {
    v[key].as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

impl PlatformAdapter for EchoAdapter {
    fn spec(&self) -> &PlatformSpec {
        &SPEC
    }

    fn deadline(&self) -> Duration {
        Duration::from_secs(2)
    }

    fn verify(&self, r: &Request<'_>, _: &Provider, secrets: &ProviderSecrets, now: i64) -> Result<(), VerifyError> {
        let header = |h: &'static str| r.header(h).ok_or(VerifyError::Missing(h));
        let (ts, given) = (header("x-echo-timestamp")?, header("x-echo-signature")?);
        let secret = secrets
            .get("echo_secret")
            .ok_or(VerifyError::Unusable("no echo_secret".into()))?;
        let ts: i64 = ts.parse().map_err(|_| VerifyError::Malformed("x-echo-timestamp"))?;
        if (now - ts).abs() > 300 {
            return Err(VerifyError::Stale);
        }
        let expected = sign(secret.expose_secret(), ts, r.body);
        let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), given.as_bytes()).into();
        if same { Ok(()) } else { Err(VerifyError::Mismatch) }
    }

    fn parse(&self, r: &Request<'_>, provider: &str) -> Result<Inbound, ParseError> {
        let v: Value = serde_json::from_slice(r.body).map_err(|e| ParseError(format!("not Echo JSON: {e}")))?;
        let user = UserRef::new(field(&v["user"], "id").unwrap_or_default(), field(&v["user"], "name")).on(provider);
        let ctx = Context {
            user,
            channel: field(&v, "channel"),
            workspace: field(&v, "workspace"),
            request_id: field(&v, "id"),
            prefix: "/im".into(),
            reply_to: field(&v, "id"),
            message: field(&v, "message").map(|m| MessageRef::new(field(&v, "channel").unwrap_or_default(), m)),
            ..Context::default()
        };
        let body = field(&v, "text").unwrap_or_default();
        Ok(match v["type"].as_str() {
            Some("hello") => Inbound::Challenge(field(&v, "challenge").unwrap_or_default()),
            Some(kind @ ("command" | "mention")) => {
                let text = segments(&body, provider);
                if kind == "command" {
                    Inbound::Command { ctx, text }
                } else {
                    Inbound::Mention { ctx, text }
                }
            }
            Some("click") => match ActionRef::decode(&field(&v, "action").unwrap_or_default()) {
                Ok(action) => Inbound::Action { ctx, action },
                Err(e) => Inbound::Ignored(e.to_string()),
            },
            Some("form") => {
                let incident = field(&v, "incident").and_then(|i| im_core::IncidentId::parse(&i).ok());
                let incident = incident.ok_or_else(|| ParseError("the form names no incident".into()))?;
                let note = field(&v, "note").unwrap_or_default();
                let submission = Submission::StatusUpdate { incident, note };
                Inbound::Submission { ctx, submission }
            }
            other => Inbound::Ignored(format!("type {other:?}")),
        })
    }

    fn answer<'a>(&'a self, ex: Exchange<'a>, answer: Answer) -> BoxFuture<'a, HttpAnswer> {
        let p = &ex.provider.name;
        let body = match answer {
            Answer::Challenge(c) => json!({"hello": c}),
            Answer::Reply { doc, visibility } => {
                json!({"visibility": if visibility == Visibility::Private { "private" } else { "channel" }, "reply": render(p, &doc)})
            }
            Answer::Clicked { updated, private } => json!({
                "updated": updated.map(|d| render(p, &d)), "private": private.map(|d| render(p, &d)["text"].clone())
            }),
            Answer::Form { .. } => json!({"form": "status_update"}),
            Answer::FormError { message } => json!({"error": message}),
            Answer::Deferred => json!({"deferred": true}),
            Answer::Choices(c) => json!({"choices": c.iter().map(|c| &c.value).collect::<Vec<_>>()}),
            Answer::Empty => return Box::pin(std::future::ready(HttpAnswer::empty())),
        };
        Box::pin(std::future::ready(HttpAnswer::json(&body)))
    }

    fn edits_clicked_inline(&self) -> bool {
        true
    }

    fn follow_up<'a>(&'a self, ex: Exchange<'a>, doc: &'a Doc, _: Visibility) -> BoxFuture<'a, Result<(), ChatError>> {
        let reply_to = ex.ctx.and_then(|c| c.reply_to.clone()).unwrap_or_default();
        let body = json!({"reply_to": reply_to, "text": render(&ex.provider.name, doc)["text"]});
        let request = self.1.post(format!("{}/followups", self.0)).json(&body);
        Box::pin(async move { call(request).await.map(|_| ()) })
    }

    fn messenger(&self, provider: &Provider, secrets: &ProviderSecrets) -> Result<Arc<dyn Messenger>, ChatError> {
        let token = secrets.get("echo_token").map(|t| t.expose_secret().to_string());
        let token = token.ok_or_else(|| ChatError::Permanent("no echo_token".into()))?;
        Ok(Arc::new(EchoClient(
            self.1.clone(),
            self.0.clone(),
            token,
            provider.name.clone(),
        )))
    }
}

async fn call(request: reqwest::RequestBuilder) -> Result<Value, ChatError> {
    let response = request.send().await.map_err(|e| ChatError::Transient(e.to_string()))?;
    match response.status().as_u16() {
        200..=299 => Ok(response.json().await.unwrap_or(Value::Null)),
        401 => Err(ChatError::Unauthorized("bad token".into())),
        404 => Err(ChatError::NotFound("no such channel or message".into())),
        429 => Err(ChatError::rate_limited(Duration::from_secs(1))),
        s if s >= 500 => Err(ChatError::Transient(format!("HTTP {s}"))),
        s => Err(ChatError::Permanent(format!("HTTP {s}"))),
    }
}

/// One provider's client: HTTP client, base URL, bot token, provider name.
struct EchoClient(reqwest::Client, String, String, String);

impl EchoClient {
    /// Sends `body` to `path`; the id of what was created, if anything was.
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Result<String, ChatError> {
        let request = self.0.request(method, format!("{}{path}", self.1)).bearer_auth(&self.2);
        let answer = call(request.json(&body)).await?;
        Ok(answer["id"].as_str().unwrap_or_default().to_string())
    }
}

impl Messenger for EchoClient {
    fn platform(&self) -> &str {
        "echo"
    }

    fn post<'a>(&'a self, channel: &'a str, doc: &'a Doc, _: &'a str) -> BoxFuture<'a, Result<MessageRef, ChatError>> {
        let mut body = render(&self.3, doc);
        body["channel"] = json!(channel);
        Box::pin(async move {
            Ok(MessageRef::new(
                channel,
                self.send(reqwest::Method::POST, "/messages", body).await?,
            ))
        })
    }

    fn update<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<(), ChatError>> {
        let body = render(&self.3, doc);
        let path = format!("/messages/{}", target.id);
        Box::pin(async move { self.send(reqwest::Method::PUT, &path, body).await.map(|_| ()) })
    }

    fn reply<'a>(&'a self, target: &'a MessageRef, doc: &'a Doc) -> BoxFuture<'a, Result<MessageRef, ChatError>> {
        let body = render(&self.3, doc);
        let path = format!("/messages/{}/replies", target.id);
        Box::pin(async move {
            Ok(MessageRef::new(
                &target.channel,
                self.send(reqwest::Method::POST, &path, body).await?,
            ))
        })
    }

    fn pace(&self, _: Op<'_>) -> Option<PaceRule> {
        None
    }
}
