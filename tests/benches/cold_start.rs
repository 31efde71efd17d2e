//! Whole-process benchmark: the release `slack-webhook` and `discord-webhook` binaries, just
//! started, answering their first request through a fake Lambda Runtime API, against the local
//! emulator.
//!
//! Reports time from spawn to the posted response and peak RSS, for `help` and `declare`, plus
//! the same requests to a warm process (the AWS calls' own time, plus microseconds of ours), and
//! each binary's size and zipped size (the Lambda package).
//! Targets: first `help` ≤ 25 ms; first `declare` ≤ 25 ms + its AWS calls; peak RSS < 20 MB.
//! Run with `make bench` (builds the release binary, starts the emulator).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use im_core::ports::IncidentStore;
use im_tests::TestStack;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const SECRET: &str = "cold-start-bench-secret-0123456789abcdef";
const RUNS: usize = 15;

#[derive(Default)]
struct Runtime {
    pending: Mutex<Option<String>>,
    answered: Mutex<Option<oneshot::Sender<Value>>>,
}

async fn next(State(rt): State<Arc<Runtime>>) -> Response {
    let event = rt.pending.lock().map(|mut p| p.take()).unwrap_or(None);
    match event {
        Some(event) => {
            let mut headers = HeaderMap::new();
            headers.insert(
                "lambda-runtime-aws-request-id",
                "req-1".parse().unwrap_or_else(|_| unreachable!()),
            );
            let deadline = (time::OffsetDateTime::now_utc().unix_timestamp() + 30) * 1000;
            headers.insert(
                "lambda-runtime-deadline-ms",
                deadline.to_string().parse().unwrap_or_else(|_| unreachable!()),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:slack-webhook"
                    .parse()
                    .unwrap_or_else(|_| unreachable!()),
            );
            (headers, event).into_response()
        }
        // Later polls wait until the process is killed.
        None => std::future::pending().await,
    }
}

async fn response(State(rt): State<Arc<Runtime>>, Path(_id): Path<String>, body: String) -> &'static str {
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if let Some(tx) = rt.answered.lock().ok().and_then(|mut a| a.take()) {
        let _ = tx.send(value);
    }
    "ok"
}

async fn init_error(body: String) -> &'static str {
    eprintln!("init error: {body}");
    "ok"
}

fn slash_event(text: &str, n: usize) -> String {
    let body = serde_urlencoded::to_string([
        ("team_id", "T0001"),
        ("channel_id", "C0BENCH"),
        ("user_id", "U0BENCH"),
        ("user_name", "bench"),
        ("command", "/im"),
        ("text", text),
        ("trigger_id", &format!("bench.{n}.{}", ulid::Ulid::generate())),
    ])
    .unwrap_or_default();
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    let signature = im_slack::sign(SECRET, ts, body.as_bytes());
    api_event(
        "slack",
        "bench",
        &body,
        json!({"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts.to_string(), "x-slack-signature": signature}),
    )
}

/// The application's bench key pair (a fixed seed).
fn discord_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[11u8; 32])
}

/// `/im help` or `/im declare` as a signed Discord interaction in an HTTP API event.
fn discord_event(text: &str, n: usize) -> String {
    use ed25519_dalek::Signer;
    let sub = match text.strip_prefix("declare --sev SEV-3 ") {
        Some(title) => json!({"name": "declare", "type": 1, "options": [
            {"name": "title", "type": 3, "value": title}, {"name": "severity", "type": 3, "value": "SEV-3"}]}),
        None => json!({"name": "help", "type": 1, "options": []}),
    };
    let body = json!({
        "id": format!("{}", 1_200_000_000_000_000_000u64 + n as u64), "application_id": "901", "type": 2,
        "guild_id": "701", "channel_id": "801", "token": format!("itoken-{}", ulid::Ulid::generate()), "version": 1,
        "member": {"user": {"id": "301", "username": "bench"}},
        "data": {"id": "1", "name": "im", "type": 1, "options": [sub]},
    })
    .to_string();
    let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let signature = hex::encode(discord_key().sign(format!("{ts}{body}").as_bytes()).to_bytes());
    api_event(
        "discord",
        "benchd",
        &body,
        json!({"content-type": "application/json", "x-signature-timestamp": ts, "x-signature-ed25519": signature}),
    )
}

/// An HTTP API (payload 2.0) event for `POST /chatops/<platform>/<instance>`.
fn api_event(platform: &str, instance: &str, body: &str, mut headers: Value) -> String {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    headers["host"] = json!("bench.execute-api.us-east-1.amazonaws.com");
    let route = format!("POST /chatops/{platform}/{{instance}}");
    let path = format!("/chatops/{platform}/{instance}");
    json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench", "requestId": "bench", "routeKey": route, "stage": "$default",
            "time": "27/Nov/2026:10:00:00 +0000", "timeEpoch": ts * 1000,
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"}
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
    .to_string()
}

