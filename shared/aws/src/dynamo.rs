//! The one DynamoDB table (see DESIGN.md "Data"), mapped with `serde_dynamo`.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | incident | `INC#<id>` | `META` (GSI1: status/time, GSI2: service) |
//! | timeline entry | `INC#<id>` | `TL#<rfc3339>#<ulid>` (GSI1: `TLDAY#<date>` / time, across incidents) |
//! | outbox | `INC#<id>` | `OUT#<event-id>` (GSI3 while unpublished: sparse) |
//! | provider | `PROVIDER#<name>` | `META` (GSI1: all providers) |
//! | counter | `COUNTER#INC#<year>` | `META` |
//! | idempotency | `IDEM#<key>` | `META` (TTL `expires_at`) |

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use im_core::ports::{Change, CommitError, IncidentStore, StoreError};
use im_core::provider::Provider;
use im_core::{Incident, IncidentEvent, IncidentId, Status, TimelineEntry};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod privacy;
pub use privacy::{Findings, Forgotten};

use crate::clients::AwsClients;
use crate::error::AwsError;

pub const GSI1: &str = "GSI1";
pub const GSI2: &str = "GSI2";
pub const GSI3: &str = "GSI3";
const META: &str = "META";
const OUTBOX: &str = "OUTBOX";
const PROVIDERS: &str = "PROVIDERS";
/// Published outbox items are kept this long for inspection, then expire.
const OUTBOX_RETENTION_DAYS: i64 = 7;

type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub fn incident_pk(id: &IncidentId) -> String {
    format!("INC#{id}")
}

fn service_key(service: &str) -> String {
    format!("SERVICE#{}", service.trim().to_lowercase())
}

#[derive(Serialize, Deserialize)]
struct IncidentItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    #[serde(rename = "GSI2PK", default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(rename = "GSI2SK", default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    item_type: String,
    #[serde(flatten)]
    incident: Incident,
}

impl IncidentItem {
    fn new(incident: &Incident) -> Self {
        let when = format!("{}#{}", rfc3339(incident.declared_at), incident.id);
        Self {
            pk: incident_pk(&incident.id),
            sk: META.into(),
            gsi1pk: format!("STATUS#{}", incident.status),
            gsi1sk: when.clone(),
            gsi2pk: incident.service.as_deref().map(service_key),
            gsi2sk: incident.service.as_ref().map(|_| when),
            item_type: "incident".into(),
            incident: incident.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct TimelineItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    /// `TLDAY#<yyyy-mm-dd>`: the day's entries across incidents, by time (GSI1).
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    item_type: String,
    #[serde(flatten)]
    entry: TimelineEntry,
}

#[derive(Serialize, Deserialize)]
struct OutboxItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    /// Present only while unpublished: the sparse GSI3 holds exactly the unpublished items.
    #[serde(rename = "GSI3PK", default, skip_serializing_if = "Option::is_none")]
    gsi3pk: Option<String>,
    #[serde(rename = "GSI3SK", default, skip_serializing_if = "Option::is_none")]
    gsi3sk: Option<String>,
    item_type: String,
    event_id: String,
    created_at: String,
    /// The event as published to SQS (JSON), so a re-publish sends exactly the same bytes.
    event: String,
}

#[derive(Serialize, Deserialize)]
struct ProviderItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    item_type: String,
    #[serde(flatten)]
    provider: Provider,
}

/// Every item a query returns, following its pages.
pub(crate) async fn query_all<T: serde::de::DeserializeOwned>(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    what: &str,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        // Boxed: the SDK's request future is deep, and callers nest this further (the compiler's
        // layout computation of a Lambda's main future overflowed without it).
        let page = Box::pin(query.clone().set_exclusive_start_key(start.take()).send())
            .await
            .map_err(|e| unavailable(what, e))?;
        for item in page.items() {
            out.push(serde_dynamo::from_item(item.clone()).map_err(|e| corrupt(what, e))?);
        }
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    Ok(out)
}

fn to_item<T: Serialize>(value: &T) -> Result<Item, CommitError> {
    serde_dynamo::to_item(value).map_err(|e| CommitError::Store(corrupt("serialising an item", e)))
}

