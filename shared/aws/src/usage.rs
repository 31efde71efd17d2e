//! Usage counters in the table (one item per day) and usage metrics as EMF lines.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | usage | `USAGE#<yyyy-mm-dd>` | `META` (counters as `c:<name>` numbers; TTL `expires_at`, 400 days) |
//! | request record | `HOOKS#<yyyy-mm-dd>` | `<rfc3339>#<ulid>` (no body; TTL `expires_at`, 7 days) |
//!
//! One `UpdateItem` per event adds all of its counters at once (`ADD`), so concurrent functions
//! never lose a count; reading a period is one `BatchGetItem` per 100 days.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use im_core::chat::BoxFuture;
use im_core::ports::StoreError;
use im_core::usage::{DayCounters, RequestRecord, Usage, UsageLog, UsageRecorder};
use time::{Date, OffsetDateTime};

use crate::clients::AwsClients;
use crate::dynamo::{n, newest_by_day, s, unavailable};

/// Counters are kept this long.
pub const RETENTION_DAYS: i64 = 400;
/// Request records are kept this long.
pub const REQUEST_RETENTION_DAYS: i64 = 7;
const PREFIX: &str = "c:";

pub struct DynamoUsage {
    clients: Arc<AwsClients>,
    table: String,
}

fn key(day: Date) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("PK".to_string(), s(format!("USAGE#{day}"))),
        ("SK".to_string(), s("META")),
    ])
}

impl DynamoUsage {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        let table = clients.config().table_name.clone();
        Self { clients, table }
    }

    async fn add_counters(&self, day: Date, counters: &[(String, u64)]) -> Result<(), StoreError> {
        self.add_and_set(day, counters, &[]).await
    }

    /// Adds `counters` and sets `stamps` on the day's record, in one `UpdateItem`.
    async fn add_and_set(
        &self,
        day: Date,
        counters: &[(String, u64)],
        stamps: &[(String, u64)],
    ) -> Result<(), StoreError> {
        if counters.is_empty() && stamps.is_empty() {
            return Ok(());
        }
        let mut update = self
            .clients
            .dynamo()
            .await
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(day)));
        let mut adds = Vec::new();
        for (i, (name, value)) in counters.iter().enumerate() {
            adds.push(format!("#c{i} :c{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), format!("{PREFIX}{name}"))
                .expression_attribute_values(format!(":c{i}"), n(value));
        }
        let mut sets = Vec::new();
        for (i, (name, value)) in stamps.iter().enumerate() {
            sets.push(format!("#s{i} = :s{i}"));
            update = update
                .expression_attribute_names(format!("#s{i}"), format!("{PREFIX}{name}"))
                .expression_attribute_values(format!(":s{i}"), n(value));
        }
        let expires = day
            .midnight()
            .assume_utc()
            .unix_timestamp()
            .saturating_add(RETENTION_DAYS * 86_400);
        update
            .update_expression(format!(
                "{}SET {}expires_at = if_not_exists(expires_at, :exp), item_type = :t",
                if adds.is_empty() {
                    String::new()
                } else {
                    format!("ADD {} ", adds.join(", "))
                },
                sets.iter().map(|s| format!("{s}, ")).collect::<String>()
            ))
            .expression_attribute_values(":exp", n(expires))
            .expression_attribute_values(":t", s("usage"))
            .send()
            .await
            .map_err(|e| unavailable("adding usage counters", e))?;
        Ok(())
    }

    /// Keeps one request record (7 days).
    pub async fn keep_request(&self, record: &RequestRecord) -> Result<(), StoreError> {
        let at = time::OffsetDateTime::parse(&record.at, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
        let mut item = serde_dynamo::to_item::<_, HashMap<String, AttributeValue>>(record)
            .map_err(|e| StoreError::Corrupt(format!("request record: {e}")))?;
        item.insert("PK".into(), s(format!("HOOKS#{}", at.date())));
        item.insert("SK".into(), s(format!("{}#{}", record.at, ulid::Ulid::generate())));
        item.insert("item_type".into(), s("request"));
        item.insert(
            "expires_at".into(),
            n(at.unix_timestamp() + REQUEST_RETENTION_DAYS * 86_400),
        );
        self.clients
            .dynamo()
            .await
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| unavailable("keeping a request record", e))?;
        Ok(())
    }

    /// The newest request records, newest first, from `today` back over the retention.
    pub async fn recent_requests(&self, today: Date, limit: usize) -> Result<Vec<RequestRecord>, StoreError> {
        let mut out = Vec::new();
        let day_key = |day: Date| (None, "PK", format!("HOOKS#{day}"));
        let days = u32::try_from(REQUEST_RETENTION_DAYS).unwrap_or(7);
        newest_by_day(self.clients.dynamo().await, &self.table, today, days, day_key, |item| {
            let record: RequestRecord = serde_dynamo::from_item(item.clone())
                .map_err(|e| StoreError::Corrupt(format!("request record: {e}")))?;
            out.push(record);
            Ok(out.len() >= limit)
        })
        .await?;
        Ok(out)
    }

    async fn read(&self, from: Date, to: Date) -> Result<Vec<(Date, DayCounters)>, StoreError> {
        let days = im_core::usage::days_between(from, to);
        let mut out = Vec::new();
        for chunk in days.chunks(100) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(|d| key(*d)).collect()))
                .consistent_read(true)
                .build()
                .map_err(|e| unavailable("reading usage", e))?;
            // Unprocessed keys (throttling) are asked again, a few times.
            for _ in 0..5 {
                let answer = self
                    .clients
                    .dynamo()
                    .await
                    .batch_get_item()
                    .request_items(&self.table, pending.clone())
                    .send()
                    .await
                    .map_err(|e| unavailable("reading usage", e))?;
                for item in answer
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    if let Some(parsed) = parse(item) {
                        out.push(parsed);
                    }
                }
                match answer.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                    Some(rest) if !rest.keys().is_empty() => pending = rest.clone(),
                    _ => break,
                }
            }
        }
        out.sort_by_key(|(day, _)| *day);
        Ok(out)
    }
}

