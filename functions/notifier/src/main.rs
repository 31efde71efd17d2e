//! Lambda entry point (SQS `deliveries`): wiring only.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use im_aws::{AwsClients, Config, lambda};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    im_aws::telemetry::init();
    let notifier = Arc::new(notifier::Notifier::new(Arc::new(AwsClients::new(Config::from_env()?)))?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let notifier = notifier.clone();
        async move {
            Ok::<SqsBatchResponse, Error>(lambda::batch_response(
                notifier.handle_batch(lambda::messages(event.payload)).await,
            ))
        }
    }))
    .await
}
