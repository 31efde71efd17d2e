//! The inbound seam: one [`PlatformAdapter`] per chat platform verifies a request, parses it into
//! a neutral [`Inbound`], renders the neutral [`Answer`] in its format, and builds the platform's
//! [`Messenger`]. Everything else (body limit, provider lookup, tenant binding, status gates,
//! secret rotation, deduplication, RBAC, the deadline, deferring slow work) is done once, for
//! every platform, by the generic webhook library.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::action::ActionRef;
use crate::chat::{BoxFuture, ChatError, MessageRef, Messenger};
use crate::command::Segment;
use crate::incident::{IncidentId, UserRef};
use crate::message::Doc;
use crate::provider::{PlatformSpec, Provider, ProviderSecrets, TenantField};

/// A request as received: lowercase header names, the raw body (base64 already undone).
#[derive(Clone, Copy)]
pub struct Request<'a> {
    headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// `headers` with lowercase names.
    pub fn new(headers: &'a [(String, String)], body: &'a [u8]) -> Self {
        Self { headers, body }
    }

    /// A header's value; absent, empty or blank is `None`.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The media type of the body, lowercase, without parameters.
    pub fn content_type(&self) -> Option<String> {
        self.header("content-type")
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase())
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies and signatures are never logged.
        f.debug_struct("Request")
            .field("headers", &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// Why a request was not verified. Every one of them is a 401 with an empty body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("the request timestamp is outside the accepted window")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
    /// The provider's verification secret is absent or too weak to trust.
    #[error("the provider's {0}")]
    Unusable(String),
}

/// A body that was verified but is not something we understand (400 with this message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Who asked, where, and how to answer later.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Context {
    /// The person, as a user of the provider.
    pub user: UserRef,
    pub channel: Option<String>,
    /// The workspace (Slack team, Discord guild, Teams tenant …) the request says it is from.
    pub workspace: Option<String>,
    /// The app (Slack app, Discord application, Teams bot) the request was sent to.
    pub app: Option<String>,
    /// The platform's id of this request (event id, interaction id, trigger id): deduplication
    /// and the idempotency key of the change it makes.
    pub request_id: Option<String>,
    /// The slash command as the platform knows it (`/im`), for usage lines and the timeline.
    pub prefix: String,
    /// Where late answers go (Slack `response_url`, Discord interaction token …); opaque.
    pub reply_to: Option<String>,
    /// The message the request is about or came from (a clicked card, a mention), for replies
    /// in its thread.
    pub message: Option<MessageRef>,
    /// A platform handle for opening a form (Slack `trigger_id`).
    pub trigger: Option<String>,
}

impl Context {
    pub fn tenant(&self, field: TenantField) -> Option<&str> {
        match field {
            TenantField::Workspace => self.workspace.as_deref(),
            TenantField::App => self.app.as_deref(),
        }
    }
}

/// A form a person fills in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Form {
    /// Add a note to an incident's timeline.
    StatusUpdate { incident: IncidentId },
    /// Declare an incident (title, severity, service, description).
    Declare,
}

/// A submitted form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submission {
    StatusUpdate {
        incident: IncidentId,
        note: String,
    },
    Declare {
        title: String,
        severity: Option<String>,
        service: Option<String>,
        description: Option<String>,
    },
}

/// What a request asks for, in no platform's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A handshake the platform answers itself (Slack `url_verification`, Discord PING).
    Challenge(String),
    /// A slash command's text.
    Command { ctx: Context, text: Vec<Segment> },
    /// A button or menu on one of our messages.
    Action { ctx: Context, action: ActionRef },
    /// A submitted form.
    Submission { ctx: Context, submission: Submission },
    /// A message addressed to the bot (the bot's own mention already removed).
    Mention { ctx: Context, text: Vec<Segment> },
    /// A person is typing an incident id: offer the open incidents matching `query`.
    Autocomplete { ctx: Context, query: String },
    /// A request we understand but do not serve there (a direct message where only servers are
    /// served): answered privately with `reason`.
    Unsupported { ctx: Context, reason: String },
    /// Something we acknowledge and do not act on (a new event type, a closed modal …).
    Ignored(String),
}

impl Inbound {
    pub fn context(&self) -> Option<&Context> {
        match self {
            Inbound::Command { ctx, .. }
            | Inbound::Action { ctx, .. }
            | Inbound::Submission { ctx, .. }
            | Inbound::Mention { ctx, .. }
            | Inbound::Autocomplete { ctx, .. }
            | Inbound::Unsupported { ctx, .. } => Some(ctx),
            Inbound::Challenge(_) | Inbound::Ignored(_) => None,
        }
    }

    /// `command`, `action` …: for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Inbound::Challenge(_) => "challenge",
            Inbound::Command { .. } => "command",
            Inbound::Action { .. } => "action",
            Inbound::Submission { .. } => "submission",
            Inbound::Mention { .. } => "mention",
            Inbound::Autocomplete { .. } => "autocomplete",
            Inbound::Unsupported { .. } => "unsupported",
            Inbound::Ignored(_) => "ignored",
        }
    }
}