/// Reads day partitions newest first, from `today` back at most `days` days: `key(day)` names
/// the index (or the table), the partition attribute and its value. `take` sees each item and
/// answers whether enough has been read.
pub(crate) async fn newest_by_day(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    today: time::Date,
    days: u32,
    key: impl Fn(time::Date) -> (Option<&'static str>, &'static str, String),
    mut take: impl FnMut(&Item) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let mut day = today;
    for _ in 0..days.max(1) {
        let (index, attribute, value) = key(day);
        let mut start: Option<Item> = None;
        loop {
            let answer = client
                .query()
                .table_name(table)
                .set_index_name(index.map(str::to_string))
                .key_condition_expression("#pk = :day")
                .expression_attribute_names("#pk", attribute)
                .expression_attribute_values(":day", s(value.clone()))
                .scan_index_forward(false)
                .limit(100)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("reading the newest items of a day", e))?;
            for item in answer.items() {
                if take(item)? {
                    return Ok(());
                }
            }
            match answer.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        match day.previous_day() {
            Some(previous) => day = previous,
            None => break,
        }
    }
    Ok(())
}

pub(crate) fn unavailable(what: &str, err: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(format!("{what}: {}", DisplayErrorContext(err)))
}

fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {err}"))
}

/// An unpublished outbox item found by the sweep.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub incident_id: IncidentId,
    pub event_id: String,
    pub created_at: String,
    pub event_json: String,
}

#[derive(Clone)]
pub struct DynamoStore {
    clients: Arc<AwsClients>,
    table: String,
}

impl DynamoStore {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        let table = clients.config().table_name.clone();
        Self { clients, table }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The newest timeline entries across incidents that `keep` accepts, newest first: day by
    /// day backwards from `today` through the by-day index (never a scan), at most `days` days.
    pub async fn recent_timeline(
        &self,
        today: time::Date,
        days: u32,
        limit: usize,
        keep: &(dyn Fn(&TimelineEntry) -> bool + Sync),
    ) -> Result<Vec<(IncidentId, TimelineEntry)>, StoreError> {
        let day_key = |day: time::Date| (Some(GSI1), "GSI1PK", format!("TLDAY#{day}"));
        let mut out = Vec::new();
        newest_by_day(self.client().await, &self.table, today, days, day_key, |item| {
            let parsed: TimelineItem =
                serde_dynamo::from_item(item.clone()).map_err(|e| corrupt("timeline item", e))?;
            let id =
                IncidentId::parse(parsed.pk.trim_start_matches("INC#")).map_err(|e| corrupt("timeline item key", e))?;
            if keep(&parsed.entry) {
                out.push((id, parsed.entry));
            }
            Ok(out.len() >= limit)
        })
        .await?;
        Ok(out)
    }

    async fn client(&self) -> &aws_sdk_dynamodb::Client {
        self.clients.dynamo().await
    }

