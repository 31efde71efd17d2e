//! Lambda entry point: wiring only.

use std::sync::Arc;

use im_aws::{AwsClients, Config};
use im_core::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    im_aws::telemetry::init();
    let config = Config::from_env()?;
    let app = slack_webhook::SlackApp::new(Arc::new(AwsClients::new(config)), Arc::new(SystemClock));
    lambda_http::run(slack_webhook::router(Arc::new(app))).await
}
