//! Lambda entry point (SQS `incident-events`): wiring only.

use std::sync::Arc;

use im_aws::{AwsClients, Config, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    im_aws::telemetry::init();
    lambda::run_sqs(router::Router::new(Arc::new(AwsClients::new(Config::from_env()?)))?).await
}
