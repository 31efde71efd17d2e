use aws_sdk_dynamodb::error::DisplayErrorContext;

/// Failures of the AWS adapters outside the store port (providers, secrets, queues).
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("{what}: {message}")]
    Service { what: &'static str, message: String },
    #[error("provider `{0}` not found")]
    ProviderNotFound(String),
    #[error("provider `{0}` already exists")]
    ProviderExists(String),
    #[error("secret `{name}` is missing key `{key}`")]
    MissingSecretKey { name: String, key: String },
    #[error("malformed data: {0}")]
    Malformed(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] im_core::StoreError),
}

impl AwsError {
    pub fn service(what: &'static str, err: impl std::error::Error) -> Self {
        Self::Service {
            what,
            message: DisplayErrorContext(err).to_string(),
        }
    }
}
