//! Lambda entry point (SQS `incident-events`): wiring only.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use im_aws::{AwsClients, Config, lambda};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    im_aws::telemetry::init();
    let router = Arc::new(router::Router::new(Arc::new(AwsClients::new(Config::from_env()?)))?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let router = router.clone();
        async move {
            Ok::<SqsBatchResponse, Error>(lambda::batch_response(
                router.handle_batch(lambda::messages(event.payload)).await,
            ))
        }
    }))
    .await
}
