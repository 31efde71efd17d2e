//! Lambda entry point: wiring only. API Gateway authorises every route with IAM before this runs.

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    im_aws::telemetry::init();
    let config = im_aws::Config::from_env()?;
    let api = api::Api::new(Arc::new(im_aws::AwsClients::new(config)));
    lambda_http::run(api::router(Arc::new(api))).await
}
