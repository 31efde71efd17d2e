//! The product documentation's Quick Start and Troubleshooting sequences, run as written with the
//! real `im` binary (`make test` builds it) against the emulator, a fake Slack and the local
//! server, with the local server's address in place of the documentation's host. No output of
//! any step shows a secret.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use im_tests::pipeline::Pipeline;
use serde_json::{Value, json};

/// The documentation's example configuration, as written (no signing secret).
const DOC_CONFIG: &str = r#"{
  "bot_token": "xoxb-your-bot-token",
  "default_channel": "C1234567890",
  "enable_slash_commands": true,
  "enable_notifications": true,
  "notification_channels": {
    "SEV-1": "C_CRITICAL_INCIDENTS",
    "SEV-2": "C_MAJOR_INCIDENTS",
    "SEV-3": "C_MINOR_INCIDENTS",
    "SEV-4": "C_INFO_INCIDENTS"
  }
}"#;
const SIGNING_SECRET: &str = "documented-signing-secret-0123456789abcdef";

struct Im {
    binary: PathBuf,
    env_file: PathBuf,
    outputs: Vec<String>,
}

impl Im {
    /// Runs `im ARGS…` and returns (exit code, stdout + stderr).
    fn run(&mut self, args: &[&str]) -> (i32, String) {
        let output = Command::new(&self.binary)
            .arg("--env-file")
            .arg(&self.env_file)
            .args(args)
            .env_remove("IM_ENV_FILE")
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e} (make test builds it)", self.binary.display()));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        self.outputs.push(text.clone());
        (output.status.code().unwrap_or(-1), text)
    }
}