    fn put(
        &self,
        item: Item,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some((expression, values)) = condition {
            put = put.condition_expression(expression);
            for (name, value) in values {
                put = put.expression_attribute_values(name, value);
            }
        }
        let put = put.build().map_err(|e| corrupt("building put", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Unpublished outbox items created before `before`, oldest first, from the sparse index.
    pub async fn unpublished_before(
        &self,
        before: OffsetDateTime,
        limit: i32,
    ) -> Result<Vec<PendingEvent>, StoreError> {
        let out = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .index_name(GSI3)
            .key_condition_expression("GSI3PK = :o AND GSI3SK < :before")
            .expression_attribute_values(":o", s(OUTBOX))
            .expression_attribute_values(":before", s(rfc3339(before)))
            .limit(limit)
            .send()
            .await
            .map_err(|e| unavailable("querying the outbox", e))?;
        out.items()
            .iter()
            .map(|item| {
                let item: OutboxItem = serde_dynamo::from_item(item.clone()).map_err(|e| corrupt("outbox item", e))?;
                let incident_id = item
                    .pk
                    .strip_prefix("INC#")
                    .and_then(|id| IncidentId::parse(id).ok())
                    .ok_or_else(|| corrupt("outbox key", &item.pk))?;
                Ok(PendingEvent {
                    incident_id,
                    event_id: item.event_id,
                    created_at: item.created_at,
                    event_json: item.event,
                })
            })
            .collect()
    }

    /// Takes an outbox item out of the unpublished index.
    pub async fn mark_event_published(&self, incident_id: &IncidentId, event_id: &str) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let expires = (now + time::Duration::days(OUTBOX_RETENTION_DAYS)).unix_timestamp();
        let result = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .key("PK", s(incident_pk(incident_id)))
            .key("SK", s(format!("OUT#{event_id}")))
            .update_expression("REMOVE GSI3PK, GSI3SK SET published_at = :now, expires_at = :exp")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":now", s(rfc3339(now)))
            .expression_attribute_values(":exp", n(expires))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Corrupt(format!("no outbox item for event {event_id}")))
            }
            Err(e) => Err(unavailable("marking an event published", e)),
        }
    }

    // ---- providers ----

    pub async fn get_provider(&self, name: &str) -> Result<Option<Provider>, StoreError> {
        let item: Option<ProviderItem> = self.get_meta(format!("PROVIDER#{name}"), "provider").await?;
        Ok(item.map(|i| i.provider))
    }

    /// Reads the `META` item of a partition (strongly consistent).
    async fn get_meta<T: serde::de::DeserializeOwned>(&self, pk: String, what: &str) -> Result<Option<T>, StoreError> {
        let out = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(META))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(&format!("reading a {what}"), e))?;
        out.item
            .map(|item| serde_dynamo::from_item(item).map_err(|e| corrupt(&format!("{what} item"), e)))
            .transpose()
    }

    /// Creates (`create_only`) or replaces a provider record.
    pub async fn put_provider(&self, provider: &Provider, create_only: bool) -> Result<(), AwsError> {
        let item = ProviderItem {
            pk: format!("PROVIDER#{}", provider.name),
            sk: META.into(),
            gsi1pk: PROVIDERS.into(),
            gsi1sk: provider.name.clone(),
            item_type: "provider".into(),
            provider: provider.clone(),
        };
        let item = serde_dynamo::to_item(item).map_err(|e| AwsError::Malformed(e.to_string()))?;
        let mut put = self
            .client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        if create_only {
            put = put.condition_expression("attribute_not_exists(PK)");
        }
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(AwsError::ProviderExists(provider.name.clone()))
            }
            Err(e) => Err(AwsError::service("writing a provider", e)),
        }
    }

    pub async fn delete_provider(&self, name: &str) -> Result<Option<Provider>, AwsError> {
        let out = self
            .client()
            .await
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(format!("PROVIDER#{name}")))
            .key("SK", s(META))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| AwsError::service("deleting a provider", e))?;
        out.attributes
            .map(|item| {
                serde_dynamo::from_item::<_, ProviderItem>(item)
                    .map(|i| i.provider)
                    .map_err(|e| AwsError::Malformed(e.to_string()))
            })
            .transpose()
    }

    pub async fn list_providers(&self) -> Result<Vec<Provider>, StoreError> {
        let items: Vec<ProviderItem> = self.gsi1_all(PROVIDERS, "listing providers").await?;
        Ok(items.into_iter().map(|i| i.provider).collect())
    }

    /// Every item under one GSI1 partition, all pages.
    async fn gsi1_all<T: serde::de::DeserializeOwned>(&self, key: &str, what: &str) -> Result<Vec<T>, StoreError> {
        let query = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("GSI1PK = :p")
            .expression_attribute_values(":p", s(key));
        query_all(query, what).await
    }

    /// Writes one timeline (or audit) item as it is, outside a change's transaction.
    async fn put_timeline(&self, item: &TimelineItem, what: &str) -> Result<(), StoreError> {
        let item = serde_dynamo::to_item(item).map_err(|e| corrupt(what, e))?;
        self.client()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| unavailable(what, e))?;
        Ok(())
    }

    /// Deletes one item.
    async fn delete_keys(&self, pk: &str, sk: &str, what: &str) -> Result<(), StoreError> {
        self.client()
            .await
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .send()
            .await
            .map_err(|e| unavailable(what, e))?;
        Ok(())
    }

    /// Incidents declared in `[from, to)`, any status (weekly summaries).
    async fn query_declared_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<Incident>, StoreError> {
        let mut all = Vec::new();
        for status in [Status::Open, Status::Acknowledged, Status::Resolved, Status::Closed] {
            let query = self
                .client()
                .await
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("GSI1PK = :s AND GSI1SK BETWEEN :from AND :to")
                .expression_attribute_values(":s", s(format!("STATUS#{status}")))
                .expression_attribute_values(":from", s(rfc3339(from)))
                .expression_attribute_values(":to", s(rfc3339(to)));
            let items: Vec<IncidentItem> = query_all(query, "listing incidents by date").await?;
            all.extend(
                items
                    .into_iter()
                    .map(|i| i.incident)
                    .filter(|i| i.declared_at >= from && i.declared_at < to),
            );
        }
        Ok(all)
    }

    async fn query_status(&self, status: Status, limit: usize) -> Result<Vec<Incident>, StoreError> {
        let out = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("GSI1PK = :s")
            .expression_attribute_values(":s", s(format!("STATUS#{status}")))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| unavailable("listing incidents", e))?;
        out.items()
            .iter()
            .map(|item| {
                serde_dynamo::from_item::<_, IncidentItem>(item.clone())
                    .map(|i| i.incident)
                    .map_err(|e| corrupt("incident item", e))
            })
            .collect()
    }
}

