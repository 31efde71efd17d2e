//! Helpers for the end-to-end tests: a private stack (table, queues, secrets prefix) per test,
//! created from `template.yaml` on the local AWS emulator.

// Test support: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod browser;
pub mod discord_under_test;
pub mod echo;
pub mod echo_fake;
pub mod fake_discord;
pub mod fake_slack;
pub mod pipeline;
pub mod slack_under_test;
pub mod world;

use std::path::PathBuf;
use std::sync::Arc;

use im_aws::config::QueueRef;
use im_aws::provision::{self, Provisioned};
use im_aws::{AwsClients, Config, DynamoStore, ProviderDirectory};

/// The emulator endpoint; `make test` starts one and sets `AWS_ENDPOINT_URL`.
pub fn endpoint() -> String {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "These tests need the local AWS emulator. Run `make test` (it starts one), or start it with \
             `make emulator` and set AWS_ENDPOINT_URL=http://127.0.0.1:4566"
        ),
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

pub fn template() -> String {
    std::fs::read_to_string(repo_root().join("template.yaml")).unwrap_or_else(|e| panic!("reading template.yaml: {e}"))
}

/// A stack of our own: its resources are named after a fresh stack name.
pub struct TestStack {
    pub name: String,
    pub config: Config,
    pub clients: Arc<AwsClients>,
    pub provisioned: Provisioned,
}

impl TestStack {
    pub async fn new() -> Self {
        let name = format!("t{}", ulid::Ulid::generate().to_string().to_lowercase());
        let spec = provision::parse_template(&template(), &name).unwrap_or_else(|e| panic!("{e}"));
        let mut config = Config::local(&endpoint(), &format!("{name}-incidents"), None);
        config.secrets_prefix = format!("{name}/");
        // Chat platforms are unreachable here: unless a test points a client at its own fake,
        // Slack's and Discord's APIs are the local stand-ins `make dev` uses (every call
        // accepted; everyone an active member for identity checks).
        let (slack, discord) = im::serve::start_sink("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("platform stand-in: {}", e.0));
        config.delivery.slack_api_url = slack;
        config.delivery.discord_api_url = discord;
        let clients = Arc::new(AwsClients::new(config.clone()));
        let provisioned = provision::provision(&clients, &spec)
            .await
            .unwrap_or_else(|e| panic!("provisioning: {e}"));
        let url = provisioned
            .queue_urls
            .get("IncidentEventsQueue")
            .cloned()
            .unwrap_or_else(|| panic!("template declares IncidentEventsQueue"));
        config.incident_events_queue = Some(QueueRef::Url(url));
        config.deliveries_queue = provisioned
            .queue_urls
            .get("DeliveriesQueue")
            .cloned()
            .map(QueueRef::Url);
        config.deliveries_dlq = provisioned.queue_urls.get("DeliveriesDLQ").cloned().map(QueueRef::Url);
        config.interaction_work_queue = provisioned
            .queue_urls
            .get("InteractionWorkQueue")
            .cloned()
            .map(QueueRef::Url);
        let clients = Arc::new(AwsClients::new(config.clone()));
        Self {
            name,
            config,
            clients,
            provisioned,
        }
    }

    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(self.clients.clone())
    }

    pub fn directory(&self) -> ProviderDirectory {
        ProviderDirectory::new(self.clients.clone())
    }

    pub fn events_queue_url(&self) -> String {
        self.provisioned.queue_urls["IncidentEventsQueue"].clone()
    }

    /// Every message currently on the incident-events queue (received and deleted).
    pub async fn drain_events(&self) -> Vec<serde_json::Value> {
        let sqs = self.clients.sqs().await;
        let mut out = Vec::new();
        loop {
            let received = sqs
                .receive_message()
                .queue_url(self.events_queue_url())
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap_or_else(|e| panic!("receive: {e}"));
            let messages = received.messages();
            if messages.is_empty() {
                break;
            }
            for m in messages {
                out.push(serde_json::from_str(m.body().unwrap_or("null")).unwrap_or_default());
                let _ = sqs
                    .delete_message()
                    .queue_url(self.events_queue_url())
                    .set_receipt_handle(m.receipt_handle().map(str::to_string))
                    .send()
                    .await;
            }
        }
        out
    }

    /// Receives what waits on the interaction-work queue and runs it through `gateway`'s
    /// worker (as the Lambda's SQS trigger would), deleting what succeeded. How many ran.
    pub async fn run_queued_work(&self, gateway: &im_webhook::aws::AwsGateway) -> usize {
        let url = self.provisioned.queue_urls["InteractionWorkQueue"].clone();
        let queue = im_aws::sqs::Queue::new(self.clients.clone(), im_aws::config::QueueRef::Url(url));
        let messages = queue
            .receive(10, std::time::Duration::from_secs(1), None)
            .await
            .unwrap_or_else(|e| panic!("receiving work: {e}"));
        let receipts: Vec<(String, String)> = messages.iter().map(|m| (m.id.clone(), m.receipt.clone())).collect();
        let failed = gateway.handle_work_batch(messages).await;
        assert!(failed.is_empty(), "work failed: {failed:?}");
        for (_, receipt) in &receipts {
            queue
                .delete(receipt)
                .await
                .unwrap_or_else(|e| panic!("deleting work: {e}"));
        }
        receipts.len()
    }

    pub async fn teardown(self) {
        let _ = provision::teardown(&self.clients, &self.provisioned).await;
    }
}

/// The services the mention corpus (`tests/nlu/`) is written for (`tests/nlu/services.txt`).
pub fn nlu_services() -> Vec<String> {
    include_str!("../nlu/services.txt")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The lines of a mention evaluation file (`tests/nlu/<file>`): `{"text", "intent", "entities"}`.
pub fn nlu_lines(file: &str) -> Vec<serde_json::Value> {
    let path = repo_root().join("tests/nlu").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Signing secret and time of the signed fixtures in `events/slack/` (see `events/generate.py`).
pub const FIXTURE_SECRET: &str = "fixture-signing-secret-8f742231b10e";
pub const FIXTURE_TIME: i64 = 1_764_237_600;

/// The public key the Discord fixtures (`events/generate.py`) verify with, as a provider's
/// `public_key`: the local key pair's, for application 900100 in server 700100.
pub fn fixture_discord_public_key() -> String {
    hex::encode(im_discord::verify::local_signing_key().verifying_key().to_bytes())
}

/// An API Gateway HTTP API v2 event from `events/`, converted by lambda_http exactly as in Lambda.
pub fn lambda_event(relative: &str) -> lambda_http::Request {
    let path = repo_root().join("events").join(relative);
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lambda_http::request::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Sends one request through an axum router: the status, the body as text, and the body as JSON
/// when the response says it is JSON (else `Null`).
pub async fn call(router: &axum::Router, request: http::Request<axum::body::Body>) -> (u16, String, serde_json::Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = router.clone().oneshot(request).await.unwrap_or_else(|e| match e {});
    let status = response.status().as_u16();
    let is_json = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json = if is_json {
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
    } else {
        serde_json::Value::Null
    };
    (status, String::from_utf8_lossy(&bytes).to_string(), json)
}

/// A writer into a shared buffer: every log line a test's subscriber writes.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Captures every log line (debug and up) of this thread until the guard is dropped: a
    /// current-thread runtime's test, server included.
    pub fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).to_string()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
