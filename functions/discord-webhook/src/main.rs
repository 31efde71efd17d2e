//! Lambda entry point: wiring only.

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    im_aws::telemetry::init();
    lambda_http::run(discord_webhook::router(Arc::new(im_webhook::aws::from_env()?))).await
}
