//! The shared suites: every platform behind the seam gives the same outcomes, the same timeline
//! entries and the same messages. Each suite runs for Slack and for Echo (the test-only fifth
//! platform, `tests/src/echo.rs`) over the in-memory store; `echo_on_the_emulator` and the
//! Slack pipeline tests are the emulator-backed cases.

use std::sync::Arc;

use im_core::action::{ActionKey, ActionRef};
use im_core::{IncidentId, Severity, Status};
use im_tests::discord_under_test::DiscordUnderTest;
use im_tests::echo_fake::EchoUnderTest;
use im_tests::slack_under_test::SlackUnderTest;
use im_tests::world::{UnderTest, World};
use serde_json::json;

fn act(key: ActionKey, id: &str, choice: Option<&str>) -> ActionRef {
    ActionRef::new(key, IncidentId::parse(id).expect("id"), choice.map(str::to_string))
}

/// A command's lifecycle through slash commands: every verb, refusals and usage errors.
pub async fn lifecycle(p: Arc<dyn UnderTest>) {
    let w = World::new(p.clone(), json!({}));
    let declared = w
        .command(
            "U0ALICE",
            "declare --sev SEV-2 --service checkout \"Payment processing down\"",
        )
        .await;
    assert!(!declared.private, "a change is shown to the channel: {declared:?}");
    assert!(declared.text.contains("Payment processing down"), "{declared:?}");
    let id = im_tests::world::incident_id(&declared.text).expect("the reply names the incident");
    let inc = w.incident(&id).await;
    assert_eq!(
        (inc.severity, inc.service.as_deref(), inc.status),
        (Severity::Sev2, Some("checkout"), Status::Open)
    );
    assert_eq!(inc.origin.platform, p.name());
    assert_eq!(inc.declared_by.id, "U0ALICE");

    let ack = w
        .command("U0BOB", &format!("ack {id} \"Investigating the gateway\""))
        .await;
    assert!(!ack.private && ack.text.contains("Acknowledged"), "{ack:?}");
    let again = w.command("U0DAN", &format!("ack {id}")).await;
    assert!(
        again.private && again.text.contains("is already acknowledged"),
        "{again:?}"
    );
    w.command("U0BOB", &format!("escalate {id} SEV-1")).await;
    w.command("U0BOB", &format!("assign {id} {}", p.mention("U0CAROL")))
        .await;
    w.command("U0BOB", &format!("update {id} \"Failover started\"")).await;
    let inc = w.incident(&id).await;
    assert_eq!(inc.severity, Severity::Sev1);
    let carol = inc.assignee.expect("assigned");
    assert_eq!(
        (carol.id.as_str(), carol.provider.as_deref()),
        ("U0CAROL", Some("acme"))
    );

    let status = w.command("U0DAN", &format!("status {id}")).await;
    assert!(
        status.private && status.text.contains("Latest timeline entries"),
        "{status:?}"
    );
    let list = w.command("U0DAN", "list").await;
    assert!(list.private && list.text.contains(&id), "{list:?}");
    let timeline = w.command("U0DAN", &format!("timeline {id}")).await;
    assert!(timeline.text.contains("chatops.acknowledge") && timeline.text.contains("Failover started"));
    let help = w.command("U0DAN", "help").await;
    assert!(help.private && help.text.contains("/im declare") && help.text.contains("/im timeline"));
    let unknown = w.command("U0DAN", "frobnicate now").await;
    assert!(
        unknown.private && unknown.text.contains("`frobnicate` is not a command"),
        "{unknown:?}"
    );
    let usage = w.command("U0DAN", &format!("escalate {id} SEV-9")).await;
    assert!(
        usage.text.contains("`SEV-9` is not a severity") && usage.text.contains("/im escalate INCIDENT-ID SEV-1..4"),
        "{usage:?}"
    );

    w.command("U0CAROL", &format!("resolve {id} \"Gateway restarted\""))
        .await;
    let closed = w.command("U0CAROL", &format!("close {id}")).await;
    assert!(closed.text.contains("Closed"), "{closed:?}");
    let entries = w.timeline(&id).await;
    let types: Vec<&str> = entries.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "chatops.declare",
            "chatops.acknowledge",
            "chatops.escalate",
            "chatops.assign",
            "chatops.update",
            "chatops.resolve",
            "chatops.close"
        ]
    );
    for e in &entries {
        assert_eq!(e.source, format!("{}:acme", p.name()));
        assert!(
            e.data["command"].as_str().is_some_and(|c| c.starts_with("/im ")),
            "{e:?}"
        );
        assert_eq!(e.data["channel"], "C_ORIGIN");
    }
    assert_eq!(entries[1].actor, "chatops:U0BOB");
    assert_eq!(entries[1].data["note"], "Investigating the gateway");
}

