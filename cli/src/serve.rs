//! `im serve`: the whole product in one process. The same routers Lambda runs serve HTTP; the
//! queue-triggered functions run as in-process pollers; the scheduled monitor runs on a ticker.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use im_aws::sqs::Queue;
use im_aws::{AwsClients, Config, poller};
use im_core::{Clock, SystemClock};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::{Failure, Outcome};

/// The routers of every HTTP function, mounted together over one gateway.
pub fn app(gateway: Arc<im_webhook::aws::AwsGateway>) -> Router {
    Router::new()
        .merge(slack_webhook::router(gateway.clone()))
        .merge(discord_webhook::router(gateway.clone()))
        .merge(chatops_webhook::router(gateway))
        .route("/healthz", get(|| async { "ok" }))
}

/// The gateway every HTTP function and the interaction worker share in one process.
pub fn gateway(clients: Arc<AwsClients>, clock: Arc<dyn Clock>) -> Arc<im_webhook::aws::AwsGateway> {
    let platforms = im_platforms::registry(clients.config());
    Arc::new(im_webhook::aws::gateway(clients, clock, platforms))
}

/// A stand-in for Slack's Web API on this machine: accepts every call and prints what would have
/// appeared in Slack, so `make dev` shows its notifications without a workspace.
async fn platform_sink(
    State(counter): State<Arc<AtomicU64>>,
    Path(method): Path<String>,
    body: String,
) -> axum::Json<Value> {
    if method == "users.info" {
        // Identity checks: everyone is an active member here.
        return axum::Json(json!({"ok": true, "user": {"deleted": false, "is_bot": false}}));
    }
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
    let ts = format!("{}.{n:06}", time::OffsetDateTime::now_utc().unix_timestamp());
    let channel = body["channel"].as_str().unwrap_or("-").to_string();
    let text = first_line(&body["text"]);
    match method.as_str() {
        "chat.postMessage" if body["thread_ts"].is_string() => println!("[slack] #{channel} (thread) {text}"),
        "chat.postMessage" => println!("[slack] #{channel} {text}"),
        "chat.update" => println!("[slack] #{channel} (edited) {text}"),
        "conversations.create" => {
            let name = body["name"].as_str().unwrap_or("incident");
            println!("[slack] channel #{name} created");
            return axum::Json(json!({"ok": true, "channel": {"id": format!("C0SINK{n}"), "name": name}}));
        }
        other => println!("[slack] {other} {}", body),
    }
    axum::Json(json!({"ok": true, "ts": ts, "channel": channel, "channel_id": channel, "id": format!("C0SINK{n}")}))
}

fn first_line(text: &Value) -> String {
    text.as_str().unwrap_or("").lines().next().unwrap_or("").to_string()
}

/// The same for Discord's REST API: messages, edits, replies, follow-ups, command registration and
/// war-room channels all succeed with the shapes Discord answers.
async fn discord_sink(
    State(counter): State<Arc<AtomicU64>>,
    method: Method,
    Path(rest): Path<String>,
    body: String,
) -> axum::response::Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
    let id = format!("{}", 1_300_000_000_000_000_000u64 + n);
    let parts: Vec<&str> = rest.split('/').collect();
    let text = match (&body["embeds"][0]["title"], &body["content"]) {
        (Value::String(title), _) => title.clone(),
        (_, content) => first_line(content),
    };
    match (&method, parts.as_slice()) {
        // Identity checks: everyone is a member here.
        (&Method::GET, ["guilds", _, "members", user]) => {
            return axum::Json(json!({"user": {"id": user, "bot": false}, "pending": false})).into_response();
        }
        (&Method::POST, ["channels", channel, "messages"]) if body["message_reference"].is_object() => {
            println!("[discord] #{channel} (reply) {text}")
        }
        (&Method::POST, ["channels", channel, "messages"]) => println!("[discord] #{channel} {text}"),
        (&Method::PATCH, ["channels", channel, "messages", _]) => println!("[discord] #{channel} (edited) {text}"),
        (&Method::PUT, ["applications", ..]) => {
            println!(
                "[discord] commands registered: {} /{}",
                body.as_array().map_or(0, Vec::len),
                rest
            );
            return axum::Json(body).into_response();
        }
        (&Method::PUT, _) | (&Method::DELETE, _) => return StatusCode::NO_CONTENT.into_response(),
        _ => println!("[discord] {method} /{rest} {text}"),
    }
    let channel = match parts.as_slice() {
        ["channels", channel, ..] => (*channel).to_string(),
        _ => id.clone(),
    };
    axum::Json(json!({"id": id, "channel_id": channel, "name": body["name"], "type": 0})).into_response()
}

/// Both stand-ins on one listener; answers the API base URLs to give the clients.
pub async fn start_sink(addr: &str) -> Result<(String, String), Failure> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure(format!("starting the platform stand-in on {addr}: {e}")))?;
    let addr = listener.local_addr()?;
    let counter = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/api/{method}", post(platform_sink))
        .route("/discord/api/v10/{*rest}", any(discord_sink))
        .with_state(counter);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}/api"), format!("http://{addr}/discord/api/v10")))
}

