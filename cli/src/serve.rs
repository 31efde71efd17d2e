//! `im serve`: every webhook router in one local HTTP server, the same routers Lambda runs.

use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use im_aws::{AwsClients, Config};
use im_core::{Clock, SystemClock};

use crate::{Failure, Outcome};

/// The routers of every HTTP function, mounted together.
pub fn app(clients: Arc<AwsClients>, clock: Arc<dyn Clock>) -> Router {
    let slack = Arc::new(slack_webhook::SlackApp::new(clients, clock));
    Router::new()
        .merge(slack_webhook::router(slack))
        .route("/healthz", get(|| async { "ok" }))
}

pub async fn serve(config: Config, addr: &str) -> Outcome {
    let table = config.table_name.clone();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    let app = app(Arc::new(AwsClients::new(config)), Arc::new(SystemClock));
    println!("im serve: listening on http://{local} (table {table})");
    println!("  Slack:   POST http://{local}/chatops/slack/<provider>");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}