fn parse(item: &HashMap<String, AttributeValue>) -> Option<(Date, DayCounters)> {
    let pk = item.get("PK")?.as_s().ok()?;
    let day = Date::parse(
        pk.strip_prefix("USAGE#")?,
        &time::format_description::well_known::Iso8601::DATE,
    )
    .ok()?;
    let counters = item
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(PREFIX)?.to_string(), v.as_n().ok()?.parse().ok()?)))
        .collect();
    Some((day, counters))
}

impl UsageLog for DynamoUsage {
    fn add<'a>(&'a self, day: Date, counters: &'a [(String, u64)]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.add_counters(day, counters))
    }

    fn add_with_stamps<'a>(
        &'a self,
        day: Date,
        counters: &'a [(String, u64)],
        stamps: &'a [(String, u64)],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.add_and_set(day, counters, stamps))
    }

    fn days(&self, from: Date, to: Date) -> BoxFuture<'_, Result<Vec<(Date, DayCounters)>, StoreError>> {
        Box::pin(self.read(from, to))
    }
}

/// What the functions record usage with: an EMF line (namespace `im/chatops`) and the day's
/// counters. A failure to count is logged, never passed on.
pub struct AwsUsage {
    log: DynamoUsage,
}

impl AwsUsage {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        Self {
            log: DynamoUsage::new(clients),
        }
    }
}

impl UsageRecorder for AwsUsage {
    fn record(&self, at: OffsetDateTime, usage: Usage) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            crate::metrics::emit_usage(&usage.metric(), at);
            if let Err(e) = self
                .log
                .add_and_set(at.date(), &usage.counters(), &usage.stamps(at))
                .await
            {
                tracing::warn!(error = %e, "usage counters not recorded");
            }
        })
    }

    fn request(&self, record: RequestRecord) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self.log.keep_request(&record).await {
                tracing::warn!(error = %e, "request record not kept");
            }
        })
    }
}
