//! Provider secrets (bot tokens, signing secrets …) in Secrets Manager, one JSON secret per
//! provider, read through a TTL cache so a rotation takes effect without a redeploy.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::SdkError;
pub use im_core::provider::ProviderSecrets;

use crate::clients::AwsClients;
use crate::error::AwsError;

struct Cached {
    fetched: Instant,
    value: Arc<ProviderSecrets>,
}

pub struct SecretCache {
    clients: Arc<AwsClients>,
    ttl: Duration,
    min_refresh: Duration,
    entries: Mutex<HashMap<String, Cached>>,
}

impl SecretCache {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        let config = clients.config();
        let (ttl, min_refresh) = (config.secrets_ttl, config.secrets_min_refresh);
        Self {
            clients,
            ttl,
            min_refresh,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, name: &str, max_age: Duration) -> Option<Arc<ProviderSecrets>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(name)
            .filter(|c| c.fetched.elapsed() < max_age)
            .map(|c| c.value.clone())
    }

    /// The secret, from the cache while it is younger than the TTL.
    pub async fn get(&self, name: &str) -> Result<Arc<ProviderSecrets>, AwsError> {
        match self.cached(name, self.ttl) {
            Some(value) => Ok(value),
            None => self.fetch(name).await,
        }
    }

    /// Re-reads the secret unless it was read very recently (so bad requests cannot make us
    /// hammer Secrets Manager). `None` means "not re-read: use what you have".
    pub async fn refresh(&self, name: &str) -> Result<Option<Arc<ProviderSecrets>>, AwsError> {
        if self.cached(name, self.min_refresh).is_some() {
            return Ok(None);
        }
        self.fetch(name).await.map(Some)
    }

    async fn fetch(&self, name: &str) -> Result<Arc<ProviderSecrets>, AwsError> {
        let json = self
            .current(name)
            .await?
            .ok_or_else(|| AwsError::Malformed(format!("secret `{name}` does not exist")))?;
        let value = Arc::new(ProviderSecrets::from_json(&json).map_err(AwsError::Malformed)?);
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).insert(
            name.to_string(),
            Cached {
                fetched: Instant::now(),
                value: value.clone(),
            },
        );
        Ok(value)
    }

    /// The current version's string value; `None` if there is no such secret.
    async fn current(&self, name: &str) -> Result<Option<String>, AwsError> {
        // Ask for AWSCURRENT explicitly: without a stage some implementations return a stale version.
        let result = self
            .clients
            .secrets()
            .await
            .get_secret_value()
            .secret_id(name)
            .version_stage("AWSCURRENT")
            .send()
            .await;
        match result {
            Ok(out) => out
                .secret_string
                .map(Some)
                .ok_or_else(|| AwsError::Malformed(format!("secret `{name}` has no string value"))),
            Err(SdkError::ServiceError(e)) if e.err().is_resource_not_found_exception() => Ok(None),
            Err(e) => Err(AwsError::service("reading a secret", e)),
        }
    }

    /// Reads a secret's raw key/values (for merging updates), bypassing the cache.
    pub async fn read_raw(&self, name: &str) -> Result<Option<BTreeMap<String, String>>, AwsError> {
        self.current(name)
            .await?
            .map(|json| {
                serde_json::from_str(&json)
                    .map_err(|_| AwsError::Malformed(format!("secret `{name}` is not a JSON object of strings")))
            })
            .transpose()
    }

    /// Creates the secret, or writes a new current version if it exists.
    pub async fn write(&self, name: &str, values: &BTreeMap<String, String>) -> Result<(), AwsError> {
        let json = serde_json::to_string(values).map_err(|e| AwsError::Malformed(e.to_string()))?;
        let client = self.clients.secrets().await;
        let created = client
            .create_secret()
            .name(name)
            .description("ChatOps provider tokens (managed by im)")
            .secret_string(&json)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(SdkError::ServiceError(e)) if e.err().is_resource_exists_exception() => {
                client
                    .put_secret_value()
                    .secret_id(name)
                    .secret_string(&json)
                    .send()
                    .await
                    .map_err(|e| AwsError::service("updating a secret", e))?;
            }
            Err(e) => return Err(AwsError::service("creating a secret", e)),
        }
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
        Ok(())
    }

    pub async fn delete(&self, name: &str) -> Result<(), AwsError> {
        let result = self
            .clients
            .secrets()
            .await
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await;
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().is_resource_not_found_exception() => Ok(()),
            Err(e) => Err(AwsError::service("deleting a secret", e)),
        }
    }
}