impl DynamoStore {
    /// Every closed incident (GSI1 `STATUS#closed`, all pages): the retention sweep's input.
    pub async fn closed_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        let items: Vec<IncidentItem> = self
            .gsi1_all(&format!("STATUS#{}", Status::Closed), "closed incidents")
            .await?;
        Ok(items.into_iter().map(|i| i.incident).collect())
    }

    /// Deletes an incident's whole partition (the incident, its timeline, posted messages and
    /// outbox); the year's id counter is another item and stays, so ids are never reused.
    /// Returns how many items went.
    pub async fn delete_incident(&self, id: &IncidentId) -> Result<usize, StoreError> {
        #[derive(Deserialize)]
        struct Keys {
            #[serde(rename = "PK")]
            pk: String,
            #[serde(rename = "SK")]
            sk: String,
        }
        let query = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(incident_pk(id)))
            .projection_expression("PK, SK");
        let keys: Vec<Keys> = query_all(query, "an incident's items").await?;
        // The incident item last: a sweep that stops half-way finds it again.
        let (meta, rest): (Vec<Keys>, Vec<Keys>) = keys.into_iter().partition(|k| k.sk == META);
        for k in rest.iter().chain(meta.iter()) {
            self.delete_keys(&k.pk, &k.sk, "deleting an incident's items").await?;
        }
        Ok(rest.len() + meta.len())
    }
}

/// Which item of a cancelled transaction failed its condition.
fn cancelled_items(
    err: &SdkError<TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Option<Vec<String>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(ex)) => Some(
            ex.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_string())
                .collect(),
        ),
        _ => None,
    }
}

impl IncidentStore for DynamoStore {
    async fn audit(&self, incident: Option<&IncidentId>, entry: &TimelineEntry) -> Result<(), StoreError> {
        let pk = match incident {
            Some(id) => incident_pk(id),
            None => format!("AUDIT#{}", entry.timestamp.date()),
        };
        let item = TimelineItem {
            pk,
            sk: format!("TL#{}#{}", rfc3339(entry.timestamp), ulid::Ulid::generate()),
            gsi1pk: None,
            gsi1sk: None,
            item_type: "audit".into(),
            entry: entry.clone(),
        };
        self.put_timeline(&item, "recording an audit entry").await
    }

