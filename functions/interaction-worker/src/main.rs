//! Lambda entry point (SQS `interaction-work`): wiring only. The handler is the gateway's
//! worker (`im_webhook::worker`), which `im serve` also runs from an in-process poller.

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    im_aws::telemetry::init();
    let gateway = Arc::new(im_webhook::aws::from_env()?);
    im_aws::lambda::run_sqs(im_webhook::worker::WorkHandler(gateway)).await
}
