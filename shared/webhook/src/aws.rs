//! The gateway on AWS: DynamoDB, SQS and Secrets Manager adapters behind the core's ports.

use std::sync::Arc;

use im_aws::deliveries::{DeliveryStore, SystemTimer};
use im_aws::sqs::SqsWorkQueue;
use im_aws::{AwsClients, DynamoStore, ProviderDirectory, SqsPublisher};
use im_core::delivery::Deliverer;
use im_core::directory::PlatformDirectory;
use im_core::inbound::Platforms;
use im_core::{Clock, IncidentService};

use crate::{Gateway, Parts};

pub type AwsGateway = Gateway<DynamoStore, SqsPublisher>;

/// The delivery algorithm over DynamoDB, with every registered platform.
pub fn deliverer(clients: &Arc<AwsClients>, providers: Arc<ProviderDirectory>, platforms: Platforms) -> Deliverer {
    let store = Arc::new(DeliveryStore::new(clients.clone()));
    Deliverer::new(
        store.clone(),
        store,
        Arc::new(PlatformDirectory::new(providers, platforms)),
        Arc::new(DynamoStore::new(clients.clone())),
        Arc::new(SystemTimer),
        clients.config().delivery.retry_policy(),
    )
}

/// Wires the adapters. Nothing is contacted until the first request.
pub fn gateway(clients: Arc<AwsClients>, clock: Arc<dyn Clock>, platforms: Platforms) -> AwsGateway {
    let providers = Arc::new(ProviderDirectory::new(clients.clone()));
    Gateway::new(Parts {
        service: IncidentService::new(
            DynamoStore::new(clients.clone()),
            SqsPublisher::new(clients.clone()),
            clock.clone(),
        ),
        deliverer: Arc::new(deliverer(&clients, providers.clone(), platforms.clone())),
        providers,
        platforms,
        inbox: Arc::new(DeliveryStore::new(clients.clone())),
        work: Arc::new(SqsWorkQueue::new(clients.clone())),
        clock,
        usage: Arc::new(im_aws::usage::AwsUsage::new(clients.clone())),
        memo: Arc::new(DeliveryStore::new(clients)),
        roles: Arc::new(im_platforms::policy::HttpRoleSource::new()),
        workflows: Arc::new(im_platforms::policy::HttpWorkflows::new()),
    })
}

/// The gateway of a Lambda function: configuration from the environment, every platform.
pub fn from_env() -> Result<AwsGateway, im_aws::AwsError> {
    let config = im_aws::Config::from_env()?;
    let platforms = im_platforms::registry(&config);
    Ok(gateway(
        Arc::new(AwsClients::new(config)),
        Arc::new(im_core::SystemClock),
        platforms,
    ))
}
