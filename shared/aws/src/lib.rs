//! im-aws: adapters for DynamoDB, SQS and Secrets Manager, configuration from the environment,
//! and the HTTP/Lambda glue the functions share.

pub mod clients;
pub mod config;
pub mod deliveries;
pub mod dlq;
pub mod dynamo;
pub mod error;
pub mod lambda;
pub mod metrics;
pub mod poller;
pub mod providers;
pub mod secrets;
pub mod sqs;
pub mod telemetry;
pub mod usage;
pub mod web;

#[cfg(feature = "provision")]
pub mod provision;

pub use clients::AwsClients;
pub use config::Config;
pub use dynamo::DynamoStore;
pub use error::AwsError;
pub use im_core::directory::ResolvedProvider;
pub use providers::ProviderDirectory;
pub use secrets::{ProviderSecrets, SecretCache};
pub use sqs::SqsPublisher;
