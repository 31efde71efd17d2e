//! Providers: the cached lookup the webhooks use, and the administration the CLI and API use.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use im_core::StoreError;
use im_core::chat::BoxFuture;
use im_core::directory::{ProviderSource, ResolvedProvider};
use im_core::provider::{self, Platform, PlatformSpec, Provider, ProviderConfig, ProviderStatus};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::clients::AwsClients;
use crate::dynamo::DynamoStore;
use crate::error::AwsError;
use crate::secrets::{ProviderSecrets, SecretCache};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("provider `{0}` not found")]
    NotFound(String),
    #[error("provider `{0}` already exists (use `im chatops update`)")]
    Exists(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Unknown names are remembered for a shorter time than known ones.
const NEGATIVE_TTL: Duration = Duration::from_secs(5);

pub struct ProviderDirectory {
    store: DynamoStore,
    secrets: SecretCache,
    ttl: Duration,
    prefix: String,
    cache: Mutex<HashMap<String, CachedProvider>>,
    /// One fetch at a time on a cache miss, so a burst of requests reads the record once.
    fetching: tokio::sync::Mutex<()>,
    extra_specs: Vec<&'static PlatformSpec>,
    /// Teams (`MEMO#teams`), cached like provider records.
    memo: crate::deliveries::DeliveryStore,
    teams: Mutex<Option<(Instant, Arc<im_core::team::Teams>)>>,
}

/// When a record was read, and what it was (`None`: no such provider).
type CachedProvider = (Instant, Option<Arc<Provider>>);

impl ProviderDirectory {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        let ttl = clients.config().providers_ttl;
        let prefix = clients.config().secrets_prefix.clone();
        Self {
            store: DynamoStore::new(clients.clone()),
            memo: crate::deliveries::DeliveryStore::new(clients.clone()),
            teams: Mutex::new(None),
            secrets: SecretCache::new(clients),
            ttl,
            prefix,
            cache: Mutex::new(HashMap::new()),
            fetching: tokio::sync::Mutex::new(()),
            extra_specs: Vec::new(),
        }
    }

    pub fn store(&self) -> &DynamoStore {
        &self.store
    }

    pub fn secrets(&self) -> &SecretCache {
        &self.secrets
    }

    /// The provider record, cached for the TTL (and unknown names for a few seconds).
    pub async fn provider(&self, name: &str) -> Result<Option<Arc<Provider>>, StoreError> {
        if let Some(hit) = self.cached(name) {
            return Ok(hit);
        }
        let _one_at_a_time = self.fetching.lock().await;
        self.fetch(name).await
    }

    fn cached(&self, name: &str) -> Option<Option<Arc<Provider>>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let (at, value) = cache.get(name)?;
        let ttl = if value.is_some() { self.ttl } else { NEGATIVE_TTL };
        (at.elapsed() < ttl).then(|| value.clone())
    }

    async fn fetch(&self, name: &str) -> Result<Option<Arc<Provider>>, StoreError> {
        // Another request may have fetched it while we waited.
        if let Some(hit) = self.cached(name) {
            return Ok(hit);
        }
        if provider::validate_name(name).is_err() {
            return Ok(None);
        }
        let value = self.store.get_provider(name).await?.map(Arc::new);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), (Instant::now(), value.clone()));
        Ok(value)
    }

    /// The provider and its secrets.
    pub async fn resolve(&self, name: &str) -> Result<Option<ResolvedProvider>, AwsError> {
        let Some(provider) = self.provider(name).await? else {
            return Ok(None);
        };
        let secrets = self.secrets.get(&provider.secret_name).await?;
        Ok(Some(ResolvedProvider { provider, secrets }))
    }

    /// Re-reads a provider's secrets after a verification failure, in case they were rotated.
    pub async fn refreshed_secrets(&self, provider: &Provider) -> Result<Option<Arc<ProviderSecrets>>, AwsError> {
        self.secrets.refresh(&provider.secret_name).await
    }

    /// Also accept providers of these platforms (adapters registered beside the built-in four).
    pub fn with_specs(mut self, specs: Vec<&'static PlatformSpec>) -> Self {
        self.extra_specs = specs;
        self
    }

    /// The configuration table of a platform this directory knows.
    pub fn spec(&self, platform: &str) -> Option<&'static PlatformSpec> {
        provider::spec(platform).or_else(|| self.extra_specs.iter().copied().find(|s| s.name == platform))
    }

    fn platform(&self, name: &str) -> Result<(Platform, &'static PlatformSpec), AdminError> {
        let platform = Platform::parse(name)
            .or_else(|_| Platform::named(&name.trim().to_ascii_lowercase()))
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
        let spec = self
            .spec(platform.as_str())
            .ok_or_else(|| AdminError::Invalid(im_core::provider::UnknownPlatform(name.to_string()).to_string()))?;
        Ok((platform, spec))
    }

    pub fn secret_name(&self, provider: &str) -> String {
        format!("{}chatops/{provider}", self.prefix)
    }

    fn forget(&self, name: &str) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
    }

    // ---- administration (CLI, REST API) ----

    pub async fn list(&self) -> Result<Vec<Provider>, StoreError> {
        self.store.list_providers().await
    }

    /// Adds a provider. Secret keys in `config` (bot_token, signing_secret …) go to Secrets
    /// Manager; the rest is checked and stored on the record.
    pub async fn add(&self, name: &str, platform: &str, config: Value) -> Result<Provider, AdminError> {
        provider::validate_name(name).map_err(AdminError::Invalid)?;
        let (platform, spec) = self.platform(platform)?;
        let (mut map, secrets) =
            ProviderConfig::split_for(config, spec).map_err(|e| AdminError::Invalid(e.to_string()))?;
        // A new provider trusts no one by default: unmapped people are viewers until mapped
        // (`im rbac set`) or the configuration says otherwise.
        if let Some(rbac) = map
            .entry("rbac")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
        {
            rbac.entry("default_role")
                .or_insert_with(|| Value::String("viewer".into()));
        }
        let parsed = ProviderConfig::for_platform(map, Some(spec)).map_err(|e| AdminError::Invalid(e.to_string()))?;
        if self.store.get_provider(name).await?.is_some() {
            return Err(AdminError::Exists(name.into()));
        }
        let now = OffsetDateTime::now_utc();
        let record = Provider {
            name: name.into(),
            platform,
            status: ProviderStatus::Active,
            config: parsed,
            secret_name: self.secret_name(name),
            created_at: now,
            updated_at: now,
        };
        self.secrets.write(&record.secret_name, &secrets).await?;
        match self.store.put_provider(&record, true).await {
            Ok(()) => {}
            Err(AwsError::ProviderExists(n)) => return Err(AdminError::Exists(n)),
            Err(e) => return Err(e.into()),
        }
        self.forget(name);
        Ok(record)
    }

    /// Merges `patch` into the provider's configuration (JSON merge patch: objects merge,
    /// `null` removes a key); secret keys in the patch update the secret.
    pub async fn update(
        &self,
        name: &str,
        patch: Option<Value>,
        status: Option<ProviderStatus>,
    ) -> Result<Provider, AdminError> {
        let (record, spec) = self.load(name).await?;
        let (patch_map, secret_patch) = match patch {
            Some(patch) => ProviderConfig::split_for(patch, spec).map_err(|e| AdminError::Invalid(e.to_string()))?,
            None => (Map::new(), BTreeMap::new()),
        };
        // Checked before anything is written; secrets before the record, so a record never
        // names a credential its secret does not hold.
        let updated = rewritten(record, spec, |record, current| {
            merge(current, patch_map);
            if let Some(status) = status {
                record.status = status;
            }
            Ok(())
        })?;
        if !secret_patch.is_empty() {
            let mut secrets = self.secrets.read_raw(&updated.secret_name).await?.unwrap_or_default();
            secrets.extend(secret_patch);
            self.secrets.write(&updated.secret_name, &secrets).await?;
        }
        self.store_record(updated).await
    }

    /// Replaces the provider's access policy (`rbac`) as a whole, checked like any
    /// configuration.
    pub async fn set_rbac(
        &self,
        name: &str,
        edit: impl FnOnce(&mut im_core::rbac::AccessPolicy) -> Result<(), String>,
    ) -> Result<Provider, AdminError> {
        let (record, spec) = self.load(name).await?;
        let updated = rewritten(record, spec, |record, current| {
            let mut policy = record.config.rbac.clone();
            edit(&mut policy).map_err(AdminError::Invalid)?;
            let policy = serde_json::to_value(&policy).map_err(|e| AdminError::Invalid(e.to_string()))?;
            current.insert("rbac".into(), policy);
            Ok(())
        })?;
        self.store_record(updated).await
    }

    /// The stored record (not the cached one) and its platform's table.
    async fn load(&self, name: &str) -> Result<(Provider, &'static PlatformSpec), AdminError> {
        let record = self
            .store
            .get_provider(name)
            .await?
            .ok_or_else(|| AdminError::NotFound(name.into()))?;
        let spec = self
            .spec(record.platform.as_str())
            .ok_or_else(|| AdminError::Invalid(format!("{} is not a platform of this version", record.platform)))?;
        Ok((record, spec))
    }

    async fn store_record(&self, mut record: Provider) -> Result<Provider, AdminError> {
        record.updated_at = OffsetDateTime::now_utc();
        self.store.put_provider(&record, false).await?;
        self.forget(&record.name);
        Ok(record)
    }

    /// The inbound keys `provider` still lacks ([`missing_inbound`]).
    pub async fn inbound_gaps(&self, provider: &Provider) -> Result<Vec<&'static str>, AdminError> {
        Ok(self.secret_summary(provider).await?.1)
    }

    /// The names of the keys in `provider`'s secret and the inbound keys it still lacks, from one
    /// read of the secret (values never leave this function).
    pub async fn secret_summary(&self, provider: &Provider) -> Result<(Vec<String>, Vec<&'static str>), AdminError> {
        let secrets = self.secrets.read_raw(&provider.secret_name).await?.unwrap_or_default();
        let gaps = match self.spec(provider.platform.as_str()) {
            Some(spec) => missing_inbound(spec, &provider.config, |k| {
                secrets.get(k).is_some_and(|v| !v.trim().is_empty())
            }),
            None => Vec::new(),
        };
        Ok((secrets.into_keys().collect(), gaps))
    }

    pub async fn remove(&self, name: &str) -> Result<Provider, AdminError> {
        let removed = self
            .store
            .delete_provider(name)
            .await?
            .ok_or_else(|| AdminError::NotFound(name.into()))?;
        self.secrets.delete(&removed.secret_name).await?;
        self.forget(name);
        Ok(removed)
    }
}

