//! Buttons, menus and the Status Update modal on incident notifications; war rooms.

use std::time::Duration;

use im_core::ports::IncidentStore;
use im_core::{IncidentId, Severity, Status};
use im_tests::pipeline::Pipeline;
use serde_json::json;

const DRAIN: Duration = Duration::from_secs(60);

fn button(action: &str, id: &str) -> serde_json::Value {
    json!({"action_id": action, "block_id": format!("im:buttons:{id}"), "type": "button", "value": id})
}

fn option(action: &str, id: &str, choice: &str) -> serde_json::Value {
    json!({"action_id": action, "block_id": format!("im:menus:{id}"), "type": "static_select",
           "selected_option": {"value": format!("{id}|{choice}")}})
}

async fn incident(p: &Pipeline, id: &str) -> im_core::Incident {
    let id = IncidentId::parse(id).expect("id");
    p.stack.store().get(&id).await.expect("read").expect("exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_button_and_menu_acts_and_edits_the_clicked_message() {
    let p = Pipeline::start(true).await;
    let hook = p.webhook();
    let id = p.declare("--sev SEV-3 --service checkout Checkout slow").await;
    p.drain(2, DRAIN).await;
    let message = p.slack.top_level("C_MINOR").remove(0);
    let ts = message.ts.clone();

    assert_eq!(
        p.click(&hook, "U0BOB", "C_MINOR", &ts, button("im:ack", &id)).await,
        200
    );
    let inc = incident(&p, &id).await;
    assert_eq!(inc.status, Status::Acknowledged);
    assert_eq!(inc.acknowledged_by.map(|u| u.id), Some("U0BOB".into()));
    let edited = p.slack.top_level("C_MINOR").remove(0);
    assert_eq!(
        edited.version,
        Some(2),
        "the clicked message is edited in place, before any queue runs"
    );
    assert!(
        !edited.blocks.to_string().contains("\"im:ack\""),
        "no Acknowledge button once acknowledged"
    );

    p.click(&hook, "U0BOB", "C_MINOR", &ts, option("im:severity", &id, "SEV-2"))
        .await;
    assert_eq!(incident(&p, &id).await.severity, Severity::Sev2);
    let escalated = p.slack.top_level("C_MINOR").remove(0).blocks.to_string();
    assert!(
        escalated.contains("Severity changed SEV-3 → SEV-2"),
        "the in-place edit names the severity it came from: {escalated}"
    );
    p.click(&hook, "U0BOB", "C_MINOR", &ts, option("im:service", &id, "payments"))
        .await;
    assert_eq!(incident(&p, &id).await.service.as_deref(), Some("payments"));
    let assign = json!({"action_id": "im:assign", "block_id": format!("im:menus:{id}"), "type": "users_select", "selected_user": "U0CAROL"});
    p.click(&hook, "U0BOB", "C_MINOR", &ts, assign).await;
    assert_eq!(incident(&p, &id).await.assignee.map(|u| u.id), Some("U0CAROL".into()));
    p.click(&hook, "U0BOB", "C_MINOR", &ts, button("im:escalate", &id))
        .await;
    assert_eq!(
        incident(&p, &id).await.severity,
        Severity::Sev1,
        "Escalate: one level up"
    );
    p.click(&hook, "U0BOB", "C_MINOR", &ts, option("im:transition", &id, "resolve"))
        .await;
    assert_eq!(incident(&p, &id).await.status, Status::Resolved);

    // View Details and refusals come back to the clicker only.
    p.click(&hook, "U0DAN", "C_MINOR", &ts, button("im:details", &id)).await;
    p.click(&hook, "U0DAN", "C_MINOR", &ts, button("im:ack", &id)).await;
    let responses: Vec<serde_json::Value> = p.slack.responses().into_values().flatten().collect();
    assert_eq!(responses.len(), 2, "{responses:#?}");
    assert!(
        responses
            .iter()
            .all(|r| r["response_type"] == "ephemeral" && r["replace_original"] == false)
    );
    let texts: Vec<String> = responses.iter().map(|r| r.to_string()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Latest timeline entries") && t.contains("chatops.resolve")),
        "details show the latest timeline: {texts:#?}"
    );
    assert!(texts.iter().any(|t| t.contains("is already resolved")), "{texts:#?}");

    let timeline = p
        .stack
        .store()
        .timeline(&IncidentId::parse(&id).expect("id"), 50)
        .await
        .expect("timeline");
    let entries: Vec<(String, String)> = timeline
        .iter()
        .map(|e| {
            (
                e.event_type.clone(),
                e.data["command"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        entries.contains(&("chatops.acknowledge".into(), format!("[Acknowledge] {id}"))),
        "{entries:#?}"
    );
    assert!(
        entries.contains(&("chatops.service".into(), format!("[Service: payments] {id}"))),
        "{entries:#?}"
    );
    assert!(
        entries.iter().all(|(_, c)| !c.is_empty()),
        "every action is audited with what was clicked"
    );

    p.drain(2, DRAIN).await;
    let minor = p.slack.top_level("C_MINOR");
    assert_eq!(minor.len(), 1, "the notifier edits, never re-posts");
    assert_eq!(minor[0].version, Some(incident(&p, &id).await.version));
    // (Whether Slack's per-channel pacing ever answered 429 here depends on how busy the
    // machine is; a 429 is waited out and re-queued. The pacing itself is pinned in delivery.rs.)
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_update_modal_adds_a_timeline_note() {
    let p = Pipeline::start(true).await;
    let hook = p.webhook();
    let id = p.declare("--sev SEV-3 Queue backlog").await;
    p.drain(2, DRAIN).await;
    let ts = p.slack.top_level("C_MINOR")[0].ts.clone();
    p.click(&hook, "U0BOB", "C_MINOR", &ts, button("im:status_update", &id))
        .await;
    let views = p.slack.views();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0]["callback_id"], "im:status_update");
    assert_eq!(views[0]["private_metadata"], id.as_str());

    let submit = |note: &str| {
        json!({"type": "view_submission", "user": {"id": "U0BOB"}, "trigger_id": "t.modal",
               "view": {"callback_id": "im:status_update", "private_metadata": id,
                        "state": {"values": {"note": {"note": {"type": "plain_text_input", "value": note}}}}}})
        .to_string()
    };
    let (status, body) = p.post_signed(&hook, &[("payload", &submit("  "))]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["response_action"], "errors",
        "an empty note is refused in the form"
    );
    let (status, body) = p
        .post_signed(&hook, &[("payload", &submit("Consumers scaled to 12"))])
        .await;
    assert_eq!(status, 200);
    assert!(body.is_null(), "an empty answer closes the modal: {body}");
    let timeline = p
        .stack
        .store()
        .timeline(&IncidentId::parse(&id).expect("id"), 10)
        .await
        .expect("timeline");
    let update = timeline
        .iter()
        .find(|e| e.event_type == "chatops.update")
        .expect("update entry");
    assert_eq!(update.data["note"], "Consumers scaled to 12");
    p.drain(2, DRAIN).await;
    let thread = p.slack.thread("C_MINOR", &ts);
    assert!(thread.iter().any(|m| m.text.contains("Consumers scaled to 12")));
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn war_rooms_are_created_reused_and_archived_on_close() {
    let p = Pipeline::start(true).await;
    p.stack
        .directory()
        .update("acme", Some(json!({"archive_war_room_on_close": true})), None)
        .await
        .expect("config");
    let hook = p.webhook();
    let id = p.declare("--sev SEV-3 Login: 500 errors (EU)").await;
    p.drain(2, DRAIN).await;
    let ts = p.slack.top_level("C_MINOR")[0].ts.clone();
    let base = format!("{}-login-500-errors-eu", id.to_lowercase());
    p.click(&hook, "U0BOB", "C_MINOR", &ts, button("im:war_room", &id))
        .await;
    // The click is answered at once; the interaction worker opens the room.
    p.drain(2, DRAIN).await;
    let room = incident(&p, &id).await.war_room.expect("war room recorded");
    assert_eq!(room.name, base);
    assert_eq!(p.slack.channel_named(&base).as_deref(), Some(room.channel.as_str()));
    assert_eq!(p.slack.members(&room.channel), ["U0BOB"]);
    let summary = p.slack.top_level(&room.channel);
    assert_eq!(summary.len(), 1, "the summary is posted in the room");
    assert!(
        p.slack.pins().contains(&(room.channel.clone(), summary[0].ts.clone())),
        "and pinned"
    );

    // A second click joins the same room.
    p.click(&hook, "U0CAROL", "C_MINOR", &ts, button("im:war_room", &id))
        .await;
    p.drain(2, DRAIN).await;
    assert_eq!(
        incident(&p, &id).await.war_room.map(|r| r.channel),
        Some(room.channel.clone())
    );
    assert_eq!(p.slack.members(&room.channel), ["U0BOB", "U0CAROL"]);
    assert_eq!(p.slack.calls("conversations.create").len(), 1);

    // Changes reach the room's pinned summary; closing archives the room.
    p.run("U0BOB", &format!("resolve {id} \"Fixed\"")).await;
    p.run("U0BOB", &format!("close {id}")).await;
    p.drain(2, DRAIN).await;
    let summary = p.slack.top_level(&room.channel);
    assert_eq!(summary.len(), 1);
    assert!(summary[0].blocks.to_string().contains("*Status:* Closed"));
    assert!(p.slack.is_archived(&room.channel), "archived on close");
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn war_room_names_are_collision_safe() {
    let p = Pipeline::start(true).await;
    let hook = p.webhook();
    let id = p.declare("--sev SEV-3 Disk full").await;
    p.drain(2, DRAIN).await;
    let ts = p.slack.top_level("C_MINOR")[0].ts.clone();
    let name = format!("{}-disk-full", id.to_lowercase());
    p.slack.with_named_channel("C_SOMEONE", &name);
    p.click(&hook, "U0BOB", "C_MINOR", &ts, button("im:war_room", &id))
        .await;
    p.drain(2, DRAIN).await;
    let room = incident(&p, &id).await.war_room.expect("war room");
    assert_eq!(room.name, format!("{name}-2"));
    assert_ne!(room.channel, "C_SOMEONE");
    p.stack.teardown().await;
}
