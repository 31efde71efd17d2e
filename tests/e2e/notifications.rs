//! The notification pipeline end to end: commands → DynamoDB + outbox → incident-events →
//! router → deliveries → notifier → a strict fake Slack.

use std::time::Duration;

use im_tests::pipeline::Pipeline;

const DRAIN: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn incidents_reach_the_channels_of_their_severity() {
    let p = Pipeline::start(true).await;
    p.declare("--sev SEV-1 Payments down").await;
    p.drain(2, DRAIN).await;
    assert_eq!(
        p.slack.channels_posted_to(),
        ["C_CRIT", "C_EXEC"],
        "SEV-1: critical + management, nowhere else"
    );

    p.declare("--sev SEV-3 Search slow").await;
    p.declare("--sev SEV-4 Typo on status page").await;
    p.drain(2, DRAIN).await;
    assert_eq!(p.slack.top_level("C_MINOR").len(), 1, "SEV-3 channel");
    assert_eq!(p.slack.top_level("C_GENERAL").len(), 1, "no SEV-4 key: default");
    assert_eq!(
        p.slack.channels_posted_to(),
        ["C_CRIT", "C_EXEC", "C_GENERAL", "C_MINOR"]
    );
    let critical = &p.slack.top_level("C_CRIT")[0];
    assert!(critical.text.contains("Payments down"));
    assert!(
        !critical.blocks.to_string().contains("\"Escalate\""),
        "nothing above SEV-1"
    );
    let blocks = p.slack.top_level("C_MINOR")[0].blocks.to_string();
    for button in [
        "Acknowledge",
        "Join War Room",
        "View Details",
        "Escalate",
        "Status Update",
    ] {
        assert!(blocks.contains(&format!("\"{button}\"")), "{button} button");
    }
    assert_eq!(p.slack.rate_limited(), 0);
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn escalation_posts_to_new_channels_and_edits_the_old_one() {
    let p = Pipeline::start(true).await;
    let id = p.declare("--sev SEV-3 Checkout errors").await;
    p.drain(2, DRAIN).await;
    assert_eq!(p.slack.channels_posted_to(), ["C_MINOR"]);
    p.run("U0BOB", &format!("escalate {id} SEV-1")).await;
    p.drain(2, DRAIN).await;
    assert_eq!(p.slack.channels_posted_to(), ["C_CRIT", "C_EXEC", "C_MINOR"]);
    let minor = p.slack.top_level("C_MINOR");
    assert_eq!(minor.len(), 1, "the SEV-3 channel keeps its one message");
    assert_eq!(minor[0].edits, 1, "… which was edited");
    assert_eq!(minor[0].version, Some(2));
    assert!(minor[0].blocks.to_string().contains("SEV-1"));
    for channel in ["C_CRIT", "C_EXEC"] {
        let msgs = p.slack.top_level(channel);
        assert_eq!(msgs.len(), 1, "{channel}: a new post");
        assert_eq!(msgs[0].version, Some(2));
        let thread = p.slack.thread(channel, &msgs[0].ts);
        assert_eq!(thread.len(), 1, "{channel}: the escalation's line under the new post");
        assert!(thread[0].text.contains("chatops.escalate"), "{}", thread[0].text);
    }
    let thread = p.slack.thread("C_MINOR", &minor[0].ts);
    assert_eq!(thread.len(), 1);
    assert!(thread[0].text.contains("chatops.escalate"), "{}", thread[0].text);
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_change_edits_the_same_messages_and_threads_the_timeline() {
    let p = Pipeline::start(true).await;
    let id = p.declare("--sev SEV-2 --service checkout Card payments failing").await;
    p.drain(2, DRAIN).await;
    p.run("U0BOB", &format!("ack {id} \"Looking at the gateway\"")).await;
    p.run("U0BOB", &format!("assign {id} <@U0CAROL|carol>")).await;
    p.run("U0BOB", &format!("update {id} \"Failover started\"")).await;
    p.run("U0CAROL", &format!("resolve {id} \"Gateway restarted\"")).await;
    p.drain(2, DRAIN).await;

    let major = p.slack.top_level("C_MAJOR");
    assert_eq!(major.len(), 1, "no new top-level post where one exists");
    assert_eq!(major[0].version, Some(5), "the message shows the latest version");
    let rendered = major[0].blocks.to_string();
    assert!(rendered.contains("*Status:* Resolved"), "{rendered}");
    assert!(rendered.contains("<@U0CAROL>"), "assignee shown");
    assert!(rendered.contains("Time to acknowledge"), "resolution summary");
    let thread = p.slack.thread("C_MAJOR", &major[0].ts);
    let lines: Vec<&str> = thread.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(thread.len(), 4, "{lines:#?}");
    for kind in [
        "chatops.acknowledge",
        "chatops.assign",
        "chatops.update",
        "chatops.resolve",
    ] {
        assert!(lines.iter().any(|l| l.contains(kind)), "{kind} in thread: {lines:#?}");
    }
    assert!(lines.iter().any(|l| l.contains("Failover started")));
    // Resolution also goes to the channel the incident was declared in.
    let origin = p.slack.top_level("C_ORIGIN");
    assert_eq!(origin.len(), 1);
    assert!(origin[0].blocks.to_string().contains("Time to resolve"));
    let origin_thread = p.slack.thread("C_ORIGIN", &origin[0].ts);
    assert_eq!(origin_thread.len(), 1, "the resolution's line, with its note");
    assert!(
        origin_thread[0].text.contains("Gateway restarted"),
        "{}",
        origin_thread[0].text
    );
    assert_eq!(p.slack.rate_limited(), 0);
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_templates_fill_the_text_and_bad_ones_are_refused_with_line_and_field() {
    let p = Pipeline::start(true).await;
    let bad =
        serde_json::json!({"templates": {"incident_created": {"slack": "🔥 {{.Title}}\nSeverity: {{.Sevrity}}"}}});
    let err = p
        .stack
        .directory()
        .update("acme", Some(bad), None)
        .await
        .expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("incident_created.slack, line 2: unknown field `.Sevrity`"),
        "{message}"
    );
    let good = serde_json::json!({"templates": {"incident_created": {"slack": "🔥 *{{.ID}}* {{.Title}} on {{.Service}} ({{.Severity}})"}}});
    p.stack
        .directory()
        .update("acme", Some(good), None)
        .await
        .expect("valid template");
    let id = p.declare("--sev SEV-3 --service checkout Carts &lt;empty&gt;").await;
    p.drain(2, DRAIN).await;
    let message = &p.slack.top_level("C_MINOR")[0];
    let blocks = message.blocks.to_string();
    assert!(
        blocks.contains(&format!("🔥 *{id}* Carts &lt;empty&gt; on checkout (SEV-3)")),
        "{blocks}"
    );
    assert!(
        blocks.contains("\"im:ack\"") && blocks.contains("\"im:severity\""),
        "buttons and menus stay"
    );
    p.stack.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotated_bot_token_is_picked_up_without_a_restart() {
    let p = Pipeline::start(true).await;
    p.declare("--sev SEV-3 Before rotation").await;
    p.drain(2, DRAIN).await;
    assert_eq!(p.slack.top_level("C_MINOR").len(), 1);
    // Rotate: Slack now accepts only the new token; the secret is updated by an admin elsewhere.
    p.slack.with_token("xoxb-rotated");
    p.slack.revoke_token(im_tests::pipeline::BOT_TOKEN);
    p.stack
        .directory()
        .update("acme", Some(serde_json::json!({"bot_token": "xoxb-rotated"})), None)
        .await
        .expect("rotated");
    p.declare("--sev SEV-3 After rotation").await;
    p.drain(2, DRAIN).await;
    assert_eq!(
        p.slack.top_level("C_MINOR").len(),
        2,
        "delivered with the new token, same notifier"
    );
    assert!(p.dead_letters().await.is_empty());
    p.stack.teardown().await;
}