/// `record` after `edit` changed it and its configuration (as JSON), the configuration checked
/// as its platform does.
fn rewritten(
    mut record: Provider,
    spec: &'static PlatformSpec,
    edit: impl FnOnce(&mut Provider, &mut Map<String, Value>) -> Result<(), AdminError>,
) -> Result<Provider, AdminError> {
    let mut current = config_map(&record.config);
    edit(&mut record, &mut current)?;
    record.config =
        ProviderConfig::for_platform(current, Some(spec)).map_err(|e| AdminError::Invalid(e.to_string()))?;
    Ok(record)
}

/// A configuration as the JSON object it is stored as.
fn config_map(config: &ProviderConfig) -> Map<String, Value> {
    match serde_json::to_value(config) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The platform's inbound keys (Slack's signing secret, Discord's public key …) that are not set,
/// in the secret or, for keys that are not secret, in the configuration. A provider without them
/// sends notifications but refuses every inbound request (401) until they are added.
/// `has_secret(key)`: the secret holds a non-empty value for `key`.
pub fn missing_inbound(
    spec: &PlatformSpec,
    config: &ProviderConfig,
    has_secret: impl Fn(&str) -> bool,
) -> Vec<&'static str> {
    spec.inbound_keys
        .iter()
        .copied()
        .filter(|k| !has_secret(k) && config.platform_key(k).is_none())
        .collect()
}

