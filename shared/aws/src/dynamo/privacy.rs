//! A chat user's data in the table, found and pseudonymised ([`im_core::privacy`]). An export or
//! a forget is a rare operator request, so it reads the table with a paginated `Scan` (the hot
//! paths never scan).

use aws_sdk_dynamodb::types::AttributeValue;
use im_core::oncall::Rotation;
use im_core::ports::StoreError;
use im_core::privacy::{Subject, leave_rotation};
use im_core::{Incident, TimelineEntry};
use serde::Serialize;

use super::{DynamoStore, IncidentItem, Item, TimelineItem, corrupt, unavailable};

/// What the table holds about a person.
#[derive(Debug, Default, Serialize)]
pub struct Findings {
    /// Incidents they have a role in, with the roles.
    pub incidents: Vec<(Incident, Vec<&'static str>)>,
    /// Timeline and audit entries by or about them.
    pub entries: Vec<TimelineEntry>,
    /// Conversation context, open questions, identity checks, counters: key and value.
    pub memos: Vec<(String, String)>,
    /// On-call rotations they are in (or have an override in).
    pub rotations: Vec<Rotation>,
    #[serde(skip)]
    entry_keys: Vec<EntryKeys>,
    #[serde(skip)]
    memo_keys: Vec<(String, String)>,
}

/// Where an entry is stored (keys, index keys, item type), to write it back in place.
type EntryKeys = (String, String, Option<String>, Option<String>, String);

/// What a forget changed.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Forgotten {
    pub incidents: usize,
    pub entries: usize,
    pub memos: usize,
    pub rotations: usize,
}

fn text(item: &Item, key: &str) -> String {
    item.get(key).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
}

impl DynamoStore {
    async fn scan_all(&self) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = Box::pin(
                self.client()
                    .await
                    .scan()
                    .table_name(&self.table)
                    .set_exclusive_start_key(start.take())
                    .send(),
            )
            .await
            .map_err(|e| unavailable("reading the table for a privacy request", e))?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Everything stored about `subject`.
    pub async fn find_person(&self, subject: &Subject) -> Result<Findings, StoreError> {
        let mut found = Findings::default();
        let identity = subject.identity();
        for item in self.scan_all().await? {
            match text(&item, "item_type").as_str() {
                "incident" => {
                    let parsed: IncidentItem = serde_dynamo::from_item(item).map_err(|e| corrupt("incident", e))?;
                    let roles = subject.roles_in(&parsed.incident);
                    if !roles.is_empty() {
                        found.incidents.push((parsed.incident, roles));
                    }
                }
                "timeline" | "audit" => {
                    let parsed: TimelineItem =
                        serde_dynamo::from_item(item).map_err(|e| corrupt("timeline item", e))?;
                    if subject.in_entry(&parsed.entry) {
                        found
                            .entry_keys
                            .push((parsed.pk, parsed.sk, parsed.gsi1pk, parsed.gsi1sk, parsed.item_type));
                        found.entries.push(parsed.entry);
                    }
                }
                "memo" | "counter" => {
                    let pk = text(&item, "PK");
                    let key = pk.trim_start_matches("MEMO#").to_string();
                    let value = item
                        .get("value")
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .or_else(|| item.get("count").and_then(|v| v.as_n().ok()).cloned())
                        .unwrap_or_default();
                    if subject.owns_memo(&key) {
                        found.memo_keys.push((pk, text(&item, "SK")));
                        found.memos.push((key, value));
                    } else if key.starts_with("oncall:")
                        && let Ok(rotation) = serde_json::from_str::<Rotation>(&value)
                        && (rotation.participants.contains(&identity)
                            || rotation.overrides.iter().any(|o| o.user == identity))
                    {
                        found.rotations.push(rotation);
                    }
                }
                _ => {}
            }
        }
        Ok(found)
    }

    /// Pseudonymises `subject` everywhere [`Self::find_person`] found them: incidents (written
    /// conditionally on their version), entries, rotations; context, questions, identity checks
    /// and counters are deleted.
    pub async fn forget_person(
        &self,
        subject: &Subject,
        found: Findings,
        pseudonym: &str,
    ) -> Result<Forgotten, StoreError> {
        let mut done = Forgotten::default();
        let mut names: Vec<String> = found.incidents.iter().flat_map(|(i, _)| subject.names_in(i)).collect();
        names.sort();
        names.dedup();
        for (incident, _) in &found.incidents {
            for _attempt in 0..3 {
                let Some(mut current) = im_core::ports::IncidentStore::get(self, &incident.id).await? else {
                    break;
                };
                let version = current.version;
                if !subject.pseudonymise_incident(&mut current, pseudonym) {
                    break;
                }
                let item = serde_dynamo::to_item(IncidentItem::new(&current)).map_err(|e| corrupt("incident", e))?;
                let written = self
                    .client()
                    .await
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("version = :v")
                    .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
                    .send()
                    .await;
                match written {
                    Ok(_) => {
                        done.incidents += 1;
                        break;
                    }
                    // Changed meanwhile: read it again.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_conditional_check_failed_exception()) => {}
                    Err(e) => return Err(unavailable("pseudonymising an incident", e)),
                }
            }
        }
        for ((pk, sk, gsi1pk, gsi1sk, item_type), mut entry) in found.entry_keys.into_iter().zip(found.entries) {
            subject.pseudonymise_entry(&mut entry, &names, pseudonym);
            let item = TimelineItem {
                pk,
                sk,
                gsi1pk,
                gsi1sk,
                item_type,
                entry,
            };
            self.put_timeline(&item, "pseudonymising an entry").await?;
            done.entries += 1;
        }
        for (pk, sk) in found.memo_keys {
            self.delete_keys(&pk, &sk, "forgetting context").await?;
            done.memos += 1;
        }
        // Rotations are memos: written as `im oncall set` writes them.
        let memo = crate::deliveries::DeliveryStore::new(self.clients.clone());
        for mut rotation in found.rotations {
            if leave_rotation(&mut rotation, &subject.identity()) {
                let value = serde_json::to_string(&rotation).map_err(|e| corrupt("rotation", e))?;
                im_core::conversation::Memo::put(
                    &memo,
                    &im_core::oncall::rotation_key(&rotation.service),
                    &value,
                    None,
                )
                .await?;
                done.rotations += 1;
            }
        }
        Ok(done)
    }
}
