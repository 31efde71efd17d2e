//! Providers with their secrets, and the messenger of each through its platform's adapter.

use std::sync::Arc;

use crate::chat::{BoxFuture, ChatError};
use crate::delivery::{Directory, Target};
use crate::inbound::Platforms;
use crate::ports::StoreError;
use crate::provider::{Provider, ProviderSecrets};

/// A provider and its secrets, ready to verify a request or build a client.
#[derive(Clone, Debug)]
pub struct ResolvedProvider {
    pub provider: Arc<Provider>,
    pub secrets: Arc<ProviderSecrets>,
}

/// Where provider records and secrets come from (cached in a real store).
pub trait ProviderSource: Send + Sync {
    /// The provider record (no secrets read); `None` if there is no such provider.
    fn provider<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<Arc<Provider>>, StoreError>>;

    /// The provider's secrets (cached).
    fn secrets<'a>(&'a self, provider: &'a Provider) -> BoxFuture<'a, Result<Arc<ProviderSecrets>, StoreError>>;

    /// Re-reads a provider's secrets (after a refused signature or token), unless they were read
    /// moments ago: `None` then, meaning "use what you have".
    fn refresh_secrets<'a>(
        &'a self,
        provider: &'a Provider,
    ) -> BoxFuture<'a, Result<Option<Arc<ProviderSecrets>>, StoreError>>;

    /// Every provider (the router fans out to them).
    fn all(&self) -> BoxFuture<'_, Result<Vec<Arc<Provider>>, StoreError>>;

    /// Every team ([`crate::team`]; cached in a real store).
    fn teams(&self) -> BoxFuture<'_, Result<Arc<crate::team::Teams>, StoreError>> {
        Box::pin(async { Ok(Arc::default()) })
    }

    /// The provider and its secrets; `None` if there is no such provider.
    fn resolve<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ResolvedProvider>, StoreError>> {
        Box::pin(async move {
            let Some(provider) = self.provider(name).await? else {
                return Ok(None);
            };
            let secrets = self.secrets(&provider).await?;
            Ok(Some(ResolvedProvider { provider, secrets }))
        })
    }
}

/// The delivery [`Directory`]: each provider's messenger from its platform's adapter.
pub struct PlatformDirectory {
    providers: Arc<dyn ProviderSource>,
    platforms: Platforms,
}

impl PlatformDirectory {
    pub fn new(providers: Arc<dyn ProviderSource>, platforms: Platforms) -> Self {
        Self { providers, platforms }
    }

    pub fn providers(&self) -> &Arc<dyn ProviderSource> {
        &self.providers
    }

    pub fn platforms(&self) -> &Platforms {
        &self.platforms
    }

    /// The messenger for a resolved provider.
    pub fn target_for(&self, resolved: &ResolvedProvider) -> Result<Target, ChatError> {
        let platform = resolved.provider.platform.as_str();
        let adapter = self
            .platforms
            .get(platform)
            .ok_or_else(|| ChatError::Permanent(format!("{platform} delivery is not available in this version")))?;
        Ok(Target::new(
            resolved.provider.clone(),
            adapter.messenger(&resolved.provider, &resolved.secrets)?,
        ))
    }
}

impl Directory for PlatformDirectory {
    fn target<'a>(&'a self, provider: &'a str) -> BoxFuture<'a, Result<Result<Target, ChatError>, StoreError>> {
        Box::pin(async move {
            let teams = self.providers.teams().await?;
            Ok(match self.providers.resolve(provider).await? {
                Some(resolved) => self.target_for(&resolved).map(|t| Target { teams, ..t }),
                None => Err(ChatError::Permanent(format!("provider `{provider}` not found"))),
            })
        })
    }

    fn refresh<'a>(&'a self, provider: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            match self.providers.resolve(provider).await {
                Ok(Some(resolved)) => matches!(self.providers.refresh_secrets(&resolved.provider).await, Ok(Some(_))),
                _ => false,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on::block_on;
    use crate::memory::{MemoryProviders, StubAdapter, provider};
    use crate::provider::spec;

    fn directory() -> (PlatformDirectory, Arc<MemoryProviders>) {
        let providers = Arc::new(MemoryProviders::default());
        providers.add(provider("acme", "slack", serde_json::json!({})), &[("token", "t1")]);
        providers.add(provider("guild", "discord", serde_json::json!({})), &[("token", "t2")]);
        providers.add(provider("locked", "slack", serde_json::json!({})), &[]);
        let platforms = Platforms::new().with(Arc::new(StubAdapter::new(spec("slack").expect("slack"), 3)));
        (PlatformDirectory::new(providers.clone(), platforms), providers)
    }

    fn target(d: &PlatformDirectory, name: &str) -> Result<Target, ChatError> {
        block_on(d.target(name)).expect("store works")
    }

    #[test]
    fn a_provider_is_sent_to_through_its_platform_with_its_secrets() {
        let (d, _) = directory();
        let t = target(&d, "acme").expect("registered platform");
        assert_eq!(t.provider.name, "acme");
        assert_eq!(t.messenger.platform(), "slack");
        assert_eq!(d.platforms().names(), ["slack"]);
        assert!(matches!(target(&d, "nobody"), Err(ChatError::Permanent(m)) if m.contains("`nobody` not found")));
        assert!(
            matches!(target(&d, "guild"), Err(ChatError::Permanent(m)) if m == "discord delivery is not available in this version")
        );
        assert!(matches!(target(&d, "locked"), Err(ChatError::Unauthorized(_))));
    }

    #[test]
    fn refreshing_reads_a_rotated_secret_for_a_known_provider_only() {
        let (d, providers) = directory();
        providers.rotate("locked", &[("token", "fresh")]);
        assert!(
            matches!(target(&d, "locked"), Err(ChatError::Unauthorized(_))),
            "cached"
        );
        assert!(block_on(d.refresh("locked")));
        assert!(target(&d, "locked").is_ok(), "the rotated secret is used");
        assert!(!block_on(d.refresh("nobody")));
        assert_eq!(block_on(d.providers().all()).expect("listed").len(), 3);
    }
}