/// Every button and menu on a notification, through the same use cases, RBAC and timeline.
pub async fn buttons(p: Arc<dyn UnderTest>) {
    let w = World::new(p.clone(), json!({}));
    let id = w
        .declare("U0ALICE", "--sev SEV-3 --service checkout Checkout slow")
        .await;
    w.drain().await;
    let message = p.top_level("C_MINOR").remove(0);
    assert_eq!(
        message.actions,
        ActionKey::ALL.map(|k| k.id().to_string()),
        "every action"
    );
    let click = |user: &'static str, key, choice: Option<&'static str>| {
        let (w, id, msg) = (&w, id.clone(), message.id.clone());
        async move { w.click(user, "C_MINOR", &msg, &act(key, &id, choice)).await }
    };

    let acked = click("U0BOB", ActionKey::Ack, None).await;
    assert_eq!((acked.status, acked.private.as_deref()), (200, None));
    assert_eq!(w.incident(&id).await.status, Status::Acknowledged);
    let shown = p.top_level("C_MINOR").remove(0);
    assert_eq!(
        shown.version,
        Some(2),
        "the clicked message is edited at once, before any delivery"
    );
    assert!(!shown.actions.contains(&"im:ack".to_string()));

    click("U0BOB", ActionKey::Severity, Some("SEV-2")).await;
    assert_eq!(w.incident(&id).await.severity, Severity::Sev2);
    assert!(
        p.top_level("C_MINOR")[0]
            .text
            .contains("Severity changed SEV-3 → SEV-2")
    );
    click("U0BOB", ActionKey::Service, Some("payments")).await;
    assert_eq!(w.incident(&id).await.service.as_deref(), Some("payments"));
    let bad = click("U0BOB", ActionKey::Service, Some("mainframe")).await;
    assert!(
        bad.private.is_some_and(|t| t.contains("not a valid choice")),
        "not in `services`"
    );
    assert_eq!(w.incident(&id).await.service.as_deref(), Some("payments"));
    click("U0BOB", ActionKey::Assign, Some("U0CAROL")).await;
    assert_eq!(w.incident(&id).await.assignee.map(|u| u.id), Some("U0CAROL".into()));
    let forged = click("U0BOB", ActionKey::Assign, Some("<!channel>")).await;
    assert!(forged.private.is_some(), "assignees are validated like typed ones");
    click("U0BOB", ActionKey::Escalate, None).await;
    assert_eq!(w.incident(&id).await.severity, Severity::Sev1, "Escalate: one level up");
    let top = click("U0BOB", ActionKey::Escalate, None).await;
    assert!(top.private.is_some_and(|t| t.contains("already SEV-1")));

    // Viewers may look but not touch: every action passes the policy.
    let denied = click("U0VIEWER", ActionKey::Service, Some("search")).await;
    assert!(
        denied.private.is_some_and(|t| t.contains("responder role")),
        "service menu checked"
    );
    let denied = click("U0VIEWER", ActionKey::WarRoom, None).await;
    assert!(
        denied.private.is_some_and(|t| t.contains("responder role")),
        "war room checked"
    );
    let details = click("U0VIEWER", ActionKey::Details, None).await;
    assert!(details.private.is_some_and(|t| t.contains("Latest timeline entries")));

    click("U0BOB", ActionKey::Transition, Some("resolve")).await;
    assert_eq!(w.incident(&id).await.status, Status::Resolved);
    let late = click("U0DAN", ActionKey::Ack, None).await;
    assert!(late.private.is_some_and(|t| t.contains("is already resolved")));

    let form = click("U0BOB", ActionKey::StatusUpdate, None).await;
    assert!(form.form, "the Status Update form opens");
    let empty = w.send(&p.submit_note("U0BOB", &id, "  ")).await;
    assert_eq!(empty.status, 200);
    assert!(String::from_utf8_lossy(&empty.body).contains("Write what changed."));
    w.send(&p.submit_note("U0BOB", &id, "Consumers scaled to 12")).await;

    let entries = w.timeline(&id).await;
    let commands: Vec<String> = entries
        .iter()
        .map(|e| format!("{} {}", e.event_type, e.data["command"].as_str().unwrap_or("")))
        .collect();
    for expected in [
        format!("chatops.acknowledge [Acknowledge] {id}"),
        format!("chatops.escalate [Severity: SEV-2] {id}"),
        format!("chatops.service [Service: payments] {id}"),
        format!("chatops.assign [Assign: U0CAROL] {id}"),
        format!("chatops.escalate [Escalate] {id}"),
        format!("chatops.resolve [Status: resolve] {id}"),
        format!("chatops.update [Status Update] {id}"),
    ] {
        assert!(commands.contains(&expected), "{expected} in {commands:#?}");
    }
    let changes = entries.iter().filter(|e| e.event_type != "chatops.denied").count();
    assert_eq!(changes, 8, "refused clicks change nothing: {commands:#?}");
    // Each refusal is on the incident's timeline: who, what, where, and why.
    let denied: Vec<_> = entries.iter().filter(|e| e.event_type == "chatops.denied").collect();
    assert_eq!(denied.len(), 2, "{commands:#?}");
    assert_eq!(denied[0].actor, "chatops:U0VIEWER");
    assert_eq!(denied[0].data["command"], format!("[Service: search] {id}"));
    assert_eq!(denied[0].data["policy"], "service");
    assert_eq!(denied[0].data["needed"], "responder");
    assert!(denied[0].data["channel"].is_string());
    assert_eq!(denied[1].data["policy"], "war_room");

    w.drain().await;
    let minor = p.top_level("C_MINOR");
    assert_eq!(minor.len(), 1, "the notifier edits, never re-posts");
    assert_eq!(minor[0].version, Some(w.incident(&id).await.version));
    let thread = p.thread("C_MINOR", &minor[0].id);
    assert!(
        thread.iter().any(|l| l.contains("Consumers scaled to 12")),
        "{thread:#?}"
    );
}