/// Who sees a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Only the person who asked.
    Private,
    /// The whole channel.
    Channel,
}

/// What to answer, in no platform's terms; each adapter renders it ([`PlatformAdapter::answer`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The answer to a handshake.
    Challenge(String),
    /// A reply to a command, mention or form.
    Reply { doc: Doc, visibility: Visibility },
    /// After a click: the clicked message's new render (for platforms that replace it in the
    /// response) and a note for the clicker only.
    Clicked { updated: Option<Doc>, private: Option<Doc> },
    /// Open a form (a modal where the platform has one).
    Form { form: Form, incident: Doc },
    /// A submitted form is refused: the message names what to fix.
    FormError { message: String },
    /// Suggestions for what a person is typing (at most 25).
    Choices(Vec<crate::message::Choice>),
    /// Received; the answer follows later (slow work).
    Deferred,
    /// Received; nothing to say.
    Empty,
}

/// The HTTP answer an adapter renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    pub fn empty() -> Self {
        Self {
            status: 200,
            content_type: None,
            body: Vec::new(),
        }
    }

    pub fn json(value: &impl serde::Serialize) -> Self {
        Self {
            status: 200,
            content_type: Some("application/json"),
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }
}

/// One exchange with the platform: the provider the request belongs to and its secrets.
#[derive(Clone, Copy)]
pub struct Exchange<'a> {
    pub provider: &'a Provider,
    pub secrets: &'a ProviderSecrets,
    pub ctx: Option<&'a Context>,
}

/// One chat platform: verify, parse, answer, and send.
pub trait PlatformAdapter: Send + Sync {
    /// The platform's configuration table (name, config and secret keys, tenant keys).
    fn spec(&self) -> &PlatformSpec;

    /// How long the platform waits for an answer, less a margin for the network.
    fn deadline(&self) -> Duration;

    /// Checks the request's signature over its raw bytes (nothing is parsed before this).
    fn verify(
        &self,
        request: &Request<'_>,
        provider: &Provider,
        secrets: &ProviderSecrets,
        now: i64,
    ) -> Result<(), VerifyError>;

    /// Reads a verified request. `provider` is the name people's ids belong to.
    fn parse(&self, request: &Request<'_>, provider: &str) -> Result<Inbound, ParseError>;

    /// Renders an answer; may call the platform (Slack answers clicks through `response_url`
    /// and opens forms with `views.open`) within the deadline.
    fn answer<'a>(&'a self, exchange: Exchange<'a>, answer: Answer) -> BoxFuture<'a, HttpAnswer>;

    /// Whether [`Answer::Clicked`]'s `updated` replaces the clicked message in the response
    /// itself (Discord, Mattermost, Teams). Otherwise the clicked message is edited through
    /// the messenger, versioned like the notifier's edits.
    fn edits_clicked_inline(&self) -> bool {
        false
    }

    /// Whether `/im declare` without a title opens the declare form (platforms with modals
    /// that a command can open in its answer).
    fn declare_form(&self) -> bool {
        false
    }

    /// A late answer (through [`Context::reply_to`]): slow work that finished after the
    /// request was answered.
    fn follow_up<'a>(
        &'a self,
        exchange: Exchange<'a>,
        doc: &'a Doc,
        visibility: Visibility,
    ) -> BoxFuture<'a, Result<(), ChatError>>;

    /// The platform's client for one provider.
    fn messenger(&self, provider: &Provider, secrets: &ProviderSecrets) -> Result<Arc<dyn Messenger>, ChatError>;

    /// Connection checks through the platform's API (`im chatops test`): credentials,
    /// permissions, the default channel, what the platform can tell about its commands.
    fn probe<'a>(
        &'a self,
        provider: &'a Provider,
        secrets: &'a ProviderSecrets,
    ) -> BoxFuture<'a, Vec<crate::probe::Probe>> {
        let _ = (provider, secrets);
        Box::pin(async {
            vec![crate::probe::Probe::unknown(
                "Connection",
                "this platform has no connection checks yet",
            )]
        })
    }

    /// The channels the bot can see (`im chatops channels`).
    fn channels<'a>(
        &'a self,
        provider: &'a Provider,
        secrets: &'a ProviderSecrets,
    ) -> BoxFuture<'a, Result<Vec<crate::probe::ChannelInfo>, ChatError>> {
        let _ = (provider, secrets);
        Box::pin(async { Err(ChatError::Permanent("this platform cannot list channels yet".into())) })
    }
}

/// Adapters by platform name: the one place a platform is registered.
#[derive(Clone, Default)]
pub struct Platforms {
    adapters: Vec<Arc<dyn PlatformAdapter>>,
}

impl Platforms {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, adapter: Arc<dyn PlatformAdapter>) -> Self {
        self.adapters.retain(|a| a.spec().name != adapter.spec().name);
        self.adapters.push(adapter);
        self
    }

    pub fn get(&self, platform: &str) -> Option<&Arc<dyn PlatformAdapter>> {
        self.adapters.iter().find(|a| a.spec().name == platform)
    }

    pub fn names(&self) -> Vec<&str> {
        self.adapters.iter().map(|a| a.spec().name).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn PlatformAdapter>> {
        self.adapters.iter()
    }
}

