//! Lambda entry point (SQS `interaction-work`): wiring only. The handler is the gateway's
//! worker (`im_webhook::worker`), which `im serve` also runs from an in-process poller.

use std::sync::Arc;

use im_aws::{AwsClients, Config, lambda};
use im_core::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    im_aws::telemetry::init();
    let config = Config::from_env()?;
    let platforms = im_platforms::registry(&config);
    let gateway = im_webhook::aws::gateway(Arc::new(AwsClients::new(config)), Arc::new(SystemClock), platforms);
    lambda::run_sqs(im_webhook::worker::WorkHandler(Arc::new(gateway))).await
}