/// Join War Room: a room where the platform has channels, the core's answer where it has none.
pub async fn war_room(p: Arc<dyn UnderTest>, has_rooms: bool) {
    let w = World::new(p.clone(), json!({}));
    let id = w.declare("U0ALICE", "--sev SEV-3 Login errors").await;
    w.drain().await;
    let message = p.top_level("C_MINOR").remove(0);
    let clicked = w
        .click("U0BOB", "C_MINOR", &message.id, &act(ActionKey::WarRoom, &id, None))
        .await;
    assert_eq!(
        (clicked.status, clicked.private),
        (200, None),
        "answered at once; the worker does the rest"
    );
    assert!(w.incident(&id).await.war_room.is_none());
    w.drain().await;
    let answers = p.follow_ups().join("\n");
    if has_rooms {
        let room = w.incident(&id).await.war_room.expect("recorded");
        assert!(
            answers.contains(&format!("War room #{} is open", room.name)),
            "{answers}"
        );
    } else {
        assert!(
            answers.contains(&format!("War rooms are not available on {}", p.name())),
            "{answers}"
        );
    }
}

/// Routing: severity channels, a service's channel beside its severity's, management for SEV-1,
/// escalation reaches new channels and edits the old one, resolution reaches the declaring
/// channel; every change threads its line.
pub async fn routing(p: Arc<dyn UnderTest>) {
    let w = World::new(p.clone(), json!({"service_channels": {"payments": "C_INFO"}}));
    let critical = w.declare("U0ALICE", "--sev SEV-1 Payments down").await;
    w.drain().await;
    for channel in ["C_CRIT", "C_EXEC"] {
        let shown = p.top_level(channel);
        assert_eq!(shown.len(), 1, "{channel}");
        assert!(shown[0].text.contains("Payments down") && shown[0].text.contains(&critical));
    }
    assert!(p.top_level("C_MINOR").is_empty());

    let minor = w.declare("U0ALICE", "--sev SEV-3 Search slow").await;
    w.drain().await;
    assert_eq!(p.top_level("C_MINOR").len(), 1);
    w.command("U0BOB", &format!("escalate {minor} SEV-1")).await;
    w.drain().await;
    assert_eq!(
        p.top_level("C_CRIT").len(),
        2,
        "the escalation reaches the SEV-1 channel"
    );
    assert_eq!(p.top_level("C_EXEC").len(), 2, "and management");
    let edited = p.top_level("C_MINOR").remove(0);
    assert_eq!(edited.version, Some(2), "the SEV-3 message is edited, not re-posted");
    assert!(edited.text.contains("SEV-1"));
    assert!(
        p.thread("C_MINOR", &edited.id)
            .iter()
            .any(|l| l.contains("chatops.escalate"))
    );

    w.command("U0BOB", &format!("resolve {minor} \"Index rebuilt\"")).await;
    w.drain().await;
    let origin = p.top_level("C_ORIGIN");
    assert_eq!(origin.len(), 1, "resolution reaches the declaring channel");
    assert!(origin[0].text.contains("Time to resolve"));
    assert!(
        p.thread("C_ORIGIN", &origin[0].id)
            .iter()
            .any(|l| l.contains("Index rebuilt"))
    );
    let paid = w
        .declare("U0ALICE", "--sev SEV-3 --service payments Refunds stuck")
        .await;
    w.drain().await;
    let service = p.top_level("C_INFO");
    assert_eq!(service.len(), 1, "the payments channel gets its incident");
    assert!(service[0].text.contains(&paid));
    assert_eq!(p.top_level("C_MINOR").len(), 2, "and the severity channel too");
    assert!(w.dead_letters.lock().expect("lock").is_empty());
}

