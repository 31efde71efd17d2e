//! Plain language end to end, on Slack (`app_mention` through the Events API) and Discord
//! (`/im ask`): context ("show me INC-…" then "ack it"), a question with choices whose click
//! completes the request, context expiring after 30 minutes, confirmations, chatter, counts and
//! on-call — through the same gateway, worker, use cases and timeline as slash commands.

use std::sync::Arc;

use im_core::action::{ActionKey, ActionRef};
use im_core::conversation::Memo;
use im_core::{IncidentId, Status};
use im_tests::discord_under_test::DiscordUnderTest;
use im_tests::slack_under_test::SlackUnderTest;
use im_tests::world::{ROUTING, UnderTest, World};

async fn conversation(p: Arc<dyn UnderTest>) {
    let w = World::new(p.clone(), serde_json::from_str(ROUTING).expect("routing"));
    let first = w.declare("U0ALICE", "--sev SEV-3 --service checkout Cart errors").await;
    let second = w
        .declare("U0ALICE", "--sev SEV-3 --service checkout Coupon failures")
        .await;
    let third = w
        .declare("U0ALICE", "--sev SEV-2 --service payments Card declines")
        .await;

    // Context: "show me INC-…" then "ack it"; the timeline keeps the sentence.
    let shown = w
        .ask("U0BOB", "C_ORIGIN", &format!("show me the status of {third}"), 1)
        .await;
    assert!(shown.iter().any(|t| t.contains(&third)), "{shown:?}");
    w.ask("U0BOB", "C_ORIGIN", "ack it", 2).await;
    assert_eq!(w.incident(&third).await.status, Status::Acknowledged);
    let entry = w
        .timeline(&third)
        .await
        .into_iter()
        .rev()
        .find(|e| e.event_type == "chatops.acknowledge")
        .expect("ack entry");
    assert_eq!(entry.data["command"], "ack it", "the original sentence: {entry:?}");
    // "escalate to SEV-1" uses the same context.
    w.ask("U0BOB", "C_ORIGIN", "escalate to SEV-1", 3).await;
    assert_eq!(w.incident(&third).await.severity, im_core::Severity::Sev1);
    // Another person has no context: "ack it" asks which incident, and changes nothing.
    let asked = w.ask("U0CAROL", "C_ORIGIN", "ack it", 4).await;
    assert!(asked.iter().any(|t| t.contains("Which incident")), "{asked:?}");

    // Two open checkout incidents: a question with both; the click resolves the chosen one.
    let asked = w.ask("U0BOB", "C_ORIGIN", "resolve the checkout incident", 5).await;
    assert!(asked.iter().any(|t| t.contains("Which checkout incident")), "{asked:?}");
    assert_eq!(w.incident(&first).await.status, Status::Open);
    assert_eq!(w.incident(&second).await.status, Status::Open);
    // The question's own buttons, pressed as the platform received them.
    let question = p.answered("C_ORIGIN", 5).expect("the question");
    w.press("U0BOB", "C_ORIGIN", &question, &format!("{second} · Coupon failures"))
        .await;
    w.run_work().await;
    assert_eq!(
        w.incident(&second).await.status,
        Status::Resolved,
        "the click completed the resolve"
    );
    assert_eq!(
        w.incident(&first).await.status,
        Status::Open,
        "the other one is untouched"
    );
    let resolved = w
        .timeline(&second)
        .await
        .into_iter()
        .rev()
        .find(|e| e.event_type == "chatops.resolve")
        .expect("entry");
    assert_eq!(resolved.data["command"], "resolve the checkout incident");
    // The question was answered: clicking again completes nothing.
    w.press("U0BOB", "C_ORIGIN", &question, &format!("{first} · Cart errors"))
        .await;
    assert_eq!(w.incident(&first).await.status, Status::Open);

    // The resolve made that incident the context: 29 minutes later "it" still means it (and
    // reading it renews the context); 31 minutes after that it has expired.
    w.advance(time::Duration::minutes(29));
    let shown = w.ask("U0BOB", "C_ORIGIN", "give me the timeline", 14).await;
    assert!(shown.iter().any(|t| t.contains(&second)), "{shown:?}");
    w.advance(time::Duration::minutes(31));
    let asked = w.ask("U0BOB", "C_ORIGIN", "close it", 6).await;
    assert!(asked.iter().any(|t| t.contains("Which incident")), "{asked:?}");
    assert_eq!(w.incident(&second).await.status, Status::Resolved, "nothing closed");

    // Said indirectly: confirmed with a button first.
    let asked = w.ask("U0BOB", "C_ORIGIN", &format!("{first} is fixed"), 7).await;
    assert!(
        asked.iter().any(|t| t.contains(&format!("resolve {first}?"))),
        "{asked:?}"
    );
    assert_eq!(w.incident(&first).await.status, Status::Open);
    let confirm = p.answered("C_ORIGIN", 7).expect("the confirmation");
    w.press("U0BOB", "C_ORIGIN", &confirm, "Yes, do it").await;
    w.run_work().await;
    assert_eq!(w.incident(&first).await.status, Status::Resolved);

    // Chatter never acts; it gets a short help.
    let entries = w.timeline(&third).await.len();
    let answer = w.ask("U0BOB", "C_ORIGIN", "thanks, you're great", 8).await;
    assert!(
        answer.iter().any(|t| t.contains("I only act on incident requests")),
        "{answer:?}"
    );
    assert_eq!(w.timeline(&third).await.len(), entries);
    assert_eq!(
        w.timeline(&first).await.last().map(|e| e.event_type.clone()).as_deref(),
        Some("chatops.resolve")
    );

    // A create without a title asks for one; the next mention completes it.
    let asked = w.ask("U0BOB", "C_ORIGIN", "create an incident", 11).await;
    assert!(
        asked.iter().any(|t| t.contains("What is the incident about?")),
        "{asked:?}"
    );
    let declared = w.ask("U0BOB", "C_ORIGIN", "Checkout totals are wrong", 12).await;
    let new_id = declared
        .iter()
        .find_map(|t| im_tests::world::incident_id(t))
        .expect("declared");
    assert_eq!(w.incident(&new_id).await.title, "Checkout totals are wrong");
    assert_eq!(w.incident(&new_id).await.service.as_deref(), Some("checkout"));

    // A viewer asking for a change is refused like the slash command, and nothing changes.
    let refused = w.ask("U0VIEWER", "C_ORIGIN", &format!("close {third}"), 13).await;
    assert!(refused.iter().any(|t| t.contains("responder")), "{refused:?}");
    assert_eq!(w.incident(&third).await.status, Status::Acknowledged);

    // Counts read incidents by declaration time.
    let counted = w.ask("U0BOB", "C_ORIGIN", "how many SEV-3 incidents today?", 9).await;
    assert!(counted.iter().any(|t| t.contains("3 SEV-3 incidents")), "{counted:?}");

    // On-call from a rotation.
    let rotation = serde_json::json!({
        "service": "payments", "participants": [format!("{}:U0DAN", p.name())], "handoff": "09:00",
        "shift_hours": 24, "timezone": "Europe/Berlin", "start": "2026-01-01"
    });
    w.memo
        .put("oncall:payments", &rotation.to_string(), None)
        .await
        .expect("rotation");
    let oncall = w.ask("U0BOB", "C_ORIGIN", "who is on call for payments?", 10).await;
    assert!(oncall.iter().any(|t| t.contains("On call for payments")), "{oncall:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_mentions_keep_context_ask_and_complete() {
    conversation(SlackUnderTest::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_ask_keeps_context_asks_and_completes() {
    conversation(DiscordUnderTest::start().await).await;
}

/// Join War Room invites the service's current on-call person (Slack: the channel's members).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_war_room_invites_the_services_on_call_person() {
    let slack = SlackUnderTest::start().await;
    let w = World::new(slack.clone(), serde_json::from_str(ROUTING).expect("routing"));
    let rotation = serde_json::json!({
        "service": "checkout", "participants": ["slack:U0DAN"], "handoff": "09:00",
        "shift_hours": 168, "timezone": "UTC", "start": "2026-01-05"
    });
    w.memo
        .put("oncall:checkout", &rotation.to_string(), None)
        .await
        .expect("rotation");
    let id = w.declare("U0ALICE", "--sev SEV-3 --service checkout Cart errors").await;
    w.drain().await;
    let ts = slack.top_level("C_MINOR")[0].id.clone();
    let join = ActionRef::new(ActionKey::WarRoom, IncidentId::parse(&id).expect("id"), None);
    w.click("U0BOB", "C_MINOR", &ts, &join).await;
    w.drain().await;
    let room = w.incident(&id).await.war_room.expect("a room");
    assert_eq!(slack.fake.members(&room.channel), ["U0BOB", "U0DAN"]);
    assert!(
        slack.follow_ups().iter().any(|t| t.contains("The on-call person")),
        "{:?}",
        slack.follow_ups()
    );
}
