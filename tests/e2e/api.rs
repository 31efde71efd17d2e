//! The REST API over the emulator and the fake Slack: every route, its errors, its credentials,
//! and every JSON answer checked against `functions/api/openapi.yaml`. Secrets planted in a
//! provider's configuration appear in no response and no log line.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use im_tests::pipeline::{BOT_TOKEN, Pipeline};
use serde_json::{Value, json};

const TOKEN: &str = "api-test-bearer-token-0123456789";
const PLANTED_TOKEN: &str = "xoxb-PLANTED-bot-token-never-shown";
const PLANTED_SECRET: &str = "PLANTED-signing-secret-never-shown-0123456789";

fn spec() -> Value {
    let text = std::fs::read_to_string(im_tests::repo_root().join("functions/api/openapi.yaml")).expect("openapi.yaml");
    serde_yaml::from_str(&text).expect("valid YAML")
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let mut node = spec;
            for part in reference.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            resolve(spec, node)
        }
        None => schema,
    }
}

/// A small validator for the parts of JSON Schema the document uses: `$ref`, `allOf`, `type`
/// (one or several), `required`, `properties`, `items`, `enum`.
fn check(spec: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(spec, s, value, at, problems);
        }
    }
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let allowed: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let fits = allowed.is_empty() || allowed.contains(&kind) || (kind == "integer" && allowed.contains(&"number"));
    if !fits {
        problems.push(format!("{at}: {kind}, expected {allowed:?}"));
        return;
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        problems.push(format!("{at}: {value} not in {options:?}"));
    }
    if let Some(required) = schema["required"].as_array() {
        for key in required.iter().filter_map(Value::as_str) {
            if value.get(key).is_none() {
                problems.push(format!("{at}: `{key}` missing"));
            }
        }
    }
    if let (Some(props), Some(object)) = (schema["properties"].as_object(), value.as_object()) {
        for (key, sub) in props {
            if let Some(v) = object.get(key) {
                check(spec, sub, v, &format!("{at}.{key}"), problems);
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, v) in array.iter().enumerate() {
            check(spec, items, v, &format!("{at}[{i}]"), problems);
        }
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    spec: Value,
    /// Every body answered, for the secret check.
    seen: Mutex<Vec<String>>,
}

impl Client {
    /// The API over `clients`, behind the bearer token, served on a local port.
    async fn serve(clients: &Arc<im_aws::AwsClients>) -> Self {
        let app = api::with_bearer(api::router(Arc::new(api::Api::new(clients.clone()))), TOKEN.into());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            http: im::http_client().expect("client"),
            base,
            spec: spec(),
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Calls `method path` and checks the answer against the document's schema for
    /// `route` (the path template) and the status.
    async fn call(&self, method: &str, route: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.parse().expect("method"), format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("answered");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        self.seen.lock().expect("lock").push(text.clone());
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON")
        };
        let operation = &self.spec["paths"][route][method.to_lowercase()];
        assert!(operation.is_object(), "{method} {route} is not in openapi.yaml");
        let answer = resolve(&self.spec, &operation["responses"][status.to_string()]);
        assert!(
            answer.is_object(),
            "{method} {route} answered {status}, which openapi.yaml does not list: {value}"
        );
        if let Some(schema) = answer["content"]["application/json"].get("schema") {
            let mut problems = Vec::new();
            check(&self.spec, schema, &value, "$", &mut problems);
            assert!(problems.is_empty(), "{method} {path} → {status}: {problems:?}\n{value}");
        }
        (status, value)
    }
}

#[test]
fn the_document_lists_exactly_the_served_routes() {
    let spec = spec();
    let documented: BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|k| ["get", "post", "patch", "delete", "put"].contains(&k.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, served);
    assert_eq!(spec["openapi"], "3.1.0");
}

#[tokio::test(flavor = "current_thread")]
async fn every_route_answers_as_documented_and_never_shows_a_secret() {
    // Every log line of this test (server included: one thread) is captured.
    let (logs, _guard) = im_tests::Captured::start();

    let p = Pipeline::start(false).await;
    let c = Client::serve(&p.clients).await;
    let base = c.base.clone();

    // Never open: every route refuses a missing or wrong token.
    for (method, route) in api::ROUTES {
        let path = route.replace("{name}", "acme").replace("{id}", "INC-2026-001");
        for auth in [None, Some("wrong-token")] {
            let mut request = c.http.request(method.parse().expect("method"), format!("{base}{path}"));
            if let Some(token) = auth {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("answered");
            assert_eq!(response.status(), 401, "{method} {path} with {auth:?}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
        }
    }

    let providers = "/api/v1/chatops/providers";
    let added = c
        .call(
            "POST",
            providers,
            providers,
            Some(json!({"name": "my-slack", "type": "slack", "config": {
                "bot_token": PLANTED_TOKEN, "signing_secret": PLANTED_SECRET, "default_channel": "C_GENERAL",
                "notification_channels": {"SEV-1": "C_CRIT", "SEV-2": "C_MAJOR"}}})),
        )
        .await;
    assert_eq!(added.0, 201, "{}", added.1);
    assert_eq!(added.1["secret_keys"], json!(["bot_token", "signing_secret"]));
    assert_eq!(added.1["inbound_ready"], true);
    assert!(
        added.1["setup"][0].as_str().is_some_and(|l| l.contains("not bound")),
        "the planted token is not Slack's: {}",
        added.1
    );

    let (status, body) = c
        .call(
            "POST",
            providers,
            providers,
            Some(json!({"name": "my-slack", "type": "slack", "config": {}})),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (409, Some("name")));
    let (status, body) = c
        .call("POST", providers, providers, Some(json!({"type": "slack"})))
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("name")), "{body}");
    let (status, body) = c
        .call("POST", providers, providers, Some(json!({"name": "x", "type": "irc"})))
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("type")), "{body}");
    let (status, body) = c
        .call(
            "POST",
            providers,
            providers,
            Some(json!({"name": "Bad Name", "type": "slack"})),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("name")), "{body}");
    let (status, body) = c
        .call(
            "POST",
            providers,
            providers,
            Some(json!({"name": "typo", "type": "slack", "config": {"defualt_channel": "C1"}})),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("config")));
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("defualt_channel")),
        "the unknown key is named: {body}"
    );
    let raw = c
        .http
        .post(format!("{base}{providers}"))
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(raw.status(), 400);

    let (status, list) = c.call("GET", providers, providers, None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["providers"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["acme", "my-slack"]);
    let one = "/api/v1/chatops/providers/{name}";
    let (status, _) = c.call("GET", one, "/api/v1/chatops/providers/nobody", None).await;
    assert_eq!(status, 404);
    let (status, patched) = c
        .call(
            "PATCH",
            one,
            "/api/v1/chatops/providers/my-slack",
            Some(json!({"config": {"notification_channels": {"SEV-1": "C_EXEC"}}})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        patched["config"]["notification_channels"],
        json!({"SEV-1": "C_EXEC", "SEV-2": "C_MAJOR"}),
        "deep merge"
    );
    let (status, body) = c
        .call(
            "PATCH",
            one,
            "/api/v1/chatops/providers/my-slack",
            Some(json!({"status": "paused"})),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("status")));

    let (status, tested) = c
        .call(
            "POST",
            "/api/v1/chatops/providers/{name}/test",
            "/api/v1/chatops/providers/acme/test",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(tested["checks"][0]["verdict"], "pass");

    // The documented notify body, for an id that does not exist: a TEST card from `data`.
    let notify = "/api/v1/chatops/providers/{name}/notify";
    let (status, sent) = c
        .call(
            "POST",
            notify,
            "/api/v1/chatops/providers/acme/notify",
            Some(json!({"type": "incident_created", "incident_id": "INC-123",
                        "data": {"title": "New Incident", "severity": "SEV-2", "message": "Database issues detected"}})),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!((sent["test"].as_bool(), sent["ok"].as_bool()), (Some(true), Some(true)));
    let card = p.slack.top_level("C_GENERAL").pop().expect("posted");
    assert!(
        card.text.contains("[TEST]") && card.text.contains("New Incident"),
        "{}",
        card.text
    );
    let (status, body) = c
        .call(
            "POST",
            notify,
            "/api/v1/chatops/providers/acme/notify",
            Some(json!({"type": "incident_exploded", "incident_id": "INC-123"})),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("type")));
    let (status, body) = c
        .call(
            "POST",
            notify,
            "/api/v1/chatops/providers/acme/notify",
            Some(json!({"type": "incident_created", "incident_id": "INC-1", "data": {"severity": "SEV-9"}})),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("data.severity")));
    let (status, _) = c
        .call(
            "POST",
            notify,
            "/api/v1/chatops/providers/nobody/notify",
            Some(json!({"type": "incident_created", "incident_id": "INC-1"})),
        )
        .await;
    assert_eq!(status, 404);

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = c
        .call(
            "POST",
            "/api/v1/chatops/providers/{name}/message",
            "/api/v1/chatops/providers/acme/message",
            Some(json!({"text": "Maintenance at 10:00"})),
        )
        .await;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)), "{body}");
    let (status, body) = c
        .call(
            "POST",
            "/api/v1/chatops/providers/{name}/message",
            "/api/v1/chatops/providers/acme/message",
            Some(json!({"text": ""})),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("text")));
    let (status, body) = c
        .call(
            "POST",
            "/api/v1/chatops/broadcast",
            "/api/v1/chatops/broadcast",
            Some(json!({"text": "Planned maintenance window: 2AM-4AM EST"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["sent"].as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(
        body["ok"], false,
        "my-slack's planted token is refused by Slack: {body}"
    );

    let id = p.declare("--sev SEV-2 --service checkout \"Checkout errors\"").await;
    let (status, list) = c.call("GET", "/api/v1/incidents", "/api/v1/incidents", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["incidents"][0]["id"], id.as_str());
    let (status, incident) = c
        .call(
            "GET",
            "/api/v1/incidents/{id}",
            &format!("/api/v1/incidents/{id}"),
            None,
        )
        .await;
    assert_eq!((status, incident["title"].as_str()), (200, Some("Checkout errors")));
    let (status, timeline) = c
        .call(
            "GET",
            "/api/v1/incidents/{id}/timeline",
            &format!("/api/v1/incidents/{id}/timeline"),
            None,
        )
        .await;
    assert_eq!(
        (status, timeline["entries"][0]["event_type"].as_str()),
        (200, Some("chatops.declare"))
    );
    let (status, _) = c
        .call("GET", "/api/v1/incidents/{id}", "/api/v1/incidents/not-an-id", None)
        .await;
    assert_eq!(status, 400);
    let (status, _) = c
        .call(
            "GET",
            "/api/v1/incidents/{id}/timeline",
            "/api/v1/incidents/INC-1999-999/timeline",
            None,
        )
        .await;
    assert_eq!(status, 404);

    let (status, _) = c.call("DELETE", one, "/api/v1/chatops/providers/my-slack", None).await;
    assert_eq!(status, 204);
    let (status, _) = c.call("GET", one, "/api/v1/chatops/providers/my-slack", None).await;
    assert_eq!(status, 404);

    // No secret in any answer or any log line.
    let answers = c.seen.lock().expect("lock").join("\n");
    let logged = logs.text();
    assert!(!logged.is_empty(), "the log capture works");
    for secret in [PLANTED_TOKEN, PLANTED_SECRET, BOT_TOKEN, TOKEN] {
        assert!(!answers.contains(secret), "an answer shows {secret}");
        assert!(!logged.contains(secret), "a log line shows {secret}");
    }
    p.stack.teardown().await;
}

/// A Discord provider added through the API has `/im` registered in its server, as the CLI does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discord_provider_added_through_the_api_registers_its_commands() {
    use im_tests::discord_under_test::{APPLICATION, DiscordUnderTest, GUILD, TOKEN as BOT, public_key_hex};
    let mut stack = im_tests::TestStack::new().await;
    let discord = DiscordUnderTest::start().await;
    stack.config.delivery.discord_api_url = discord.fake.api_url.clone();
    stack.clients = Arc::new(im_aws::AwsClients::new(stack.config.clone()));
    let c = Client::serve(&stack.clients).await;
    let providers = "/api/v1/chatops/providers";
    let (status, added) = c
        .call(
            "POST",
            providers,
            providers,
            Some(json!({"name": "team-discord", "type": "discord", "config": {
                "bot_token": BOT, "application_id": APPLICATION, "public_key": public_key_hex(), "guild_id": GUILD}})),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert!(
        added["setup"][0]
            .as_str()
            .is_some_and(|l| l.starts_with("✓ Registered /im") && l.contains(GUILD)),
        "{added}"
    );
    assert_eq!(discord.fake.registrations().0, 1);
    assert!(
        !c.seen.lock().expect("lock").join("\n").contains(TOKEN),
        "the bot token is never shown"
    );
    stack.teardown().await;
}

/// Who may do what, through the API over the emulator: mappings, default roles, the gate's
/// verdict (with Slack's identity check through the fake), and the audit partition, which also
/// holds the refusal of a real signed slash command handled with DynamoDB behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_routes_map_people_and_refusals_reach_the_audit_partition() {
    let p = Pipeline::start(false).await;
    let c = Client::serve(&p.clients).await;
    let user_route = "/api/v1/rbac/users/{identity}";

    let (status, row) = c
        .call(
            "PUT",
            user_route,
            "/api/v1/rbac/users/acme:U0ANN",
            Some(json!({"role": "commander", "person": "ann"})),
        )
        .await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(
        (row["identity"].as_str(), row["role"].as_str(), row["person"].as_str()),
        (Some("acme:U0ANN"), Some("commander"), Some("ann"))
    );
    for (body, field) in [
        (json!({"role": "boss"}), "role"),
        (json!({}), "role"),
        (
            json!({"role": "responder", "person": "ann", "automation": "bot"}),
            "automation",
        ),
    ] {
        let (status, answer) = c
            .call("PUT", user_route, "/api/v1/rbac/users/acme:U0X", Some(body.clone()))
            .await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (422, Some(field)),
            "{body} → {answer}"
        );
    }
    let (status, answer) = c
        .call(
            "PUT",
            user_route,
            "/api/v1/rbac/users/acme",
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, 422, "not an identity: {answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("<provider>:<user-id>"))
    );
    let (status, _) = c
        .call(
            "PUT",
            user_route,
            "/api/v1/rbac/users/nope:U1",
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, 404);

    let (status, listed) = c.call("GET", "/api/v1/rbac", "/api/v1/rbac", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["default_roles"]["acme"], "responder");
    assert!(
        listed["mappings"]
            .as_array()
            .is_some_and(|m| m.iter().any(|r| r["identity"] == "acme:U0ANN"))
    );

    let default_route = "/api/v1/rbac/providers/{name}/default";
    let (status, _) = c
        .call(
            "PUT",
            default_route,
            "/api/v1/rbac/providers/acme/default",
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, 200);

    let check = "/api/v1/rbac/check";
    let (status, verdict) = c
        .call(
            "POST",
            check,
            check,
            Some(json!({"identity": "acme:U0BOB", "command": "ack"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(verdict["allowed"], false);
    assert!(
        verdict["reason"].as_str().is_some_and(|r| r.contains("responder role")),
        "{verdict}"
    );
    let (_, verdict) = c
        .call(
            "POST",
            check,
            check,
            Some(json!({"identity": "acme:U0ANN", "command": "close"})),
        )
        .await;
    assert_eq!(
        (verdict["allowed"].as_bool(), verdict["role"].as_str()),
        (Some(true), Some("commander")),
        "{verdict}"
    );
    assert!(
        p.slack.calls("users.info").iter().any(|c| c["user"] == "U0ANN"),
        "Slack was asked who U0ANN is"
    );
    let mut gone = im_tests::fake_slack::person("U0GONE");
    gone["deleted"] = json!(true);
    p.slack.with_person("U0GONE", gone);
    c.call(
        "PUT",
        user_route,
        "/api/v1/rbac/users/acme:U0GONE",
        Some(json!({"role": "admin"})),
    )
    .await;
    let (_, verdict) = c
        .call(
            "POST",
            check,
            check,
            Some(json!({"identity": "acme:U0GONE", "command": "ack"})),
        )
        .await;
    assert!(
        verdict["reason"].as_str().is_some_and(|r| r.contains("deactivated")),
        "{verdict}"
    );

    // A viewer's slash command, signed as Slack would, through the gateway on DynamoDB.
    let webhook = p.webhook();
    let (status, answer) = p
        .post_signed(
            &webhook,
            &[
                ("command", "/im"),
                ("text", "declare Not mine to declare"),
                ("user_id", "U0BOB"),
                ("channel_id", "C_ORIGIN"),
                ("team_id", "T0FAKE"),
                ("trigger_id", "trig.rbac.1"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(answer.to_string().contains("You need the responder role"), "{answer}");

    let (status, removed) = c
        .call("DELETE", user_route, "/api/v1/rbac/users/acme:U0ANN", None)
        .await;
    assert_eq!(status, 204, "{removed}");
    let (status, _) = c
        .call("DELETE", user_route, "/api/v1/rbac/users/acme:U0ANN", None)
        .await;
    assert_eq!(status, 404, "nothing left to remove");

    let (status, audit) = c.call("GET", "/api/v1/audit", "/api/v1/audit", None).await;
    assert_eq!(status, 200);
    let entries = audit["entries"].as_array().cloned().unwrap_or_default();
    let changes: Vec<&str> = entries
        .iter()
        .filter(|e| e["event_type"] == "chatops.rbac_changed")
        .filter_map(|e| e["data"]["change"].as_str())
        .collect();
    assert_eq!(
        changes,
        [
            "set acme:U0ANN to commander",
            "default role viewer",
            "set acme:U0GONE to admin",
            "removed acme:U0ANN"
        ],
        "{audit}"
    );
    let denied: Vec<&Value> = entries.iter().filter(|e| e["event_type"] == "chatops.denied").collect();
    assert_eq!(denied.len(), 1, "{audit}");
    assert_eq!(denied[0]["actor"], "chatops:U0BOB");
    assert_eq!(denied[0]["source"], "slack:acme");
    assert_eq!(denied[0]["data"]["channel"], "C_ORIGIN");
    let (status, bad) = c
        .call("GET", "/api/v1/audit", "/api/v1/audit?date=yesterday", None)
        .await;
    assert_eq!((status, bad["field"].as_str()), (422, Some("date")));
    p.stack.teardown().await;
}

/// A chat user's data on the emulator: exported through the API (incidents with their roles,
/// their entries, mappings, context and checks, on-call), then forgotten: pseudonymised in
/// incidents and timelines, the rest removed, both audited; the planted token never appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_export_returns_a_users_data_and_forget_removes_it() {
    let p = Pipeline::start(false).await;
    let c = Client::serve(&p.clients).await;
    let planted = "xoxb-1357913579-2468024680-PRIVACYtoken";
    c.call(
        "PUT",
        "/api/v1/rbac/users/{identity}",
        "/api/v1/rbac/users/acme:U0ANN",
        Some(json!({"role": "commander", "person": "ann"})),
    )
    .await;
    let memo = im_aws::deliveries::DeliveryStore::new(p.clients.clone());
    let rotation = json!({"service": "payments", "participants": ["slack:U0ANN", "slack:U0BOB"], "handoff": "09:00",
                          "shift_hours": 168, "timezone": "UTC", "start": "2026-11-30"});
    im_core::conversation::Memo::put(&memo, "oncall:payments", &rotation.to_string(), None)
        .await
        .expect("rotation");

    let webhook = p.webhook();
    let slash = |user: &'static str, text: String, n: u32| {
        let (p, webhook) = (&p, &webhook);
        async move {
            let trigger = format!("trig.privacy.{n}");
            p.post_signed(
                webhook,
                &[
                    ("command", "/im"),
                    ("text", &text),
                    ("user_id", user),
                    ("user_name", "ann"),
                    ("channel_id", "C_ORIGIN"),
                    ("team_id", "T0FAKE"),
                    ("trigger_id", &trigger),
                ],
            )
            .await
        }
    };
    let (status, declared) = slash("U0ANN", format!("declare --sev SEV-3 \"Leaked {planted}\""), 1).await;
    assert_eq!(status, 200, "{declared}");
    let id = declared
        .to_string()
        .split("INC-")
        .nth(1)
        .map(|s| format!("INC-{}", &s[..8]))
        .expect("an id");
    slash("U0ANN", format!("update {id} \"asked ann@example.com\""), 2).await;
    slash("U0BOB", format!("assign {id} <@U0ANN|ann>"), 3).await;

    let route = "/api/v1/privacy/users/{identity}";
    let (status, export) = c.call("GET", route, "/api/v1/privacy/users/slack:U0ANN", None).await;
    assert_eq!(status, 200, "{export}");
    let text = export.to_string();
    assert!(
        !text.contains(planted) && !text.contains("ann@example.com"),
        "redacted at the door: {text}"
    );
    assert_eq!(export["user"], "slack:U0ANN");
    let roles = export["incidents"][0]["roles"].clone();
    assert_eq!(roles, json!(["declared_by", "commander", "assignee"]), "{export}");
    assert!(
        text.contains("Leaked [redacted]"),
        "their commands are exported: {text}"
    );
    let entries = export["timeline_entries"].as_array().cloned().unwrap_or_default();
    assert!(
        entries.iter().filter(|e| e["actor"] == "chatops:U0ANN").count() >= 2,
        "{export}"
    );
    assert!(
        entries.iter().any(|e| e["actor"] == "chatops:U0BOB"),
        "the assignment names them: {export}"
    );
    assert_eq!(
        export["role_mappings"],
        json!([{"provider": "acme", "role": "commander", "person": "ann", "automation": null}])
    );
    let memos: Vec<String> = export["conversation_and_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["key"].as_str().map(str::to_string))
        .collect();
    assert!(memos.contains(&"ident:acme:U0ANN".to_string()), "{memos:?}");
    assert!(
        memos.iter().any(|k| k.starts_with("limit:declare:acme:U0ANN:")),
        "{memos:?}"
    );
    assert_eq!(export["on_call_rotations"][0]["service"], "payments");

    let (status, forgot) = c.call("DELETE", route, "/api/v1/privacy/users/slack:U0ANN", None).await;
    assert_eq!(status, 200, "{forgot}");
    let pseudonym = forgot["pseudonym"].as_str().expect("pseudonym").to_string();
    assert!(pseudonym.starts_with("forgotten-"));
    assert_eq!(forgot["incidents"], 1);
    assert_eq!(forgot["role_mappings"], json!(["acme"]));

    let (_, after) = c.call("GET", route, "/api/v1/privacy/users/slack:U0ANN", None).await;
    for key in [
        "incidents",
        "timeline_entries",
        "role_mappings",
        "conversation_and_checks",
        "on_call_rotations",
    ] {
        assert_eq!(after[key], json!([]), "{key} after forget: {after}");
    }
    let incident = c
        .call(
            "GET",
            "/api/v1/incidents/{id}",
            &format!("/api/v1/incidents/{id}"),
            None,
        )
        .await
        .1;
    assert_eq!(incident["declared_by"]["id"], json!(pseudonym));
    assert!(incident["declared_by"].get("name").is_none());
    let timeline = c
        .call(
            "GET",
            "/api/v1/incidents/{id}/timeline",
            &format!("/api/v1/incidents/{id}/timeline"),
            None,
        )
        .await
        .1;
    let shown = timeline.to_string();
    assert!(!shown.contains("U0ANN") && shown.contains(&pseudonym), "{shown}");
    assert!(shown.contains("U0BOB"), "others stay");
    let rotation = im_core::conversation::Memo::get(&memo, "oncall:payments", 0)
        .await
        .expect("read")
        .expect("kept");
    assert!(!rotation.contains("U0ANN") && rotation.contains("U0BOB"), "{rotation}");

    let (_, audit) = c.call("GET", "/api/v1/audit", "/api/v1/audit", None).await;
    let kinds: Vec<&str> = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    assert!(
        kinds.contains(&"privacy.export") && kinds.contains(&"privacy.forget"),
        "{kinds:?}"
    );
    // Everything before the forget keeps the pseudonym only (the export made after it is a new
    // request, and names whom it was about).
    let entries = audit["entries"].as_array().cloned().unwrap_or_default();
    let forget_at = entries
        .iter()
        .position(|e| e["event_type"] == "privacy.forget")
        .expect("forget audited");
    for e in &entries[..=forget_at] {
        assert!(
            !e.to_string().contains("U0ANN"),
            "the audit keeps the pseudonym only: {e}"
        );
    }
    p.stack.teardown().await;
}
