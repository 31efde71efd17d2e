//! Custom commands on every platform: workflow commands by configuration (GitHub's
//! `repository_dispatch` preset and a signed generic receiver, both local fakes), their result
//! in the chat and on the timeline, failures said plainly, the access gate; and commands
//! registered in code, which see the incident and its timeline.

use std::sync::{Arc, Mutex};

use im_core::Reply;
use im_core::action::{ActionKey, ActionRef};
use im_core::incident::IncidentId;
use im_core::ports::IncidentStore;
use im_core::service::{CustomCall, CustomCommand};
use im_tests::discord_under_test::DiscordUnderTest;
use im_tests::echo_fake::EchoUnderTest;
use im_tests::slack_under_test::SlackUnderTest;
use im_tests::world::{UnderTest, World};
use serde_json::{Value, json};

const GITHUB_TOKEN: &str = "github_pat_TEST_never_shown";
const HOOK_SECRET: &str = "hook-secret-5f0c2a";

/// One request the fake received.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: http::HeaderMap,
    body: Value,
    raw: bytes::Bytes,
}

/// GitHub's dispatches endpoint and a generic receiver, answering what they are told.
struct Receiver {
    base: String,
    got: Arc<Mutex<Vec<Received>>>,
    answer: Arc<Mutex<(u16, String)>>,
}

impl Receiver {
    async fn start() -> Self {
        use axum::extract::State;
        use axum::response::IntoResponse;
        type Shared = (Arc<Mutex<Vec<Received>>>, Arc<Mutex<(u16, String)>>);
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let answer = Arc::new(Mutex::new((204, String::new())));
        let app =
            axum::Router::new()
                .fallback(
                    |State((got, answer)): State<Shared>,
                     uri: http::Uri,
                     headers: http::HeaderMap,
                     raw: bytes::Bytes| async move {
                        got.lock().expect("lock").push(Received {
                            path: uri.path().to_string(),
                            headers,
                            body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
                            raw,
                        });
                        let (status, body) = answer.lock().expect("lock").clone();
                        (http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK), body).into_response()
                    },
                )
                .with_state((got.clone(), answer.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://127.0.0.1:{}", addr.port()),
            got,
            answer,
        }
    }

