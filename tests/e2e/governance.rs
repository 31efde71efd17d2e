//! Who may do what, on every platform: every role × every command, button and menu; channel
//! restrictions; refusals on the timeline and in the audit partition; identity checks against
//! the platform fakes; the policy endpoint and its fallback; the origin provider's policy; the
//! declare limit. Over the in-memory store (the matrix is large); the emulator-backed cases are
//! at the end.

use std::sync::{Arc, Mutex};

use im_core::action::{ActionKey, ActionRef};
use im_core::directory::ProviderSource;
use im_core::ports::IncidentStore;
use im_core::service::{CustomCall, CustomCommand};
use im_core::{IncidentId, Role, Status};
use im_tests::discord_under_test::DiscordUnderTest;
use im_tests::echo_fake::EchoUnderTest;
use im_tests::slack_under_test::SlackUnderTest;
use im_tests::world::{UnderTest, World};
use serde_json::{Value, json};

const USERS: [(&str, Role); 4] = [
    ("U0VIEWER", Role::Viewer),
    ("U0RESP", Role::Responder),
    ("U0CMDR", Role::Commander),
    ("U0ADMIN", Role::Admin),
];

/// A strict policy: unmapped people are viewers, closing, downgrading and assigning need a
/// commander, the timeline a responder, war rooms an admin.
fn strict() -> Value {
    json!({"rbac": {
        "default_role": "viewer", "declare_limit": 0,
        "users": {"U0VIEWER": "viewer", "U0RESP": "responder", "U0CMDR": "commander", "U0ADMIN": "admin"},
        "commands": {"close": "commander", "downgrade": "commander", "assign": "commander",
                     "timeline": "responder", "war_room": "admin"}
    },
    "actions": [
        {"id": "page", "label": "Page", "command": "page", "options": [{"label": "DBA", "value": "dba"}]},
        {"id": "look", "label": "Look", "command": "look"}
    ]})
}

/// The matrix's registered commands behind custom buttons: `page` changes things (a responder
/// by default), `look` only reads (anyone).
struct Registered {
    changes: bool,
}

impl CustomCommand for Registered {
    fn summary(&self) -> &str {
        "A custom button's command"
    }
    fn changes(&self) -> bool {
        self.changes
    }
    fn run<'a>(&'a self, call: CustomCall<'a>) -> im_core::chat::BoxFuture<'a, im_core::Reply> {
        let text = format!("ran with {}", call.args.join(" "));
        Box::pin(async move {
            im_core::Reply::Text {
                text,
                in_channel: false,
            }
        })
    }
}

