//! `im privacy export|forget --user <platform>:<user-id>` and `/api/v1/privacy/users/…`:
//! everything stored about a chat user, as JSON; or that user pseudonymised in timelines and
//! incidents, with their role mappings, context, questions, identity checks and on-call places
//! removed. Both are written to the audit partition (a forget under the pseudonym only).

use im_core::privacy::{Subject, pseudonym};
use serde_json::{Value, json};

use im_core::provider::Provider;

use crate::ops::{Failure, Sender};

impl Sender {
    /// Who `user` is, and the providers of their platform (read once).
    async fn subject(&self, user: &str) -> Result<(Subject, Vec<Provider>), Failure> {
        let platform = user
            .split_once(':')
            .map(|(p, _)| p.trim().to_lowercase())
            .unwrap_or_default();
        let providers: Vec<Provider> = self
            .directory
            .list()
            .await?
            .into_iter()
            .filter(|p| p.platform.as_str() == platform)
            .collect();
        let subject = Subject::parse(user, providers.iter().map(|p| p.name.clone()).collect()).map_err(Failure)?;
        Ok((subject, providers))
    }

    /// Everything stored about `user` (`slack:U0123ABCD`).
    pub async fn privacy_export(&self, user: &str) -> Result<Value, Failure> {
        let (subject, providers) = self.subject(user).await?;
        let store = im_aws::DynamoStore::new(self.clients.clone());
        let found = store.find_person(&subject).await?;
        // Role mappings of the user in providers of their platform.
        let mappings: Vec<Value> = providers
            .iter()
            .filter_map(|p| {
                p.config.rbac.users.get(&subject.user).map(
                    |m| json!({"provider": p.name, "role": m.role, "person": m.person, "automation": m.automation}),
                )
            })
            .collect();
        let incidents: Vec<Value> = found
            .incidents
            .iter()
            .map(|(i, roles)| json!({"incident": i, "roles": roles}))
            .collect();
        let memos: Vec<Value> = found
            .memos
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
        let export = json!({
            "user": subject.identity(),
            "providers": subject.providers,
            "role_mappings": mappings,
            "incidents": incidents,
            "timeline_entries": found.entries,
            "conversation_and_checks": memos,
            "on_call_rotations": found.rotations,
        });
        self.audit(
            "privacy.export",
            &subject.platform,
            json!({"user": subject.identity(), "incidents": found.incidents.len(), "entries": found.entries.len()}),
        )
        .await;
        Ok(export)
    }

    /// Pseudonymises `user` everywhere and removes what only serves them; returns the
    /// pseudonym and what changed.
    pub async fn privacy_forget(&self, user: &str) -> Result<Value, Failure> {
        let (subject, providers) = self.subject(user).await?;
        let store = im_aws::DynamoStore::new(self.clients.clone());
        let found = store.find_person(&subject).await?;
        let name = pseudonym();
        let done = store.forget_person(&subject, found, &name).await?;
        let mut unmapped = Vec::new();
        for provider in providers
            .iter()
            .filter(|p| p.config.rbac.users.contains_key(&subject.user))
        {
            self.directory
                .set_rbac(&provider.name, |policy| {
                    policy.users.remove(&subject.user);
                    Ok(())
                })
                .await
                .map_err(|e| Failure(e.to_string()))?;
            unmapped.push(provider.name.clone());
        }
        let summary = json!({
            "pseudonym": name,
            "incidents": done.incidents,
            "timeline_entries": done.entries,
            "conversation_and_checks": done.memos,
            "on_call_rotations": done.rotations,
            "role_mappings": unmapped,
        });
        // The audit names the pseudonym, not the person.
        self.audit("privacy.forget", &subject.platform, summary.clone()).await;
        Ok(summary)
    }
}