/// `im local sink`: the stand-ins alone, for functions run by `cargo lambda watch`.
pub async fn sink(addr: &str) -> Outcome {
    let (slack, discord) = start_sink(addr).await?;
    println!("im local sink: SLACK_API_URL={slack} DISCORD_API_URL={discord}");
    let _ = tokio::signal::ctrl_c().await;
    Ok(ExitCode::SUCCESS)
}

/// The REST API's bearer token: `IM_API_TOKEN`, or a new random one printed at start. Returns
/// the token and how to show it (an operator-set one is not echoed).
pub fn api_token() -> (String, String) {
    match std::env::var("IM_API_TOKEN").ok().filter(|t| t.trim().len() >= 16) {
        Some(token) => (token, "<IM_API_TOKEN>".into()),
        None => {
            let mut bytes = [0u8; 24];
            if getrandom::fill(&mut bytes).is_err() {
                // The OS gave no randomness: two ULIDs (80 random bits each, from their own RNG).
                let token = format!("{}{}", ulid::Ulid::generate(), ulid::Ulid::generate()).to_lowercase();
                return (token.clone(), token);
            }
            let token = hex::encode(bytes);
            (token.clone(), token)
        }
    }
}

pub async fn serve(mut config: Config, addr: &str, platform_sink: bool, sla_tick: Duration) -> Outcome {
    if platform_sink {
        let (slack, discord) = start_sink("127.0.0.1:0").await?;
        config.delivery.slack_api_url = slack;
        config.delivery.discord_api_url = discord;
    }
    let table = config.table_name.clone();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    let clients = Arc::new(AwsClients::new(config.clone()));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (stop_tx, stop) = watch::channel(false);
    let mut tasks = Vec::new();
    let gateway = gateway(clients.clone(), clock.clone());
    println!("im serve: listening on http://{local} (table {table})");
    println!("  Slack:     POST http://{local}/chatops/slack/<provider>");
    println!("  Discord:   POST http://{local}/chatops/discord/<provider>");
    println!("  Any:       POST http://{local}/chatops/<provider>  ({{\"type\": \"ping\"}} answers pong)");
    match (
        &config.incident_events_queue,
        &config.deliveries_queue,
        &config.deliveries_dlq,
    ) {
        (Some(events), Some(deliveries), Some(_)) => {
            let router = Arc::new(router::Router::new(clients.clone())?);
            let platforms = im_platforms::registry(clients.config());
            let notifier = Arc::new(notifier::Notifier::new(clients.clone(), platforms)?);
            let events = Arc::new(Queue::new(clients.clone(), events.clone()));
            let deliveries = Arc::new(Queue::new(clients.clone(), deliveries.clone()));
            tasks.extend(poller::spawn(events, router, 1, stop.clone()));
            tasks.extend(poller::spawn(deliveries, notifier, 4, stop.clone()));
            println!(
                "  Pipeline:  router and notifier polling; Slack API at {}, Discord API at {}",
                config.delivery.slack_api_url, config.delivery.discord_api_url
            );
        }
        _ => println!("  Pipeline:  off (set INCIDENT_EVENTS_QUEUE_URL, DELIVERIES_QUEUE_URL and DELIVERIES_DLQ_URL)"),
    }
    match &config.interaction_work_queue {
        Some(work) => {
            let work = Arc::new(Queue::new(clients.clone(), work.clone()));
            let handler = Arc::new(im_webhook::worker::WorkHandler(gateway.clone()));
            tasks.extend(poller::spawn(work, handler, 1, stop.clone()));
            println!("  Worker:    war rooms and other slow work after a click");
        }
        None => println!("  Worker:    off (set INTERACTION_WORK_QUEUE_URL): war rooms cannot be opened"),
    }
    let monitor = sla_monitor::SlaMonitor::new(clients.clone(), clock.clone())?;
    let mut ticker_stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        let mut interval = tokio::time::interval(sla_tick);
        loop {
            tokio::select! {
                _ = interval.tick() => {
                    if let Err(e) = monitor.tick().await {
                        tracing::warn!(error = %e, "sla-monitor tick failed");
                    }
                }
                _ = ticker_stop.changed() => break,
            }
        }
    }));
    println!("  Monitor:   SLA breaches, outbox sweep and weekly summary every {sla_tick:?}");
    let usage: Arc<dyn im_core::usage::UsageLog> = Arc::new(im_aws::usage::DynamoUsage::new(clients.clone()));
    println!("  Dashboard: http://{local}/dashboard  (usage of the last 7 days; ?since=30d)");
    let (token, told) = api_token();
    println!("  API:       http://{local}/api/v1/…  with Authorization: Bearer {told}");
    let rest = api::with_bearer(api::router(Arc::new(api::Api::new(clients.clone()))), token);
    axum::serve(
        listener,
        app(gateway).merge(crate::dashboard::router(usage)).merge(rest),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    Ok(ExitCode::SUCCESS)
}