#[derive(Clone, Copy, Debug)]
enum Try {
    Typed(&'static str),
    Click(ActionKey, Option<&'static str>),
}

/// What is tried, the least role it needs under [`strict`], and whether it changes the incident.
const CASES: &[(Try, Role, bool)] = &[
    (
        Try::Typed("declare --sev SEV-3 Matrix incident"),
        Role::Responder,
        false,
    ),
    (Try::Typed("ack {id} on it"), Role::Responder, true),
    (Try::Typed("resolve {id} fixed"), Role::Responder, true),
    (Try::Typed("close {id}"), Role::Commander, true),
    (Try::Typed("status {id}"), Role::Viewer, false),
    (Try::Typed("list"), Role::Viewer, false),
    (Try::Typed("help"), Role::Viewer, false),
    (Try::Typed("timeline {id}"), Role::Responder, false),
    (Try::Typed("escalate {id} SEV-1"), Role::Responder, true),
    (Try::Typed("escalate {id} SEV-4"), Role::Commander, true),
    (Try::Typed("assign {id} {mention}"), Role::Commander, true),
    (Try::Typed("update {id} progress"), Role::Responder, true),
    (Try::Click(ActionKey::Ack, None), Role::Responder, true),
    (Try::Click(ActionKey::Escalate, None), Role::Responder, true),
    (Try::Click(ActionKey::Severity, Some("SEV-2")), Role::Responder, true),
    (Try::Click(ActionKey::Severity, Some("SEV-4")), Role::Commander, true),
    (Try::Click(ActionKey::Service, Some("search")), Role::Responder, true),
    (Try::Click(ActionKey::Assign, Some("U0CAROL")), Role::Commander, true),
    (
        Try::Click(ActionKey::Transition, Some("resolve")),
        Role::Responder,
        true,
    ),
    (Try::Click(ActionKey::StatusUpdate, None), Role::Responder, false),
    (Try::Click(ActionKey::WarRoom, None), Role::Admin, false),
    (Try::Click(ActionKey::Details, None), Role::Viewer, false),
    (Try::Click(ActionKey::Custom, Some("page:dba")), Role::Responder, false),
    (Try::Click(ActionKey::Custom, Some("look")), Role::Viewer, false),
    (
        Try::Click(ActionKey::More, Some("im:custom|page:dba")),
        Role::Responder,
        false,
    ),
    (
        Try::Click(ActionKey::More, Some("im:transition|resolve")),
        Role::Responder,
        true,
    ),
];

fn act(key: ActionKey, id: &str, choice: Option<&str>) -> ActionRef {
    ActionRef::new(key, IncidentId::parse(id).expect("id"), choice.map(str::to_string))
}

fn refused(text: &str) -> bool {
    text.contains("You need the") && text.contains("role")
}

/// Every role × every case: allowed exactly when the role is enough, and then it acts; refused
/// otherwise, privately, naming the role, with nothing changed and a `chatops.denied` entry.
pub async fn every_role_and_command(p: Arc<dyn UnderTest>) {
    let w = World::new_with(p.clone(), strict(), |service| {
        for (name, changes) in [("page", true), ("look", false)] {
            service
                .register_command(name, Arc::new(Registered { changes }))
                .expect("registers");
        }
    });
    for (user, role) in USERS {
        for (n, (attempt, needed, changes)) in CASES.iter().enumerate() {
            // Five minutes apart: refusals are audited at most 20 per person and hour.
            w.advance(time::Duration::minutes(5));
            let id = w
                .declare(
                    "U0ADMIN",
                    &format!("--sev SEV-3 --service checkout Case {n} for {user}"),
                )
                .await;
            if matches!(attempt, Try::Typed(t) if t.starts_with("close")) {
                w.command("U0ADMIN", &format!("resolve {id} ready to close")).await;
            }
            let before = w.incident(&id).await;
            let (text, private, form) = match attempt {
                Try::Typed(line) => {
                    let line = line.replace("{id}", &id).replace("{mention}", &p.mention("U0CAROL"));
                    let shown = w.command(user, &line).await;
                    (shown.text, shown.private, false)
                }
                Try::Click(key, choice) => {
                    let clicked = w
                        .click(user, "C_MINOR", "1764237600.000001", &act(*key, &id, *choice))
                        .await;
                    (clicked.private.clone().unwrap_or_default(), true, clicked.form)
                }
            };
            let after = w.incident(&id).await;
            let denied = w
                .timeline(&id)
                .await
                .into_iter()
                .filter(|e| e.event_type == "chatops.denied")
                .collect::<Vec<_>>();
            let case = format!("{user} ({role}) × {attempt:?} on {}", p.name());
            if role >= *needed {
                assert!(!refused(&text), "{case}: allowed, got {text:?}");
                if matches!(attempt, Try::Click(ActionKey::Custom | ActionKey::More, Some(c)) if c.contains("page") || *c == "look")
                {
                    assert!(text.contains(&format!("ran with {id}")), "{case}: it ran: {text:?}");
                }
                assert!(denied.is_empty(), "{case}: no refusal recorded");
                if *changes {
                    assert!(after.version > before.version, "{case}: it acted ({text:?})");
                }
                if matches!(attempt, Try::Click(ActionKey::StatusUpdate, _)) {
                    assert!(form, "{case}: the form opens");
                }
            } else {
                assert!(refused(&text), "{case}: refused, got {text:?}");
                assert!(private, "{case}: a refusal is private");
                assert!(
                    text.contains(&format!("the {needed} role")),
                    "{case}: names the role: {text}"
                );
                assert_eq!(after.version, before.version, "{case}: nothing changed");
                assert!(!form, "{case}: no form for the refused");
                let is_declare = matches!(attempt, Try::Typed(t) if t.starts_with("declare"));
                if !is_declare {
                    assert_eq!(denied.len(), 1, "{case}: the refusal is on the timeline");
                    assert_eq!(denied[0].actor, format!("chatops:{user}"));
                    assert_eq!(denied[0].data["needed"], json!(needed));
                }
            }
        }
    }
    // Refused declares have no incident: they are in the day's audit partition.
    let today = im_core::Clock::now(&im_core::SystemClock).date();
    let audit = w.store.audit_day(today).await.expect("audit");
    let declares: Vec<_> = audit
        .iter()
        .filter(|e| e.event_type == "chatops.denied" && e.data["policy"] == "declare")
        .collect();
    assert_eq!(declares.len(), 1, "the viewer's declare: {audit:#?}");
    assert_eq!(declares[0].actor, "chatops:U0VIEWER");
    assert!(
        declares[0].data["command"]
            .as_str()
            .is_some_and(|c| c.contains("declare"))
    );
}

/// Sensitive commands only in their channels; the refusal names them.
pub async fn channel_restrictions(p: Arc<dyn UnderTest>) {
    let w = World::new(
        p.clone(),
        json!({"rbac": {"default_role": "responder", "channels": {"close": ["C_IR"], "escalate": ["C_IR", "C_OPS"]}}}),
    );
    let id = w.declare("U0ALICE", "--sev SEV-3 Restricted").await;
    w.command("U0ALICE", &format!("resolve {id} fixed")).await;
    let shown = p.shown(&w.send(&p.command("U0ALICE", "C_ORIGIN", &format!("close {id}"))).await);
    assert!(shown.private, "{shown:?}");
    assert!(
        shown.text.contains("can only be run in") && shown.text.contains("C_IR"),
        "{shown:?}"
    );
    assert_eq!(w.incident(&id).await.status, Status::Resolved);
    let shown = p.shown(&w.send(&p.command("U0ALICE", "C_IR", &format!("close {id}"))).await);
    assert!(!shown.private, "{shown:?}");
    assert_eq!(w.incident(&id).await.status, Status::Closed);

    let other = w.declare("U0ALICE", "--sev SEV-3 Another").await;
    let shown = p.shown(
        &w.send(&p.command("U0ALICE", "C_ORIGIN", &format!("escalate {other} SEV-1")))
            .await,
    );
    assert!(shown.text.contains("C_IR") && shown.text.contains("C_OPS"), "{shown:?}");
    let shown = p.shown(
        &w.send(&p.command("U0ALICE", "C_OPS", &format!("escalate {other} SEV-1")))
            .await,
    );
    assert!(!shown.private, "{shown:?}");
    // A click is a command run where the message is: the severity menu in C_MINOR is refused.
    let clicked = w
        .click(
            "U0ALICE",
            "C_MINOR",
            "1764237600.000001",
            &act(ActionKey::Severity, &other, Some("SEV-2")),
        )
        .await;
    assert!(clicked.private.is_some_and(|t| t.contains("can only be run in")));
    let denied = w.count(&other, "chatops.denied").await;
    assert_eq!(denied, 2, "both refusals recorded");
}

/// Closing an incident declared through another provider also needs that provider's policy.
pub async fn origin_policy(here: Arc<dyn UnderTest>, there: Arc<dyn UnderTest>) {
    let w = World::with_providers(vec![
        (
            "acme",
            here.clone(),
            json!({"rbac": {"default_role": "responder", "users": {"U0ANN": {"role": "commander", "person": "ann"}, "U0BOSS": "admin"}}}),
        ),
        (
            "ops",
            there.clone(),
            json!({"rbac": {"default_role": "viewer", "commands": {"close": "commander"},
                            "users": {"U0ANN2": {"role": "commander", "person": "ann"}, "U0OPS": "responder"}}}),
        ),
    ]);
    let declared = there.shown(
        &w.send_to(
            "ops",
            &there.command("U0OPS", "C_ORIGIN", "declare --sev SEV-2 Declared over there"),
        )
        .await,
    );
    let id = im_tests::world::incident_id(&declared.text).expect("declared through ops");
    w.send_to(
        "ops",
        &there.command("U0OPS", "C_ORIGIN", &format!("resolve {id} fixed")),
    )
    .await;

    let boss = w.command("U0BOSS", &format!("close {id}")).await;
    assert!(
        boss.text.contains("was declared through ops") && boss.text.contains("commander role to close it"),
        "an admin here is no one there: {boss:?}"
    );
    assert_eq!(w.incident(&id).await.status, Status::Resolved);
    let ann = w.command("U0ANN", &format!("close {id}")).await;
    assert!(!ann.private, "ann is a commander in both: {ann:?}");
    assert_eq!(w.incident(&id).await.status, Status::Closed);
    let denied = w
        .timeline(&id)
        .await
        .into_iter()
        .find(|e| e.event_type == "chatops.denied");
    assert_eq!(denied.map(|e| e.actor), Some("chatops:U0BOSS".into()));
}

/// A refused person is answered every time, but the audit trail takes at most 20 of their
/// refusals an hour; the sixth declare in ten minutes is refused.
pub async fn limits(p: Arc<dyn UnderTest>) {
    let w = World::new(
        p.clone(),
        json!({"rbac": {"default_role": "viewer", "users": {"U0RESP": "responder"}}}),
    );
    for _ in 0..25 {
        let shown = w.command("U0NOBODY", "declare Not allowed").await;
        assert!(refused(&shown.text), "{shown:?}");
    }
    let today = im_core::Clock::now(&im_core::SystemClock).date();
    let audit = w.store.audit_day(today).await.expect("audit");
    assert_eq!(audit.len(), 20, "rate-limited audit entries");
    for n in 1..=5 {
        w.declare("U0RESP", &format!("--sev SEV-4 Declare {n}")).await;
    }
    let sixth = w.command("U0RESP", "declare --sev SEV-4 Declare 6").await;
    assert!(
        sixth.private && sixth.text.contains("declared 5 incidents in the last 10 minutes"),
        "{sixth:?}"
    );
    w.advance(time::Duration::minutes(10));
    w.declare("U0RESP", "--sev SEV-4 Declare 7").await;
}

/// The policy endpoint: asked with a signed request, its role decides; down or slow, the local
/// mapping does.
pub async fn policy_endpoint(p: Arc<dyn UnderTest>) {
    let endpoint = PolicyEndpoint::start().await;
    let w = World::new(
        p.clone(),
        json!({"rbac": {"default_role": "viewer", "users": {"U0RESP": "responder"}, "commands": {"close": "commander"},
                        "policy_url": endpoint.url}}),
    );
    // The provider's secrets gain the key the endpoint checks.
    let provider = w.providers.provider("acme").await.expect("read").expect("acme");
    let mut secrets: Vec<(&str, String)> = p.secrets();
    secrets.push(("policy_secret", POLICY_SECRET.into()));
    let pairs: Vec<(&str, &str)> = secrets.iter().map(|(k, v)| (*k, v.as_str())).collect();
    w.providers.add((*provider).clone(), &pairs);

    endpoint.answer(200, json!({"result": {"role": "commander"}}));
    let id = w.declare("U0RESP", "--sev SEV-3 Policy decides").await;
    w.command("U0RESP", &format!("resolve {id} done")).await;
    let closed = w.command("U0RESP", &format!("close {id}")).await;
    assert!(!closed.private, "the endpoint made U0RESP a commander: {closed:?}");
    {
        let asked = endpoint.asked.lock().expect("lock");
        assert!(!asked.is_empty());
        assert!(
            asked.iter().all(|(verified, _)| *verified),
            "every request is signed with policy_secret"
        );
        let (_, input) = asked.last().expect("one");
        assert_eq!(input["input"]["identity"], "acme:U0RESP");
        assert_eq!(input["input"]["command"], "close");
        assert_eq!(input["input"]["local_role"], "responder");
        assert_eq!(input["input"]["incident"]["id"], json!(id));
    }

    let second = w.declare("U0RESP", "--sev SEV-3 Endpoint down").await;
    w.command("U0RESP", &format!("resolve {second} done")).await;
    endpoint.answer(500, json!({"error": "boom"}));
    let refused_close = w.command("U0RESP", &format!("close {second}")).await;
    assert!(
        refused(&refused_close.text) && refused_close.text.contains("commander"),
        "down: the mapping says responder: {refused_close:?}"
    );
    let ack = w.command("U0RESP", &format!("update {second} still works")).await;
    assert!(
        !ack.private,
        "down: the mapping still lets a responder respond: {ack:?}"
    );
    endpoint.slow(std::time::Duration::from_millis(900));
    endpoint.answer(200, json!({"result": {"role": "commander"}}));
    let slow = w.command("U0RESP", &format!("close {second}")).await;
    assert!(
        refused(&slow.text),
        "an answer after 500 ms is not waited for: {slow:?}"
    );
    endpoint.slow(std::time::Duration::ZERO);
    endpoint.answer(200, json!({"result": {"role": "viewer"}}));
    let demoted = w.command("U0RESP", &format!("update {second} demoted")).await;
    assert!(refused(&demoted.text), "the endpoint can take a role away: {demoted:?}");
}

const POLICY_SECRET: &str = "policy-endpoint-secret-3b1f";

/// A local policy endpoint: checks the signature, records the input, answers what it is told.
struct PolicyEndpoint {
    url: String,
    asked: Arc<Mutex<Vec<(bool, Value)>>>,
    reply: Arc<Mutex<(u16, Value, std::time::Duration)>>,
}

impl PolicyEndpoint {
    async fn start() -> Self {
        use axum::extract::State;
        use axum::response::IntoResponse;
        type Shared = (
            Arc<Mutex<Vec<(bool, Value)>>>,
            Arc<Mutex<(u16, Value, std::time::Duration)>>,
        );
        let asked: Arc<Mutex<Vec<(bool, Value)>>> = Arc::default();
        let reply = Arc::new(Mutex::new((200, json!({"result": {}}), std::time::Duration::ZERO)));
        let app = axum::Router::new()
            .route(
                "/v1/data/chatops/role",
                axum::routing::post(
                    |State((asked, reply)): State<Shared>, headers: http::HeaderMap, body: bytes::Bytes| async move {
                        let signature = headers
                            .get(im_core::access::SIGNATURE_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        let verified = im_core::access::signature_matches(POLICY_SECRET, &body, signature);
                        let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        asked.lock().expect("lock").push((verified, input));
                        let (status, answer, delay) = reply.lock().expect("lock").clone();
                        tokio::time::sleep(delay).await;
                        (
                            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK),
                            axum::Json(answer),
                        )
                            .into_response()
                    },
                ),
            )
            .with_state((asked.clone(), reply.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://127.0.0.1:{}/v1/data/chatops/role", addr.port()),
            asked,
            reply,
        }
    }

    fn answer(&self, status: u16, body: Value) {
        let mut reply = self.reply.lock().expect("lock");
        reply.0 = status;
        reply.1 = body;
    }

    fn slow(&self, delay: std::time::Duration) {
        self.reply.lock().expect("lock").2 = delay;
    }
}

macro_rules! governance_for {
    ($platform:ident, $start:expr) => {
        mod $platform {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn every_role_and_command() {
                super::every_role_and_command($start.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn channel_restrictions() {
                super::channel_restrictions($start.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn limits() {
                super::limits($start.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn policy_endpoint() {
                super::policy_endpoint($start.await).await;
            }
        }
    };
}

governance_for!(slack, async { SlackUnderTest::start().await as Arc<dyn UnderTest> });
governance_for!(discord, async { DiscordUnderTest::start().await as Arc<dyn UnderTest> });
governance_for!(echo, async { EchoUnderTest::start().await as Arc<dyn UnderTest> });

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_another_providers_incident_slack_to_discord() {
    origin_policy(
        SlackUnderTest::start().await as Arc<dyn UnderTest>,
        DiscordUnderTest::start().await as Arc<dyn UnderTest>,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_another_providers_incident_discord_to_slack() {
    origin_policy(
        DiscordUnderTest::start().await as Arc<dyn UnderTest>,
        SlackUnderTest::start().await as Arc<dyn UnderTest>,
    )
    .await;
}

/// Slack's word on a person (`users.info`), cached for ten minutes, standing through an outage
/// for a day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_identities_are_checked_with_users_info() {
    let slack = SlackUnderTest::start().await;
    let fake = slack.fake.clone();
    let w = World::new(
        slack.clone() as Arc<dyn UnderTest>,
        json!({"rbac": {"default_role": "responder", "email_domains": ["example.com"]}}),
    );
    let mut person = im_tests::fake_slack::person("U0GONE");
    person["deleted"] = json!(true);
    fake.with_person("U0GONE", person);
    let mut guest = im_tests::fake_slack::person("U0GUEST");
    guest["is_restricted"] = json!(true);
    fake.with_person("U0GUEST", guest);
    let mut other = im_tests::fake_slack::person("U0EVE");
    other["profile"]["email"] = json!("eve@elsewhere.org");
    fake.with_person("U0EVE", other);
    fake.with_person("U0GHOST", Value::Null);
    // (Another provider of the same workspace that allows guests lets them act.)
    let guests = World::new(
        slack.clone() as Arc<dyn UnderTest>,
        json!({"rbac": {"default_role": "responder", "allow_guests": true}}),
    );
    guests.declare("U0GUEST", "--sev SEV-4 Guests allowed here").await;

    // Without users:read.email, Slack hides every address: domains cannot be checked.
    let hidden = w.command("U0ALICE", "declare --sev SEV-4 No scope").await;
    assert!(
        hidden.private && hidden.text.contains("did not share your e-mail address"),
        "{hidden:?}"
    );
    fake.with_scopes(&[
        "chat:write",
        "commands",
        "users:read",
        "users:read.email",
        "channels:read",
    ]);
    w.advance(time::Duration::minutes(11));
    let id = w.declare("U0ALICE", "--sev SEV-4 Identity checks").await;

    for (user, why) in [
        ("U0GONE", "the account is deactivated"),
        ("U0GUEST", "guest accounts cannot act here"),
        (
            "U0EVE",
            "your e-mail domain is not one this workspace allows (example.com)",
        ),
        ("U0GHOST", "the workspace has no such user"),
    ] {
        let shown = w.command(user, &format!("ack {id}")).await;
        assert!(
            shown.private
                && shown
                    .text
                    .contains("Your Slack account could not be verified for `ack`")
                && shown.text.contains(why),
            "{user}: {shown:?}"
        );
        let read = w.command(user, &format!("status {id}")).await;
        assert!(
            read.text.contains("Latest timeline entries"),
            "{user} may still read: {read:?}"
        );
    }
    assert_eq!(w.incident(&id).await.status, Status::Open);
    let looked_up = |user: &str| fake.calls("users.info").iter().filter(|c| c["user"] == user).count();
    assert_eq!(looked_up("U0GONE"), 1);

    // Cached for ten minutes: a second change asks Slack nothing.
    w.command("U0ALICE", &format!("update {id} first")).await;
    let before = looked_up("U0ALICE");
    w.command("U0ALICE", &format!("update {id} second")).await;
    assert_eq!(looked_up("U0ALICE"), before, "the verification is reused");

    // Slack down: a verification under a day old stands; none at all refuses, saying why.
    fake.method_down("users.info", true);
    w.advance(time::Duration::hours(2));
    let stands = w.command("U0ALICE", &format!("update {id} during the outage")).await;
    assert!(!stands.private, "{stands:?}");
    let never = w.command("U0NEW", &format!("ack {id}")).await;
    assert!(
        never.text.contains("Slack did not answer the identity check"),
        "{never:?}"
    );
    w.advance(time::Duration::hours(23));
    let stale = w.command("U0ALICE", &format!("update {id} a day later")).await;
    assert!(stale.text.contains("did not answer the identity check"), "{stale:?}");
    fake.method_down("users.info", false);
    let back = w.command("U0ALICE", &format!("update {id} back")).await;
    assert!(!back.private, "{back:?}");
}

/// Discord's word: membership of the server (`GET /guilds/{guild}/members/{user}`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_identities_are_checked_with_guild_membership() {
    let discord = DiscordUnderTest::start().await;
    let w = World::new(discord.clone() as Arc<dyn UnderTest>, json!({}));
    let id = w.declare("U0ALICE", "--sev SEV-4 Membership").await;
    discord.fake.depart("U0LEFT");
    let left = w.command("U0LEFT", &format!("ack {id}")).await;
    assert!(
        left.private
            && left.text.contains("Your Discord account could not be verified")
            && left.text.contains("no such user"),
        "{left:?}"
    );
    assert!(discord.fake.member_lookups().contains(&"U0LEFT".to_string()));
    discord.fake.members_down(true);
    let unknown = w.command("U0NEW", &format!("ack {id}")).await;
    assert!(
        unknown.text.contains("Discord did not answer the identity check"),
        "{unknown:?}"
    );
    let known = w.command("U0ALICE", &format!("ack {id}")).await;
    assert!(!known.private, "verified a moment ago: {known:?}");
    assert_eq!(w.incident(&id).await.status, Status::Acknowledged);
    // Discord shares no e-mail addresses: a domain rule is refused when configured.
    let refused = im_core::provider::ProviderConfig::for_platform(
        json!({"rbac": {"email_domains": ["example.com"]}})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        im_core::provider::spec("discord"),
    );
    assert!(refused.is_err_and(|e| e.to_string().contains("does not share e-mail")));
}

/// A team's services: the assignee menu offers the team's members on the card's platform (a
/// menu, not the people picker); other services keep the picker; a member chosen is assigned.
pub async fn team_assignee_menus(p: Arc<dyn UnderTest>) {
    let w = World::new(p.clone(), json!({}));
    let mut teams = im_core::team::Teams::default();
    teams
        .set(im_core::team::Team {
            name: "payments".into(),
            services: vec!["checkout".into()],
            members: vec![
                format!("{}:U0ANN=Ann Example", p.name()),
                format!("{}:U0BOB", p.name()),
                "teams:29:elsewhere=Someone Else".into(),
            ],
            channel: None,
        })
        .expect("team");
    w.providers.set_teams(teams);
    let ours = w
        .declare("U0ALICE", "--sev SEV-3 --service checkout Checkout slow")
        .await;
    let other = w.declare("U0ALICE", "--sev SEV-3 --service search Search slow").await;
    w.drain().await;
    let cards = p.top_level("C_MINOR");
    let raw = |id: &str| {
        cards
            .iter()
            .find(|m| m.text.contains(id))
            .map(|m| m.raw.to_string())
            .expect("posted")
    };
    let menu = raw(&ours);
    assert!(
        menu.contains("Ann Example") && menu.contains("U0BOB"),
        "the team's members: {menu}"
    );
    assert!(
        !menu.contains("Someone Else"),
        "members on another platform are not offered: {menu}"
    );
    let picker = raw(&other);
    assert!(!picker.contains("Ann Example"), "{picker}");
    if p.name() == "slack" {
        assert!(
            menu.contains("static_select") && !menu.contains("users_select"),
            "{menu}"
        );
        assert!(picker.contains("users_select"), "{picker}");
    }
    let message = cards.iter().find(|m| m.text.contains(&ours)).expect("card").id.clone();
    w.click(
        "U0BOB",
        "C_MINOR",
        &message,
        &act(ActionKey::Assign, &ours, Some("U0BOB")),
    )
    .await;
    assert_eq!(w.incident(&ours).await.assignee.map(|u| u.id), Some("U0BOB".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_team_assignee_menus() {
    team_assignee_menus(SlackUnderTest::start().await as Arc<dyn UnderTest>).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_team_assignee_menus() {
    team_assignee_menus(DiscordUnderTest::start().await as Arc<dyn UnderTest>).await;
}