impl ProviderSource for ProviderDirectory {
    fn provider<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Arc<Provider>>, StoreError>> {
        Box::pin(ProviderDirectory::provider(self, name))
    }

    fn secrets<'a>(&'a self, provider: &'a Provider) -> BoxFuture<'a, Result<Arc<ProviderSecrets>, StoreError>> {
        Box::pin(async move {
            self.secrets
                .get(&provider.secret_name)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        })
    }

    fn refresh_secrets<'a>(
        &'a self,
        provider: &'a Provider,
    ) -> BoxFuture<'a, Result<Option<Arc<ProviderSecrets>>, StoreError>> {
        Box::pin(async move {
            self.refreshed_secrets(provider)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        })
    }

    fn all(&self) -> BoxFuture<'_, Result<Vec<Arc<Provider>>, StoreError>> {
        Box::pin(async move { Ok(self.list().await?.into_iter().map(Arc::new).collect()) })
    }

    fn teams(&self) -> BoxFuture<'_, Result<Arc<im_core::team::Teams>, StoreError>> {
        Box::pin(async move {
            if let Some((at, teams)) = self.teams.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
                && at.elapsed() < self.ttl
            {
                return Ok(teams.clone());
            }
            let teams = Arc::new(self.read_teams().await?);
            *self.teams.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), teams.clone()));
            Ok(teams)
        })
    }
}

impl ProviderDirectory {
    /// Every team, as stored now.
    pub async fn read_teams(&self) -> Result<im_core::team::Teams, StoreError> {
        im_core::team::Teams::load(&self.memo, OffsetDateTime::now_utc().unix_timestamp()).await
    }

    /// Replaces every team.
    pub async fn write_teams(&self, teams: &im_core::team::Teams) -> Result<(), StoreError> {
        use im_core::conversation::Memo;
        let json = serde_json::to_string(teams).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.memo.put(im_core::team::TEAMS_KEY, &json, None).await?;
        *self.teams.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }
}

/// RFC 7386 JSON merge patch on objects.
fn merge(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(&key);
            }
            Value::Object(inner) => match target.get_mut(&key) {
                Some(Value::Object(existing)) => merge(existing, inner),
                _ => {
                    let mut fresh = Map::new();
                    merge(&mut fresh, inner);
                    target.insert(key, Value::Object(fresh));
                }
            },
            other => {
                target.insert(key, other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_merges_objects_and_removes_nulls() {
        let Value::Object(mut target) = json!({"a": {"x": 1, "y": 2}, "b": 1, "c": 3}) else {
            unreachable!()
        };
        let Value::Object(patch) = json!({"a": {"y": null, "z": 3}, "b": null, "d": {"e": 1}}) else {
            unreachable!()
        };
        merge(&mut target, patch);
        assert_eq!(
            Value::Object(target),
            json!({"a": {"x": 1, "z": 3}, "c": 3, "d": {"e": 1}})
        );
    }
}