/// The binary's size and its zipped size (what Lambda is given), in MB.
fn package_sizes(binary: &std::path::Path) -> (f64, Option<f64>) {
    let size = std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let zip = std::env::temp_dir().join(format!("im-bench-{}.zip", std::process::id()));
    let zipped = std::process::Command::new("zip")
        .arg("-9jq")
        .arg(&zip)
        .arg(binary)
        .status()
        .ok()
        .filter(|s| s.success())
        .and_then(|_| std::fs::metadata(&zip).ok())
        .map(|m| m.len() as f64 / 1e6);
    let _ = std::fs::remove_file(&zip);
    (size, zipped)
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn summary(label: &str, mut samples: Vec<f64>, rss: &[u64]) {
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let p90 = samples[(samples.len() * 9 / 10).min(samples.len() - 1)];
    let max_rss = rss.iter().copied().max().unwrap_or(0);
    println!(
        "{label:<24} median {median:>7.2} ms   p90 {p90:>7.2} ms   min {:>7.2} ms   peak RSS {:.1} MB",
        samples[0],
        max_rss as f64 / 1024.0
    );
}

/// One function under test: its binary, the event a command becomes, and its router (warm).
struct Function {
    name: &'static str,
    event: fn(&str, usize) -> String,
}

const FUNCTIONS: [Function; 2] = [
    Function {
        name: "slack-webhook",
        event: slash_event,
    },
    Function {
        name: "discord-webhook",
        event: discord_event,
    },
];

#[tokio::main]
async fn main() {
    for f in &FUNCTIONS {
        let binary = im_tests::repo_root().join("target/release").join(f.name);
        if !binary.exists() {
            eprintln!(
                "cold_start: {} is missing; run `cargo build --release -p {}` (make bench does)",
                binary.display(),
                f.name
            );
            return;
        }
    }
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        eprintln!("cold_start: needs the local emulator (make bench starts it)");
        return;
    }
    let stack = TestStack::new().await;
    stack
        .directory()
        .add(
            "bench",
            "slack",
            json!({"signing_secret": SECRET, "bot_token": "xoxb-bench"}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let public_key = hex::encode(discord_key().verifying_key().to_bytes());
    stack
        .directory()
        .add(
            "benchd",
            "discord",
            json!({"public_key": public_key, "application_id": "901", "guild_id": "701", "bot_token": "discord-bench"}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let rt = Arc::new(Runtime::default());
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(response))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let api = listener.local_addr().unwrap_or_else(|e| panic!("{e}")).to_string();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    for f in &FUNCTIONS {
        let binary = im_tests::repo_root().join("target/release").join(f.name);
        let (size, zipped) = package_sizes(&binary);
        let zipped = zipped.map_or_else(|| "(zip not installed)".to_string(), |z| format!("{z:.1} MB zipped"));
        println!(
            "cold start of {} ({size:.1} MB, {zipped}; {RUNS} runs each)",
            binary.display()
        );
        for (label, text) in [
            ("first help", "help"),
            ("first declare", "declare --sev SEV-3 Bench incident"),
        ] {
            let mut times = Vec::new();
            let mut rss = Vec::new();
            for n in 0..RUNS {
                let (tx, rx) = oneshot::channel();
                if let Ok(mut p) = rt.pending.lock() {
                    *p = Some((f.event)(text, n));
                }
                if let Ok(mut a) = rt.answered.lock() {
                    *a = Some(tx);
                }
                let started = Instant::now();
                let mut child = tokio::process::Command::new(&binary)
                    .env_clear()
                    .env("AWS_LAMBDA_RUNTIME_API", &api)
                    .env("AWS_LAMBDA_FUNCTION_NAME", f.name)
                    .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                    .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                    .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
                    .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
                    .env("AWS_REGION", "us-east-1")
                    .env(
                        "AWS_ENDPOINT_URL",
                        stack.config.endpoint_url.clone().unwrap_or_default(),
                    )
                    .env("AWS_ACCESS_KEY_ID", "test")
                    .env("AWS_SECRET_ACCESS_KEY", "test")
                    .env("TABLE_NAME", &stack.config.table_name)
                    .env("INCIDENT_EVENTS_QUEUE_URL", stack.events_queue_url())
                    .env("SECRETS_PREFIX", &stack.config.secrets_prefix)
                    .env("RUST_LOG", "warn")
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .kill_on_drop(true)
                    .spawn()
                    .unwrap_or_else(|e| panic!("spawning: {e}"));
                let answer = tokio::time::timeout(Duration::from_secs(10), rx).await;
                let elapsed = started.elapsed().as_secs_f64() * 1000.0;
                let pid = child.id().unwrap_or(0);
                rss.push(peak_rss_kib(pid));
                let _ = child.kill().await;
                match answer {
                    Ok(Ok(value)) if value["statusCode"] == 200 => times.push(elapsed),
                    other => panic!("{} {label}: no good answer: {other:?}", f.name),
                }
            }
            summary(label, times, &rss);
        }
    }

    // The same request to a warm process (clients built, caches filled): that is the time its
    // AWS calls take, plus a few microseconds of ours. Cold minus this is start-up overhead.
    let clock: Arc<dyn im_core::Clock> = Arc::new(im_core::SystemClock);
    let platforms = im_platforms::registry(stack.clients.config());
    let gateway = Arc::new(im_webhook::aws::gateway(stack.clients.clone(), clock, platforms));
    let apps = [
        (&FUNCTIONS[0], slack_webhook::router(gateway.clone())),
        (&FUNCTIONS[1], discord_webhook::router(gateway)),
    ];
    for (f, app) in apps {
        println!("{} warm", f.name);
        for (label, text) in [
            ("warm help", "help"),
            ("warm declare", "declare --sev SEV-3 Bench incident"),
        ] {
            let mut times = Vec::new();
            for n in 0..=RUNS {
                let request = lambda_http::request::from_str(&(f.event)(text, 1000 + n))
                    .unwrap_or_else(|e| panic!("{e}"))
                    .map(axum::body::Body::new);
                let started = Instant::now();
                let response = tower::ServiceExt::oneshot(app.clone(), request)
                    .await
                    .unwrap_or_else(|e| match e {});
                let elapsed = started.elapsed().as_secs_f64() * 1000.0;
                assert_eq!(response.status(), 200);
                if n > 0 {
                    times.push(elapsed);
                }
            }
            summary(label, times, &[]);
        }
    }
    let _ = stack.store().list_active(1).await;
    stack.teardown().await;
}
