//! Personal data handled as documented: secrets and e-mail addresses typed into commands,
//! mentions and forms never reach storage, queues, logs or posted messages.

use std::sync::Arc;

use im_core::IncidentId;
use im_core::action::{ActionKey, ActionRef};
use im_core::ports::IncidentStore;
use im_tests::discord_under_test::DiscordUnderTest;
use im_tests::slack_under_test::SlackUnderTest;
use im_tests::world::{UnderTest, World};
use serde_json::json;

const TOKEN: &str = "xoxb-2468013579-1357924680-PLANTEDtoken";
const EMAIL: &str = "planted.person@example.org";
const CUSTOM: &str = "ACME-778899";

pub async fn planted_secrets_go_nowhere(p: Arc<dyn UnderTest>) {
    let (logs, _guard) = im_tests::Captured::start();

    let w = World::new(p.clone(), json!({"redact_patterns": ["ACME-[0-9]{6}"]}));
    let id = w
        .declare(
            "U0ALICE",
            &format!("--sev SEV-1 --service checkout \"Leaked {TOKEN} by {EMAIL}\" --description \"ticket {CUSTOM}\""),
        )
        .await;
    let incident = w.incident(&id).await;
    assert_eq!(incident.title, "Leaked [redacted] by [email]");
    assert_eq!(incident.description.as_deref(), Some("ticket [redacted]"));
    w.command(
        "U0BOB",
        &format!("update {id} \"mail {EMAIL} has password=hunter2 and {TOKEN}\""),
    )
    .await;
    w.send(&p.submit_note("U0BOB", &id, &format!("form note {TOKEN} {EMAIL}")))
        .await;
    let refused = w.command("U0VIEWER", &format!("resolve {id} {TOKEN}")).await;
    assert!(refused.private, "{refused:?}");
    let _ = w
        .ask(
            "U0CAROL",
            "C_ORIGIN",
            &format!("status of {id}? ping {EMAIL} {TOKEN}"),
            1,
        )
        .await;
    w.drain().await;
    w.click(
        "U0BOB",
        "C_CRIT",
        "1764237600.000001",
        &ActionRef::new(ActionKey::Ack, IncidentId::parse(&id).expect("id"), None),
    )
    .await;
    w.drain().await;

    let mut everywhere = Vec::new();
    let stored = w
        .store
        .timeline(&IncidentId::parse(&id).expect("id"), 100)
        .await
        .expect("timeline");
    assert!(
        stored.iter().any(|e| serde_json::Value::Object(e.data.clone())
            .to_string()
            .contains("[redacted]")),
        "{stored:#?}"
    );
    everywhere.push(("timeline", serde_json::to_string(&stored).expect("JSON")));
    everywhere.push(("incident", serde_json::to_string(&w.incident(&id).await).expect("JSON")));
    let today = im_core::Clock::now(&im_core::SystemClock).date();
    everywhere.push((
        "audit",
        serde_json::to_string(&w.store.audit_day(today).await.expect("audit")).expect("JSON"),
    ));
    everywhere.push(("memo", format!("{:?}", w.memo.dump())));
    everywhere.push(("events", format!("{:?}", w.publisher.events())));
    for channel in [
        "C_GENERAL",
        "C_CRIT",
        "C_MAJOR",
        "C_MINOR",
        "C_SLA",
        "C_EXEC",
        "C_ORIGIN",
    ] {
        for message in p.top_level(channel) {
            everywhere.push(("posted", message.raw.to_string()));
            everywhere.push(("thread", p.thread(channel, &message.id).join("\n")));
        }
    }
    assert!(
        everywhere
            .iter()
            .any(|(what, text)| *what == "posted" && text.contains("Leaked")),
        "something was posted"
    );
    everywhere.push(("follow-ups", p.follow_ups_raw().join("\n")));
    everywhere.push(("logs", logs.text()));
    for (what, text) in &everywhere {
        for planted in [TOKEN, EMAIL, CUSTOM, "hunter2", "PLANTEDtoken", "planted.person"] {
            assert!(!text.contains(planted), "{planted} reached {what}: {text}");
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn slack_planted_secrets_go_nowhere() {
    planted_secrets_go_nowhere(SlackUnderTest::start().await as Arc<dyn UnderTest>).await;
}

#[tokio::test(flavor = "current_thread")]
async fn discord_planted_secrets_go_nowhere() {
    planted_secrets_go_nowhere(DiscordUnderTest::start().await as Arc<dyn UnderTest>).await;
}