impl fmt::Debug for Platforms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// Tenant binding: every tenant key the provider sets must match what the request says; a
/// request that does not say is refused too. `Err` names the mismatch (for the log).
pub fn check_tenant(spec: &PlatformSpec, provider: &Provider, ctx: &Context) -> Result<(), String> {
    for (key, field) in spec.tenant_keys {
        if let Some(expected) = provider.config.platform_key(key) {
            match ctx.tenant(*field) {
                Some(got) if got == expected => {}
                Some(got) => return Err(format!("{key} {got} is not this provider's ({expected})")),
                None => return Err(format!("the request names no {key}")),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::StubAdapter;
    use crate::provider::spec;

    #[test]
    fn headers_are_read_trimmed_and_blank_is_absent() {
        let headers = vec![
            ("x-a".to_string(), " 1 ".to_string()),
            ("x-b".to_string(), "  ".to_string()),
            (
                "content-type".to_string(),
                "Application/JSON; charset=utf-8".to_string(),
            ),
        ];
        let r = Request::new(&headers, b"{}");
        assert_eq!(r.header("x-a"), Some("1"));
        assert_eq!(r.header("x-b"), None);
        assert_eq!(r.header("x-c"), None);
        assert_eq!(r.content_type().as_deref(), Some("application/json"));
        assert!(!format!("{r:?}").contains("{}"), "bodies are not logged");
        assert_eq!(
            format!("{r:?}"),
            r#"Request { headers: ["x-a", "x-b", "content-type"], body_bytes: 2 }"#
        );
    }

    #[test]
    fn platforms_are_registered_once_by_name_and_found_by_it() {
        let slack = spec("slack").expect("slack");
        let discord = spec("discord").expect("discord");
        let platforms = Platforms::new()
            .with(Arc::new(StubAdapter::new(slack, 1)))
            .with(Arc::new(StubAdapter::new(discord, 2)))
            .with(Arc::new(StubAdapter::new(slack, 3)));
        assert_eq!(
            platforms.names(),
            ["discord", "slack"],
            "a second slack replaces the first"
        );
        assert_eq!(platforms.get("slack").map(|a| a.deadline().as_secs()), Some(3));
        assert_eq!(platforms.get("discord").map(|a| a.deadline().as_secs()), Some(2));
        assert!(platforms.get("teams").is_none());
        assert_eq!(platforms.iter().count(), 2);
        assert_eq!(format!("{platforms:?}"), r#"["discord", "slack"]"#);
        let adapter = platforms.get("discord").expect("registered");
        assert!(
            !adapter.edits_clicked_inline() && !adapter.declare_form(),
            "both are opt-in"
        );
    }

    #[test]
    fn every_request_about_someone_carries_their_context() {
        let ctx = Context {
            workspace: Some("T1".into()),
            ..Context::default()
        };
        let with = [
            Inbound::Command {
                ctx: ctx.clone(),
                text: Vec::new(),
            },
            Inbound::Action {
                ctx: ctx.clone(),
                action: ActionRef::new(crate::action::ActionKey::Ack, IncidentId::new(2026, 1), None),
            },
            Inbound::Mention {
                ctx: ctx.clone(),
                text: Vec::new(),
            },
            Inbound::Autocomplete {
                ctx: ctx.clone(),
                query: String::new(),
            },
            Inbound::Unsupported {
                ctx: ctx.clone(),
                reason: String::new(),
            },
        ];
        for inbound in &with {
            assert_eq!(inbound.context(), Some(&ctx), "{}", inbound.kind());
        }
        let kinds: Vec<&str> = with.iter().map(Inbound::kind).collect();
        assert_eq!(kinds, ["command", "action", "mention", "autocomplete", "unsupported"]);
        assert_eq!(Inbound::Challenge("c".into()).context(), None);
        assert_eq!(Inbound::Ignored("x".into()).kind(), "ignored");
    }

    #[test]
    fn tenant_binding_checks_every_key_the_provider_sets() {
        let slack = spec("slack").expect("slack");
        let bound = crate::memory::provider(
            "acme",
            "slack",
            serde_json::json!({"team_id": "T1", "api_app_id": "A1"}),
        );
        let ctx = |team: Option<&str>, app: Option<&str>| Context {
            workspace: team.map(str::to_string),
            app: app.map(str::to_string),
            ..Context::default()
        };
        assert!(check_tenant(slack, &bound, &ctx(Some("T1"), Some("A1"))).is_ok());
        assert!(check_tenant(slack, &bound, &ctx(Some("T2"), Some("A1"))).is_err_and(|e| e.contains("T2")));
        assert!(check_tenant(slack, &bound, &ctx(Some("T1"), Some("A9"))).is_err());
        assert!(check_tenant(slack, &bound, &ctx(None, Some("A1"))).is_err_and(|e| e.contains("no team_id")));
        let unbound = crate::memory::provider("acme", "slack", serde_json::json!({}));
        assert!(
            check_tenant(slack, &unbound, &ctx(None, None)).is_ok(),
            "nothing configured, nothing bound"
        );
    }
}
