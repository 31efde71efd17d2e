//! Lambda entry point (SQS `deliveries`): wiring only.

use std::sync::Arc;

use im_aws::{AwsClients, Config, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    im_aws::telemetry::init();
    let config = Config::from_env()?;
    let platforms = im_platforms::registry(&config);
    lambda::run_sqs(notifier::Notifier::new(Arc::new(AwsClients::new(config)), platforms)?).await
}