    async fn audit_day(&self, day: time::Date) -> Result<Vec<TimelineEntry>, StoreError> {
        let query = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :tl)")
            .expression_attribute_values(":pk", s(format!("AUDIT#{day}")))
            .expression_attribute_values(":tl", s("TL#"));
        let items: Vec<TimelineItem> = query_all(query, "audit entries").await?;
        Ok(items.into_iter().map(|i| i.entry).collect())
    }

    async fn declared_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<Incident>, StoreError> {
        self.query_declared_between(from, to).await
    }

    async fn allocate_id(&self, year: i32) -> Result<IncidentId, StoreError> {
        let out = self
            .client()
            .await
            .update_item()
            .table_name(&self.table)
            .key("PK", s(format!("COUNTER#INC#{year}")))
            .key("SK", s(META))
            .update_expression("ADD seq :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| unavailable("incrementing the incident counter", e))?;
        let seq = out
            .attributes()
            .and_then(|a| a.get("seq"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| StoreError::Corrupt("counter returned no number".into()))?;
        Ok(IncidentId::new(year, seq))
    }

    async fn get(&self, id: &IncidentId) -> Result<Option<Incident>, StoreError> {
        let item: Option<IncidentItem> = self.get_meta(incident_pk(id), "incident").await?;
        Ok(item.map(|i| i.incident))
    }

    async fn commit(&self, change: &Change) -> Result<(), CommitError> {
        let incident = change.incident();
        let pk = incident_pk(&incident.id);
        let incident_item = to_item(&IncidentItem::new(incident))?;
        let incident_put = match change.expected_version {
            None => self.put(incident_item, Some(("attribute_not_exists(PK)", vec![])))?,
            Some(v) => self.put(incident_item, Some(("version = :expected", vec![(":expected", n(v))])))?,
        };
        let entry_sk = format!("TL#{}#{}", rfc3339(change.entry().timestamp), change.event.event_id);
        let timeline = to_item(&TimelineItem {
            pk: pk.clone(),
            sk: entry_sk,
            gsi1pk: Some(format!("TLDAY#{}", change.entry().timestamp.date())),
            gsi1sk: Some(format!(
                "{}#{}",
                rfc3339(change.entry().timestamp),
                change.event.event_id
            )),
            item_type: "timeline".into(),
            entry: change.entry().clone(),
        })?;
        let event_json =
            serde_json::to_string(&change.event).map_err(|e| CommitError::Store(corrupt("serialising event", e)))?;
        let outbox = to_item(&OutboxItem {
            pk: pk.clone(),
            sk: format!("OUT#{}", change.event.event_id),
            gsi3pk: Some(OUTBOX.into()),
            gsi3sk: Some(format!("{}#{}", rfc3339(change.event.at), change.event.event_id)),
            item_type: "outbox".into(),
            event_id: change.event.event_id.clone(),
            created_at: rfc3339(change.event.at),
            event: event_json,
        })?;
        let mut items = vec![incident_put, self.put(timeline, None)?, self.put(outbox, None)?];
        let idem_index = change.idempotency_key.as_ref().map(|_| items.len());
        if let Some(key) = &change.idempotency_key {
            let mut idem = Item::new();
            idem.insert("PK".into(), s(format!("IDEM#{key}")));
            idem.insert("SK".into(), s(META));
            idem.insert("item_type".into(), s("idempotency"));
            idem.insert("incident_id".into(), s(incident.id.as_str()));
            idem.insert("expires_at".into(), n(change.idempotency_expires_at.unix_timestamp()));
            // TTL deletion is lazy: an expired key counts as absent.
            items.push(self.put(
                idem,
                Some((
                    "attribute_not_exists(PK) OR expires_at < :now",
                    vec![(":now", n(change.entry().timestamp.unix_timestamp()))],
                )),
            )?);
        }

        let result = self
            .client()
            .await
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match cancelled_items(&err) {
                Some(codes) => {
                    let failed = |i: usize| codes.get(i).is_some_and(|c| c == "ConditionalCheckFailed");
                    if idem_index.is_some_and(failed) {
                        Err(CommitError::Duplicate)
                    } else if failed(0) || codes.iter().any(|c| c == "TransactionConflict") {
                        Err(CommitError::Conflict)
                    } else {
                        Err(CommitError::Store(StoreError::Unavailable(format!(
                            "transaction cancelled: {codes:?}"
                        ))))
                    }
                }
                None => Err(CommitError::Store(unavailable("committing a change", err))),
            },
        }
    }

    async fn list_active(&self, limit: usize) -> Result<Vec<Incident>, StoreError> {
        let (open, acknowledged) = tokio::join!(
            self.query_status(Status::Open, limit),
            self.query_status(Status::Acknowledged, limit)
        );
        let mut all = open?;
        all.extend(acknowledged?);
        all.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.declared_at.cmp(&a.declared_at)));
        all.truncate(limit);
        Ok(all)
    }

    async fn timeline(&self, id: &IncidentId, limit: usize) -> Result<Vec<TimelineEntry>, StoreError> {
        let out = self
            .client()
            .await
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :tl)")
            .expression_attribute_values(":pk", s(incident_pk(id)))
            .expression_attribute_values(":tl", s("TL#"))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| unavailable("reading the timeline", e))?;
        let mut entries = out
            .items()
            .iter()
            .map(|item| {
                serde_dynamo::from_item::<_, TimelineItem>(item.clone())
                    .map(|i| i.entry)
                    .map_err(|e| corrupt("timeline item", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        entries.reverse();
        Ok(entries)
    }

    async fn mark_published(&self, event: &IncidentEvent) -> Result<(), StoreError> {
        self.mark_event_published(&event.incident.id, &event.event_id).await
    }
}
