//! Lambda entry point (EventBridge schedule): wiring only.

use std::sync::Arc;

use im_aws::{AwsClients, Config};
use im_core::SystemClock;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    im_aws::telemetry::init();
    let clients = Arc::new(AwsClients::new(Config::from_env()?));
    let monitor = Arc::new(sla_monitor::SlaMonitor::new(clients, Arc::new(SystemClock))?);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| {
        let monitor = monitor.clone();
        async move {
            let report = monitor.tick().await?;
            Ok::<Value, Error>(serde_json::json!({
                "breaches": report.breaches, "republished": report.republished, "summaries": report.summaries
            }))
        }
    }))
    .await
}