/// User text is data: markup in a title pings no one and links nothing, on every platform.
pub async fn user_text_is_inert(p: Arc<dyn UnderTest>) {
    let w = World::new(p.clone(), json!({}));
    let title = "<!channel> DB down <https://evil.example|login> @everyone";
    let request = p.command("U0ALICE", "C_ORIGIN", &format!("declare --sev SEV-3 \"{title}\""));
    let answer = w.send(&request).await;
    let raw: serde_json::Value = serde_json::from_slice(&answer.body).expect("json");
    let mut texts = Vec::new();
    collect_strings(&raw, &mut texts);
    for text in &texts {
        assert!(p.live_markup(text).is_empty(), "live markup in the reply: {text}");
    }
    let shown = p.shown(&answer);
    assert!(shown.text.contains(title), "shown literally: {shown:?}");
    w.drain().await;
    let posted = p.top_level("C_MINOR").remove(0);
    assert!(posted.text.contains(title), "{}", posted.text);
    let mut texts = Vec::new();
    collect_strings(&posted.raw, &mut texts);
    for text in &texts {
        assert!(
            p.live_markup(text).is_empty(),
            "live markup in the notification: {text}"
        );
    }
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|i| collect_strings(i, out)),
        serde_json::Value::Object(o) => o.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

/// Every gate: signature, tenant binding, status, slash-command switch, retries.
pub async fn gates(p: Arc<dyn UnderTest>) {
    let w = World::new(p.clone(), json!({}));
    let forged = w.send(&p.forged("U0ALICE", "C_ORIGIN", "declare Forged")).await;
    assert_eq!(
        (forged.status, forged.body.len()),
        (401, 0),
        "a bad signature learns nothing"
    );
    let foreign = w
        .send(&p.foreign_command("U0ALICE", "C_ORIGIN", "declare From elsewhere"))
        .await;
    assert_eq!(foreign.status, 403, "a validly signed request from another workspace");
    assert!(w.publisher.events().is_empty(), "nothing changed");

    let id = w.declare("U0ALICE", "--sev SEV-3 Gate check").await;
    w.drain().await;
    let message = p.top_level("C_MINOR").remove(0).id;
    // A retried click (the same request) acts once.
    let click = p.click("U0BOB", "C_MINOR", &message, &act(ActionKey::Ack, &id, None));
    w.send(&click).await;
    w.send(&click).await;
    assert_eq!(w.count(&id, "chatops.acknowledge").await, 1);

    let mut provider = (*im_core::directory::ProviderSource::provider(w.providers.as_ref(), "acme")
        .await
        .expect("read")
        .expect("exists"))
    .clone();
    provider.config.enable_slash_commands = false;
    w.providers.put(provider.clone());
    let off = w.command("U0ALICE", "list").await;
    assert!(
        off.private && off.text.contains("Slash commands are turned off"),
        "{off:?}"
    );
    let clicked = w
        .click(
            "U0BOB",
            "C_MINOR",
            &message,
            &act(ActionKey::Severity, &id, Some("SEV-2")),
        )
        .await;
    assert_eq!(clicked.private, None, "buttons still work");
    assert_eq!(w.incident(&id).await.severity, Severity::Sev2);

    provider.status = im_core::provider::ProviderStatus::Inactive;
    w.providers.put(provider);
    let inactive = w
        .click(
            "U0BOB",
            "C_MINOR",
            &message,
            &act(ActionKey::Severity, &id, Some("SEV-1")),
        )
        .await;
    assert!(
        inactive.private.is_some_and(|t| t.contains("inactive")),
        "an inactive provider refuses clicks"
    );
    assert_eq!(w.incident(&id).await.severity, Severity::Sev2);
}

