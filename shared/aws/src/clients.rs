//! SDK clients, built once per process and only when a request first needs them: start-up
//! does no work, and a request that needs no AWS call makes none.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls;
use tokio::sync::OnceCell;

use crate::config::Config;

pub struct AwsClients {
    config: Config,
    sdk: OnceCell<SdkConfig>,
    dynamo: OnceCell<aws_sdk_dynamodb::Client>,
    sqs: OnceCell<aws_sdk_sqs::Client>,
    secrets: OnceCell<aws_sdk_secretsmanager::Client>,
}

impl AwsClients {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            sdk: OnceCell::new(),
            dynamo: OnceCell::new(),
            sqs: OnceCell::new(),
            secrets: OnceCell::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    async fn sdk(&self) -> &SdkConfig {
        self.sdk
            .get_or_init(|| async {
                // One TLS stack (rustls + ring) instead of the SDK default's two.
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
                    .build_https();
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .http_client(http)
                    .region(Region::new(self.config.region.clone()));
                if let Some(endpoint) = &self.config.endpoint_url {
                    loader = loader.endpoint_url(endpoint);
                    // The local emulator accepts any credentials; do not require them in the environment.
                    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                            "test",
                            "test",
                            None,
                            None,
                            "local-emulator",
                        ));
                    }
                }
                loader.load().await
            })
            .await
    }

    pub async fn dynamo(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamo
            .get_or_init(|| async { aws_sdk_dynamodb::Client::new(self.sdk().await) })
            .await
    }

    pub async fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs
            .get_or_init(|| async { aws_sdk_sqs::Client::new(self.sdk().await) })
            .await
    }

    pub async fn secrets(&self) -> &aws_sdk_secretsmanager::Client {
        self.secrets
            .get_or_init(|| async { aws_sdk_secretsmanager::Client::new(self.sdk().await) })
            .await
    }
}