    fn answer(&self, status: u16, body: &str) {
        *self.answer.lock().expect("lock") = (status, body.to_string());
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    fn config(&self) -> Value {
        json!({
            "rbac": {"default_role": "responder", "users": {"U0VIEWER": "viewer"}},
            "workflows": {
                "deploy": {"github": {"repository": "acme/deploy-pipeline", "event_type": "chatops-deploy", "api_url": self.base},
                           "token": GITHUB_TOKEN, "usage": "SERVICE [VERSION]", "summary": "Deploy a service"},
                "runbook": {"url": format!("{}/hooks/chatops", self.base), "secret": HOOK_SECRET,
                            "usage": "NAME", "summary": "Start a runbook"}
            }
        })
    }
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

pub async fn workflow_commands(p: Arc<dyn UnderTest>) {
    let receiver = Receiver::start().await;
    let w = World::new(p.clone(), receiver.config());
    let id = w
        .declare("U0ALICE", "--sev SEV-2 --service checkout Checkout errors")
        .await;

    // `help` lists them with their usage.
    let help = w.command("U0ALICE", "help").await;
    assert!(
        help.text.contains("deploy SERVICE [VERSION]") && help.text.contains("Deploy a service"),
        "{help:?}"
    );
    assert!(
        help.text.contains("runbook NAME") && help.text.contains("Start a runbook"),
        "{help:?}"
    );

    // GitHub's preset: queued at once, sent by the worker, reported in the chat and on the timeline.
    let queued = w.command("U0ALICE", &format!("deploy checkout v2.3 {id}")).await;
    assert!(
        queued.private && queued.text.contains("`deploy` is on its way"),
        "{queued:?}"
    );
    assert!(
        receiver.got().is_empty(),
        "nothing is sent inside the platform's deadline"
    );
    let queued = w.work.take();
    assert_eq!(queued.len(), 1);
    // The queue may deliver an item twice: the workflow is sent once.
    for _ in 0..2 {
        w.gateway.run_work(&queued[0]).await.expect("work");
    }
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/repos/acme/deploy-pipeline/dispatches");
    assert_eq!(header(&got[0], "authorization"), format!("Bearer {GITHUB_TOKEN}"));
    assert_eq!(header(&got[0], "accept"), "application/vnd.github+json");
    assert_eq!(
        got[0].body,
        json!({"event_type": "chatops-deploy", "client_payload": {
            "service": "checkout", "args": ["v2.3"], "incident_id": id,
            "user": {"id": "U0ALICE", "name": got[0].body["client_payload"]["user"]["name"]}, "channel": "C_ORIGIN"}})
    );
    assert!(
        !header(&got[0], "x-im-delivery").is_empty(),
        "a delivery id for the receiver"
    );
    assert!(
        p.follow_ups()
            .iter()
            .any(|f| f.contains("Deployment initiated for checkout")),
        "{:?}",
        p.follow_ups()
    );
    let run = w
        .entries(&id, "chatops.workflow")
        .await
        .into_iter()
        .next()
        .expect("on the timeline");
    assert_eq!(run.actor, "chatops:U0ALICE");
    assert_eq!(run.data["workflow"], "deploy");
    assert_eq!(run.data["ok"], true);
    assert_eq!(run.data["status"], 204);
    assert!(
        run.data["command"]
            .as_str()
            .is_some_and(|c| c.contains("deploy checkout v2.3"))
    );
    assert_eq!(
        w.incident(&id).await.version,
        1,
        "a workflow run changes no incident state"
    );

    // A generic receiver: signed, the documented payload, its own words back.
    receiver.answer(200, r#"{"text": "Runbook db-failover started: <!channel> run 42"}"#);
    let queued = w.command("U0BOB", "run runbook db-failover").await;
    assert!(queued.text.contains("`runbook` is on its way"), "{queued:?}");
    w.run_work().await;
    let got = receiver.got();
    let hook = &got[1];
    assert_eq!(hook.path, "/hooks/chatops");
    assert!(
        im_core::access::signature_matches(HOOK_SECRET, &hook.raw, header(hook, "x-im-signature-256")),
        "signed with the workflow's secret"
    );
    assert_eq!(hook.body["command"], "runbook");
    assert_eq!(hook.body["service"], "db-failover");
    assert_eq!(hook.body["provider"], "acme");
    assert_eq!(hook.body["platform"], p.name());
    assert_eq!(hook.body["delivery"], header(hook, "x-im-delivery"));
    assert!(
        p.follow_ups()
            .iter()
            .any(|f| f.contains("Runbook db-failover started: <!channel> run 42"))
    );
    let raw = p.follow_ups_raw();
    let started = raw
        .iter()
        .find(|f| f.contains("Runbook") && f.contains("run 42"))
        .expect("the receiver's words");
    assert!(
        p.live_markup(started).is_empty(),
        "the receiver's text is data: {started}"
    );
    let today = im_core::Clock::now(&im_core::SystemClock).date();
    let audit = w.store.audit_day(today).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.event_type == "chatops.workflow" && e.data["workflow"] == "runbook"),
        "without an incident, the run is in the audit partition: {audit:#?}"
    );

    // Failures are said plainly, privately.
    receiver.answer(404, r#"{"message": "Not Found"}"#);
    w.command("U0ALICE", &format!("deploy payments {id}")).await;
    w.run_work().await;
    let said = p.follow_ups();
    assert!(
        said.iter()
            .any(|f| f.contains("`deploy` failed: the workflow answered HTTP 404")
                && f.contains("Contents read and write permission")
                && f.contains("Not Found")),
        "{said:?}"
    );
    let failed = w
        .entries(&id, "chatops.workflow")
        .await
        .into_iter()
        .last()
        .expect("recorded");
    assert_eq!(
        (failed.data["ok"].as_bool(), failed.data["status"].as_u64()),
        (Some(false), Some(404))
    );

    // The gate: a viewer may not start one; the refusal is on the timeline, nothing is sent.
    let before = receiver.got().len();
    let refused = w.command("U0VIEWER", &format!("deploy checkout {id}")).await;
    assert!(
        refused
            .text
            .contains("You need the responder role to run `custom:deploy`"),
        "{refused:?}"
    );
    w.run_work().await;
    assert_eq!(receiver.got().len(), before, "nothing sent for a refused person");
    assert_eq!(w.count(&id, "chatops.denied").await, 1);

    // Tokens never reach a chat.
    for text in p.follow_ups() {
        assert!(!text.contains(GITHUB_TOKEN) && !text.contains(HOOK_SECRET), "{text}");
    }
}

/// A command registered in code: async, sees the incident and its timeline, listed in `help`,
/// and run on every platform (on Discord through `/im run`).
struct Handover;

impl CustomCommand for Handover {
    fn summary(&self) -> &str {
        "Summarise an incident for the next shift"
    }
    fn usage(&self) -> &str {
        "INCIDENT-ID"
    }
    fn changes(&self) -> bool {
        false
    }
    fn run<'a>(&'a self, call: CustomCall<'a>) -> im_core::chat::BoxFuture<'a, Reply> {
        Box::pin(async move {
            let text = match call.incident {
                Some(i) => format!(
                    "Handover {}: {} ({}), {} timeline entries, last: {}",
                    i.id,
                    i.title,
                    i.status,
                    call.timeline.len(),
                    call.timeline.last().map(|e| e.event_type.as_str()).unwrap_or("-")
                ),
                None => "Name an incident: handover INC-…".into(),
            };
            Reply::Text {
                text,
                in_channel: false,
            }
        })
    }
}

pub async fn registered_commands(p: Arc<dyn UnderTest>) {
    let w = World::new_with(p.clone(), json!({}), |service| {
        service
            .register_command("handover", Arc::new(Handover))
            .expect("registers");
    });
    let id = w.declare("U0ALICE", "--sev SEV-3 Queue backlog").await;
    w.command("U0BOB", &format!("ack {id} looking")).await;
    let shown = w.command("U0CAROL", &format!("handover {id}")).await;
    assert!(
        shown.text.contains(&format!(
            "Handover {id}: Queue backlog (Acknowledged), 2 timeline entries, last: chatops.acknowledge"
        )),
        "{shown:?}"
    );
    let help = w.command("U0CAROL", "help").await;
    assert!(help.text.contains("handover INCIDENT-ID"), "{help:?}");
}

/// A command that changes something (it pages people), run from a card's menu.
struct Page(Arc<Mutex<Vec<Vec<String>>>>);

impl CustomCommand for Page {
    fn summary(&self) -> &str {
        "Page a team about an incident"
    }
    fn usage(&self) -> &str {
        "INCIDENT-ID TEAM"
    }
    fn run<'a>(&'a self, call: CustomCall<'a>) -> im_core::chat::BoxFuture<'a, Reply> {
        self.0.lock().expect("lock").push(call.args.to_vec());
        let text = format!(
            "Paged {} about {}",
            call.args.last().map(String::as_str).unwrap_or("?"),
            call.incident.map(|i| i.id.to_string()).unwrap_or_default()
        );
        Box::pin(async move {
            Reply::Text {
                text,
                in_channel: false,
            }
        })
    }
}

/// A provider's own buttons and menus on the card, pressed as rendered on the platform: a
/// command registered in code, a workflow, a menu option; where the platform's rows are full
/// (Discord) they wait behind "More…", beside the status choices they displaced.
pub async fn custom_buttons(p: Arc<dyn UnderTest>) {
    let receiver = Receiver::start().await;
    let mut config = receiver.config();
    config["actions"] = json!([
        {"id": "handover", "label": "Handover", "command": "handover"},
        {"id": "rollback", "label": "Roll back", "style": "danger", "command": "deploy", "args": ["{service}", "rollback"]},
        {"id": "page", "label": "Page", "command": "page",
         "options": [{"label": "DBA on call", "value": "dba"}, {"label": "Network", "value": "network"}]},
        {"id": "cto", "label": "Call the CTO", "command": "page", "severities": ["SEV-1"]}
    ]);
    let paged: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
    let said = |clicked: &im_tests::world::Clicked| clicked.private.clone().unwrap_or_default();
    let w = World::new_with(p.clone(), config, |service| {
        service
            .register_command("handover", Arc::new(Handover))
            .expect("registers");
        service
            .register_command("page", Arc::new(Page(paged.clone())))
            .expect("registers");
    });
    let id = w
        .declare("U0ALICE", "--sev SEV-2 --service checkout Checkout errors")
        .await;
    w.drain().await;
    let card = p.top_level("C_MAJOR").into_iter().last().expect("the card");
    let full = p.name() == "discord";
    assert_eq!(
        card.actions.contains(&"im:more".to_string()),
        full,
        "More… only where the rows are full: {:?}",
        card.actions
    );
    assert!(
        p.press("U0BOB", "C_MAJOR", &card, "Call the CTO").is_none(),
        "a SEV-1 action is not on a SEV-2's card"
    );

    // A command registered in code.
    let handed = w.press("U0BOB", "C_MAJOR", &card, "Handover").await;
    assert!(
        said(&handed).contains(&format!("Handover {id}: Checkout errors (Open)")),
        "{handed:?}"
    );

    // A workflow, with the incident's service.
    let rolled = w.press("U0BOB", "C_MAJOR", &card, "Roll back").await;
    assert!(said(&rolled).contains("`deploy` is on its way"), "{rolled:?}");
    w.run_work().await;
    let got = receiver.got();
    assert_eq!(got.len(), 1, "sent once");
    assert_eq!(got[0].path, "/repos/acme/deploy-pipeline/dispatches");
    let payload = &got[0].body["client_payload"];
    assert_eq!(
        (
            &payload["service"],
            &payload["args"],
            &payload["incident_id"],
            &payload["user"]["id"]
        ),
        (&json!("checkout"), &json!(["rollback"]), &json!(id), &json!("U0BOB"))
    );
    assert!(
        p.follow_ups()
            .iter()
            .any(|f| f.contains("Deployment initiated for checkout")),
        "{:?}",
        p.follow_ups()
    );
    let run = w
        .entries(&id, "chatops.workflow")
        .await
        .into_iter()
        .next()
        .expect("the run on the timeline");
    assert_eq!(
        (run.actor.as_str(), run.data["command"].as_str()),
        ("chatops:U0BOB", Some(format!("[rollback] {id}").as_str()))
    );

    // A menu option (on Discord, behind More… with the menu's name).
    let option = if full { "Page: DBA on call" } else { "DBA on call" };
    let paging = w.press("U0CAROL", "C_MAJOR", &card, option).await;
    assert!(said(&paging).contains(&format!("Paged dba about {id}")), "{paging:?}");
    assert_eq!(*paged.lock().expect("lock"), [vec![id.clone(), "dba".to_string()]]);
    let custom = w.entries(&id, "chatops.custom").await;
    assert_eq!(custom.len(), 1, "the change is audited, the handover (a read) is not");
    assert_eq!(custom[0].data["command"], format!("[page:dba] {id}"));
    assert_eq!(custom[0].actor, "chatops:U0CAROL");

    // A built-in choice works wherever it is (Discord: inside More…).
    w.press("U0BOB", "C_MAJOR", &card, "Resolve").await;
    assert_eq!(w.incident(&id).await.status, im_core::Status::Resolved);

    // The same gate as typing: a viewer may not start the workflow.
    let refused = w.press("U0VIEWER", "C_MAJOR", &card, "Roll back").await;
    assert!(
        said(&refused).contains("You need the responder role to run `custom:deploy`"),
        "{refused:?}"
    );
    w.run_work().await;
    assert_eq!(receiver.got().len(), 1, "nothing sent for a refused person");

    // A button the provider no longer has (an old card) is refused plainly.
    let gone = ActionRef::new(
        ActionKey::Custom,
        IncidentId::parse(&id).expect("id"),
        Some("gone".into()),
    );
    let old = w.click("U0BOB", "C_MAJOR", &card.id, &gone).await;
    assert!(said(&old).contains("`gone` is not offered on this incident"), "{old:?}");
}

macro_rules! workflows_for {
    ($platform:ident, $start:expr) => {
        mod $platform {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn workflow_commands() {
                super::workflow_commands($start.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn registered_commands() {
                super::registered_commands($start.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn custom_buttons() {
                super::custom_buttons($start.await).await;
            }
        }
    };
}

workflows_for!(slack, async { SlackUnderTest::start().await as Arc<dyn UnderTest> });
workflows_for!(discord, async { DiscordUnderTest::start().await as Arc<dyn UnderTest> });
workflows_for!(echo, async { EchoUnderTest::start().await as Arc<dyn UnderTest> });

/// On the emulator: the workflow's token goes to Secrets Manager (never the table), a signed
/// Slack slash command queues the run on SQS, the worker sends it, and the result is a
/// `chatops.workflow` entry in DynamoDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_through_sqs_and_the_worker_on_the_emulator() {
    let receiver = Receiver::start().await;
    let p = im_tests::pipeline::Pipeline::start(false).await;
    let patch = json!({"workflows": receiver.config()["workflows"].clone()});
    let updated = p
        .stack
        .directory()
        .update("acme", Some(patch), None)
        .await
        .expect("workflows configured");
    assert!(updated.config.workflows.contains_key("deploy"));
    let stored = p.stack.store().get_provider("acme").await.expect("read").expect("acme");
    let record = serde_json::to_string(&stored).expect("JSON");
    assert!(
        !record.contains(GITHUB_TOKEN) && !record.contains(HOOK_SECRET),
        "no credential in the table"
    );
    let secrets = im_aws::secrets::SecretCache::new(p.clients.clone())
        .read_raw(&stored.secret_name)
        .await
        .expect("secret")
        .expect("exists");
    assert_eq!(secrets.get("workflow:deploy").map(String::as_str), Some(GITHUB_TOKEN));

    let id = p.declare("--sev SEV-2 --service checkout Checkout errors").await;
    let webhook = p.webhook();
    let (status, answer) = p
        .post_signed(
            &webhook,
            &[
                ("command", "/im"),
                ("text", &format!("deploy checkout v2.3 {id}")),
                ("user_id", "U0ALICE"),
                ("channel_id", "C_ORIGIN"),
                ("team_id", "T0FAKE"),
                ("trigger_id", "trig.workflow.1"),
                ("response_url", &format!("{}trig.workflow.1", p.slack.response_prefix)),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(answer.to_string().contains("is on its way"), "{answer}");
    let gateway = p.gateway();
    assert_eq!(p.stack.run_queued_work(&gateway).await, 1);
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["client_payload"]["incident_id"], json!(id));
    let said = p.slack.responses();
    assert!(
        said.get("trig.workflow.1").is_some_and(|r| r
            .iter()
            .any(|b| b.to_string().contains("Deployment initiated for checkout"))),
        "{said:?}"
    );
    let entries = p
        .stack
        .store()
        .timeline(&im_core::IncidentId::parse(&id).expect("id"), 20)
        .await
        .expect("timeline");
    let run = entries
        .iter()
        .find(|e| e.event_type == "chatops.workflow")
        .expect("recorded in DynamoDB");
    assert_eq!(
        (run.data["ok"].as_bool(), run.data["status"].as_u64()),
        (Some(true), Some(204))
    );
    p.stack.teardown().await;
}