/// What people do is counted per day, the same on every platform: typed commands by command and
/// user, clicks by action with the time we took to answer, the time to acknowledge, refusals
/// counted as commands (not errors).
pub async fn usage(p: Arc<dyn UnderTest>) {
    let w = World::new(p.clone(), json!({}));
    let id = w
        .declare("U0ALICE", "--sev SEV-3 --service checkout Checkout slow")
        .await;
    w.command("U0BOB", "list").await;
    w.command("U0BOB", "list").await;
    w.command("U0VIEWER", &format!("resolve {id}")).await;
    w.drain().await;
    let message = p.top_level("C_MINOR").remove(0);
    let acked = w
        .click("U0BOB", "C_MINOR", &message.id, &act(ActionKey::Ack, &id, None))
        .await;
    assert_eq!(acked.status, 200);
    w.click("U0DAN", "C_MINOR", &message.id, &act(ActionKey::Details, &id, None))
        .await;

    let today = time::OffsetDateTime::now_utc().date();
    let day = w.usage.day(today);
    let platform = p.name();
    let count = |name: String| day.get(&name).copied().unwrap_or(0);
    assert_eq!(count(format!("commands|{platform}|acme|declare")), 1, "{day:?}");
    assert_eq!(count(format!("commands|{platform}|acme|list")), 2, "{day:?}");
    assert_eq!(
        count(format!("commands|{platform}|acme|resolve")),
        1,
        "a refusal is still a use"
    );
    assert_eq!(
        count(format!("errors|{platform}|resolve")),
        0,
        "a refusal is not our error"
    );
    assert_eq!(count(format!("clicks|{platform}|ack")), 1, "{day:?}");
    assert_eq!(count(format!("clicks|{platform}|details")), 1, "{day:?}");
    assert_eq!(
        count(format!("commands|{platform}|acme|ack")),
        0,
        "a click is not a typed command"
    );
    assert_eq!(count(format!("acks|{platform}")), 1, "{day:?}");
    assert!(day.contains_key(&format!("ack_seconds|{platform}")), "{day:?}");
    assert!(day.contains_key(&format!("click_ms|{platform}")), "{day:?}");
    assert_eq!(count("users|acme:U0BOB".into()), 3, "two lists and a click");
    assert_eq!(count("channels|acme|C_ORIGIN".into()), 4, "{day:?}");

    let stats = im_core::usage::Stats::compute(today, today, &[(today, day)]);
    assert_eq!(stats.total_commands, 4);
    assert_eq!(stats.commands[0].command, "list");
    assert_eq!(stats.engagement.clicks, 2);
}

macro_rules! suites_for {
    ($platform:ident, $start:expr, $rooms:expr) => {
        mod $platform {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn lifecycle() {
                super::lifecycle($start.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn buttons() {
                super::buttons($start.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn war_room() {
                super::war_room($start.await, $rooms).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn routing() {
                super::routing($start.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn user_text_is_inert() {
                super::user_text_is_inert($start.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn usage() {
                super::usage($start.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn gates() {
                super::gates($start.await).await;
            }
        }
    };
}

suites_for!(
    slack,
    async { SlackUnderTest::start().await as Arc<dyn UnderTest> },
    true
);
suites_for!(
    echo,
    async { EchoUnderTest::start().await as Arc<dyn UnderTest> },
    false
);
suites_for!(
    discord,
    async { DiscordUnderTest::start().await as Arc<dyn UnderTest> },
    true
);
