//! Lambda entry point: wiring only.

use std::sync::Arc;

use im_aws::{AwsClients, Config};
use im_core::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    im_aws::telemetry::init();
    let config = Config::from_env()?;
    let platforms = im_platforms::registry(&config);
    let gateway = im_webhook::aws::gateway(Arc::new(AwsClients::new(config)), Arc::new(SystemClock), platforms);
    lambda_http::run(slack_webhook::router(Arc::new(gateway))).await
}