fn env_file(p: &Pipeline) -> PathBuf {
    let c = &p.stack.config;
    let url = |q: &Option<im_aws::config::QueueRef>| match q {
        Some(im_aws::config::QueueRef::Url(u)) => u.clone(),
        _ => String::new(),
    };
    let text = format!(
        "AWS_ENDPOINT_URL={}\nAWS_REGION=us-east-1\nTABLE_NAME={}\nINCIDENT_EVENTS_QUEUE_URL={}\nDELIVERIES_QUEUE_URL={}\n\
         DELIVERIES_DLQ_URL={}\nINTERACTION_WORK_QUEUE_URL={}\nSECRETS_PREFIX={}\nSLACK_API_URL={}\nSLACK_POST_INTERVAL_MS=0\n",
        im_tests::endpoint(),
        c.table_name,
        url(&c.incident_events_queue),
        url(&c.deliveries_queue),
        url(&c.deliveries_dlq),
        url(&c.interaction_work_queue),
        c.secrets_prefix,
        p.slack.api_url,
    );
    let path = std::env::temp_dir().join(format!("im-documented-{}.env", p.stack.name));
    std::fs::write(&path, text).expect("env file");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_start_and_troubleshooting_work_as_written() {
    let p = Pipeline::start(true).await;
    p.slack.with_token("xoxb-your-bot-token").with_channels(&[
        "C1234567890",
        "C_CRITICAL_INCIDENTS",
        "C_MAJOR_INCIDENTS",
        "C_MINOR_INCIDENTS",
        "C_INFO_INCIDENTS",
    ]);
    // The server reads provider records without the functions' 30-s cache, so the steps'
    // configuration changes (roles included) apply to the next request.
    let mut config = p.clients.config().clone();
    config.providers_ttl = std::time::Duration::ZERO;
    let clients = Arc::new(im_aws::AwsClients::new(config));
    let platforms = im_platforms::registry(clients.config());
    let gateway = Arc::new(im_webhook::aws::gateway(
        clients,
        Arc::new(im_core::SystemClock),
        platforms,
    ));
    let app = im::serve::app(gateway);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut im = Im {
        binary: im_tests::repo_root().join("target/debug/im"),
        env_file: env_file(&p),
        outputs: Vec::new(),
    };

    // Quick Start, step 1: the JSON configuration as written.
    let (code, out) = im.run(&["chatops", "add", "slack", "company-slack", "--config", DOC_CONFIG]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("✓ Added slack provider `company-slack`"), "{out}");
    assert!(out.contains("Notifications begin within 30 s"), "{out}");
    assert!(
        out.contains("Roles: people without a mapping are viewers (rbac.default_role)"),
        "a new provider says who may act: {out}"
    );
    assert!(
        out.contains("refused until signing_secret is added"),
        "the missing secret is said: {out}"
    );
    // Step 2: test. Everything Slack can answer is ✓; inbound requests wait for the secret.
    let (code, out) = im.run(&["chatops", "test", "company-slack"]);
    for line in [
        "✓ Connected to Slack workspace",
        "✓ Bot permissions verified",
        "✓ Default channel accessible",
        "✗ Slash commands configured — signing_secret is not set",
    ] {
        assert!(out.contains(line), "`{line}` in:\n{out}");
    }
    assert_eq!(code, 1, "a ✗ exits non-zero");
    // Step 3: a test notification for the documentation's INC-12345.
    let (code, out) = im.run(&["chatops", "notify", "company-slack", "INC-12345"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("sent a card marked TEST"), "{out}");
    let card = p.slack.top_level("C1234567890").pop().expect("the test card");
    assert!(card.text.contains("[TEST] INC-12345"), "{}", card.text);

    // The secret arrives; the slash command is then configured as soon as a request is seen.
    let patch = json!({"signing_secret": SIGNING_SECRET, "team_id": "T0FAKE"}).to_string();
    let (code, out) = im.run(&["chatops", "update", "company-slack", "--config", &patch]);
    assert_eq!(code, 0, "{out}");

    // Troubleshooting, "Commands Not Working": /im help, test, the ping.
    let (code, out) = im.run(&[
        "chatops",
        "slash",
        "--provider",
        "company-slack",
        "--url",
        &base,
        "help",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("/im declare"), "{out}");
    let (code, out) = im.run(&["chatops", "test", "company-slack"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("✓ Slash commands configured"), "{out}");
    let pong: Value = im::http_client()
        .expect("client")
        .post(format!("{base}/chatops/company-slack"))
        .header("content-type", "application/json")
        .body(r#"{"type": "ping"}"#)
        .send()
        .await
        .expect("ping")
        .json()
        .await
        .expect("json");
    assert_eq!(pong["type"], "pong");
    assert_eq!(pong["provider"], "company-slack");

    // "Notifications Not Sent": test, channels, config.
    let (code, out) = im.run(&["chatops", "channels", "--provider", "company-slack"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("#c_critical_incidents") && out.contains("✓"), "{out}");
    let (code, out) = im.run(&["chatops", "config", "--provider", "company-slack"]);
    assert_eq!(code, 0, "{out}");
    let config: Value = serde_json::from_str(&out).expect("config is JSON");
    assert_eq!(
        config["routing"]["SEV-1"]["declared"],
        json!(["C_CRITICAL_INCIDENTS (severity)"])
    );
    assert_eq!(config["secret_keys"], json!(["bot_token", "signing_secret"]));

    // "Interactive Elements Not Responding": a simple interaction, clicked locally.
    let (code, out) = im.run(&[
        "chatops",
        "interact-test",
        "company-slack",
        "--local",
        "--url",
        &base,
        "--timeout",
        "20",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("✓ Interactive elements work"), "{out}");

    // Debug commands.
    let (code, out) = im.run(&["chatops", "status"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("company-slack") && l.contains("ready") && l.contains("seen")),
        "{out}"
    );
    let (code, out) = im.run(&["chatops", "webhooks", "--recent", "10"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("company-slack") && out.contains("answered"), "{out}");
    let (code, out) = im.run(&["chatops", "test-notifications", "--provider", "company-slack"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("✓ C_CRITICAL_INCIDENTS (posted, edited, deleted)"),
        "{out}"
    );
    // The identity test-commands acts as gets a role (a new provider's default is viewer).
    let (code, out) = im.run(&[
        "rbac",
        "set",
        "company-slack:U0IMCLI",
        "responder",
        "--automation",
        "test-commands",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("✓ company-slack:U0IMCLI (automation test-commands) is a responder"),
        "{out}"
    );
    let (code, out) = im.run(&[
        "chatops",
        "test-commands",
        "--provider",
        "company-slack",
        "--url",
        &base,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 failed"), "{out}");

    // Who may do what: the README's `im rbac` and `im audit`.
    let (code, out) = im.run(&["rbac", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("company-slack:U0IMCLI") && out.contains("test-commands"),
        "{out}"
    );
    let (code, out) = im.run(&["rbac", "check", "company-slack:U0IMCLI", "declare"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("✓ company-slack:U0IMCLI may run `declare` (as responder)"),
        "{out}"
    );
    let (code, out) = im.run(&["rbac", "check", "company-slack:U0NOBODY", "ack"]);
    assert_eq!(code, 3, "refused: {out}");
    assert!(
        out.contains("✗ company-slack:U0NOBODY may not run `ack`: You need the responder role"),
        "{out}"
    );
    let policy = std::env::temp_dir().join(format!("im-documented-{}-rbac.json", p.stack.name));
    std::fs::write(
        &policy,
        r#"{"company-slack": {"default_role": "viewer", "commands": {"close": "commander"},
            "users": {"U0IMCLI": {"role": "responder", "automation": "test-commands"}, "U0LEAD": "commander"}}}"#,
    )
    .expect("policy file");
    let (code, out) = im.run(&["rbac", "apply", policy.to_str().expect("path")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("✓ company-slack: default viewer, 2 mappings"), "{out}");
    std::fs::write(&policy, r#"{"company-slack": {"commands": {"clsoe": "commander"}}}"#).expect("policy file");
    let (code, out) = im.run(&["rbac", "apply", policy.to_str().expect("path")]);
    assert_ne!(code, 0, "a typo is refused: {out}");
    assert!(out.contains("`clsoe` is not a command"), "{out}");
    let (code, out) = im.run(&["rbac", "default", "company-slack", "responder"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = im.run(&["audit", "--json"]);
    assert_eq!(code, 0, "{out}");
    let audit: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let changes: Vec<&str> = audit
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["event_type"] == "chatops.rbac_changed")
        .filter_map(|e| e["data"]["change"].as_str())
        .collect();
    assert_eq!(changes.len(), 3, "{out}");
    assert!(changes[1].starts_with("applied a policy file"), "{changes:?}");

    // Teams, as the README's "Teams" shows.
    let (code, out) = im.run(&[
        "team",
        "set",
        "payments",
        "--services",
        "payments,checkout",
        "--members",
        "slack:U0ANN=Ann,slack:U0BOB=Bob",
        "--channel",
        "company-slack:C_CRITICAL_INCIDENTS",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("✓ Team `payments`: 2 service(s), 2 member(s), summaries to company-slack:C_CRITICAL_INCIDENTS"),
        "{out}"
    );
    let (code, out) = im.run(&["team", "set", "web", "--services", "checkout"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("`checkout` is owned by team `payments`"), "{out}");
    let (code, out) = im.run(&["team", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("payments") && out.contains("slack:U0ANN=Ann"), "{out}");
    let (code, out) = im.run(&["team", "remove", "payments"]);
    assert_eq!((code, out.contains("✓ Removed team `payments`")), (0, true), "{out}");

    // Logging & Debugging: recent ChatOps events, provider health.
    let (code, out) = im.run(&["timeline", "--source", "chatops", "--limit", "20"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("chatops.declare") && out.contains("chatops.close"),
        "{out}"
    );
    let (code, out) = im.run(&["chatops", "health", "--provider", "company-slack"]);
    assert!(out.contains("✓ Credentials valid"), "{out}");
    assert!(code == 0 || out.contains('✗'), "{out}");

    // Every listing also speaks JSON (`--output json`, `--json` as an alias).
    for (args, check) in [
        (vec!["chatops", "list", "--output", "json"], "/0/name"),
        (vec!["chatops", "list", "--json"], "/0/platform"),
        (vec!["chatops", "status", "--output", "json"], "/0/inbound"),
        (
            vec!["chatops", "test", "company-slack", "--output", "json"],
            "/0/verdict",
        ),
        (
            vec!["chatops", "channels", "--provider", "company-slack", "--output", "json"],
            "/0/can_post",
        ),
        (
            vec!["chatops", "webhooks", "--recent", "3", "--output", "json"],
            "/0/verdict",
        ),
        (
            vec!["chatops", "health", "--provider", "company-slack", "--output", "json"],
            "/company-slack/0/check",
        ),
        (vec!["chatops", "stats", "--output", "json"], "/total_commands"),
        (
            vec!["timeline", "--source", "chatops", "--limit", "3", "--output", "json"],
            "/0/incident_id",
        ),
        (vec!["chatops", "dlq", "list", "--output", "json"], ""),
    ] {
        let (code, out) = im.run(&args);
        let value: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"));
        assert!(
            check.is_empty() || value.pointer(check).is_some(),
            "{args:?} lacks {check}: {out}"
        );
        assert!(code == 0 || args.contains(&"health"), "{args:?} exited {code}");
    }

    // Errors go to stderr with a non-zero exit and a message a person understands.
    let (code, out) = im.run(&["chatops", "test", "no-such-provider"]);
    assert_eq!(code, 1);
    assert!(out.contains("error: provider `no-such-provider` not found"), "{out}");
    let (code, out) = im.run(&[
        "chatops",
        "add",
        "slack",
        "typo",
        "--config",
        r#"{"defualt_channel": "C1"}"#,
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("defualt_channel"), "the unknown key is named: {out}");
    let (code, out) = im.run(&["chatops", "remove", "company-slack"]);
    assert_eq!(code, 1, "no terminal to confirm on");
    assert!(out.contains("--yes"), "{out}");

    let everything = im.outputs.join("\n");
    for secret in ["xoxb-your-bot-token", SIGNING_SECRET] {
        assert!(!everything.contains(secret), "an output shows {secret}");
    }
    let _ = std::fs::remove_file(&im.env_file);
    p.stack.teardown().await;
}

/// `im chatops add` without `--config` asks on the terminal: secrets without echo (what is typed
/// never appears on the screen), then the default channel, the switches and a channel per
/// severity; the answers make the provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interactive_add_hides_secrets_on_a_real_terminal() {
    let p = Pipeline::start(true).await;
    let env = env_file(&p);
    let binary = im_tests::repo_root().join("target/debug/im");
    let command = format!(
        "{} --env-file {} chatops add slack pty-slack",
        binary.display(),
        env.display()
    );
    let screen = tokio::task::spawn_blocking(move || {
        let mut session = rexpect::spawn(&command, Some(30_000)).expect("spawned in a pseudo-terminal");
        let mut screen = String::new();
        let mut step = |prompt: &str, answer: &str| {
            screen.push_str(&session.exp_string(prompt).expect(prompt));
            session.send_line(answer).expect("typed");
        };
        // rexpect reads the screen as Latin-1: the prompts are matched on their ASCII parts.
        step("(not shown): ", "xoxb-test-bot-token");
        step("(not shown): ", "pty-signing-secret-0123456789abcdef01");
        step("Default channel ID: ", "C_GENERAL");
        step("Enable slash commands? [Y/n]: ", "");
        step("Enable notifications? [Y/n]: ", "y");
        step("Channel for SEV-1 (blank: the default channel): ", "C_CRIT");
        step("Channel for SEV-2 (blank: the default channel): ", "");
        step("Channel for SEV-3 (blank: the default channel): ", "");
        step("Channel for SEV-4 (blank: the default channel): ", "");
        screen.push_str(&session.exp_eof().expect("finished"));
        screen
    })
    .await
    .expect("pty session");
    assert!(screen.contains("Added slack provider `pty-slack`"), "{screen}");
    assert!(
        screen.contains("Bot token (xoxb-") && screen.contains("Signing secret"),
        "{screen}"
    );
    assert!(
        !screen.contains("xoxb-test-bot-token"),
        "the token was echoed: {screen}"
    );
    assert!(
        !screen.contains("pty-signing-secret"),
        "the secret was echoed: {screen}"
    );
    let added = p
        .stack
        .directory()
        .provider("pty-slack")
        .await
        .expect("read")
        .expect("added");
    assert_eq!(added.config.default_channel.as_deref(), Some("C_GENERAL"));
    assert_eq!(
        added.config.notification_channels.get("SEV-1").map(String::as_str),
        Some("C_CRIT")
    );
    assert!(added.config.enable_slash_commands && added.config.enable_notifications);
    assert!(
        p.stack.directory().inbound_gaps(&added).await.expect("gaps").is_empty(),
        "the signing secret was stored"
    );
    let _ = std::fs::remove_file(&env);
    p.stack.teardown().await;
}

/// `im oncall set|show|override` against the emulator, through the real binary: the rotation
/// hands over at 09:00 Berlin, an override wins for its period, bad input is refused with why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oncall_rotations_are_set_shown_and_overridden() {
    let p = Pipeline::start(true).await;
    let mut im = Im {
        binary: im_tests::repo_root().join("target/debug/im"),
        env_file: env_file(&p),
        outputs: Vec::new(),
    };
    let (code, out) = im.run(&["oncall", "show", "payments"]);
    assert_ne!(code, 0);
    assert!(out.contains("has no rotation yet"), "{out}");
    let (code, out) = im.run(&[
        "oncall",
        "set",
        "payments",
        "--participants",
        "slack:U0ANN,slack:U0BOB",
        "--handoff",
        "09:00",
        "--shift-hours",
        "168",
        "--timezone",
        "Europe/Berlin",
        "--start",
        "2026-10-19",
    ]);
    assert_eq!(code, 0, "{out}");
    let (_, out) = im.run(&["oncall", "show", "payments", "--at", "2026-10-26T07:59:00Z"]);
    assert!(
        out.contains("On call for payments: slack:U0ANN until Mon 2026-10-26 09:00 CET"),
        "{out}"
    );
    let (_, out) = im.run(&["oncall", "show", "payments", "--at", "2026-10-26T08:00:00Z"]);
    assert!(out.contains("On call for payments: slack:U0BOB"), "{out}");
    let (code, out) = im.run(&[
        "oncall",
        "override",
        "payments",
        "--user",
        "slack:U0DAN",
        "--from",
        "2099-12-24T18:00:00Z",
        "--to",
        "2099-12-26T08:00:00Z",
    ]);
    assert_eq!(code, 0, "{out}");
    let (_, out) = im.run(&["oncall", "show", "payments", "--at", "2099-12-25T12:00:00Z"]);
    assert!(out.contains("slack:U0DAN (override)"), "{out}");
    let (code, out) = im.run(&["oncall", "set", "payments", "--participants", "U0ANN"]);
    assert_ne!(code, 0);
    assert!(out.contains("is not a chat identity"), "{out}");
    let (code, out) = im.run(&[
        "oncall",
        "set",
        "payments",
        "--participants",
        "slack:U1",
        "--timezone",
        "Mars/Base",
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("not a known time zone"), "{out}");
    p.stack.teardown().await;
}

/// The README's `--config` JSON of the `im chatops update company-slack` example that starts
/// with `start` (e.g. `{"actions"`), as written.
fn readme_config(start: &str) -> String {
    let readme = std::fs::read_to_string(im_tests::repo_root().join("README.md")).expect("README");
    let marker = format!("./im chatops update company-slack --config '{start}");
    let at = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("the README shows `{marker}`"));
    let json = &readme[at + marker.len() - start.len()..];
    json[..json.find('\'').expect("closing quote")].to_string()
}

/// "Custom commands": the deploy workflow and the custom actions, configured with the README's
/// JSON through the binary; the actions no workflow answers are named, a bad one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_custom_actions_are_configured_as_written() {
    let p = Pipeline::start(true).await;
    let mut im = Im {
        binary: im_tests::repo_root().join("target/debug/im"),
        env_file: env_file(&p),
        outputs: Vec::new(),
    };
    let (code, out) = im.run(&[
        "chatops",
        "update",
        "acme",
        "--config",
        &readme_config(r#"{"workflows": {"deploy""#),
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = im.run(&["chatops", "update", "acme", "--config", &readme_config(r#"{"actions""#)]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("actions.rollback"), "deploy is a workflow: {out}");
    for (id, command) in [("handover", "handover"), ("page", "page")] {
        assert!(
            out.contains(&format!(
                "! actions.{id} runs `{command}`, which is not one of this provider's workflows"
            )),
            "{out}"
        );
    }
    let acme = p.stack.directory().provider("acme").await.expect("read").expect("acme");
    let ids: Vec<&str> = acme.config.actions.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["rollback", "handover", "page"]);
    let (code, out) = im.run(&[
        "chatops",
        "update",
        "acme",
        "--config",
        r#"{"actions": [{"id": "x", "label": "Go", "command": "close"}]}"#,
    ]);
    assert_ne!(code, 0);
    assert!(out.contains("actions.x: `close` is a built-in command"), "{out}");
    let kept = p.stack.directory().provider("acme").await.expect("read").expect("acme");
    assert_eq!(kept.config.actions.len(), 3, "nothing written");
    p.stack.teardown().await;
}
