//! Usage counters in the table (one item per day) and usage metrics as EMF lines.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | usage | `USAGE#<yyyy-mm-dd>` | `META` (counters as `c:<name>` numbers; TTL `expires_at`, 400 days) |
//!
//! One `UpdateItem` per event adds all of its counters at once (`ADD`), so concurrent functions
//! never lose a count; reading a period is one `BatchGetItem` per 100 days.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use im_core::chat::BoxFuture;
use im_core::ports::StoreError;
use im_core::usage::{DayCounters, Usage, UsageLog, UsageRecorder};
use time::{Date, OffsetDateTime};

use crate::clients::AwsClients;
use crate::dynamo::{n, s, unavailable};

/// Counters are kept this long.
pub const RETENTION_DAYS: i64 = 400;
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
        if counters.is_empty() {
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
        let expires = day
            .midnight()
            .assume_utc()
            .unix_timestamp()
            .saturating_add(RETENTION_DAYS * 86_400);
        update
            .update_expression(format!(
                "ADD {} SET expires_at = if_not_exists(expires_at, :exp), item_type = :t",
                adds.join(", ")
            ))
            .expression_attribute_values(":exp", n(expires))
            .expression_attribute_values(":t", s("usage"))
            .send()
            .await
            .map_err(|e| unavailable("adding usage counters", e))?;
        Ok(())
    }

    async fn read(&self, from: Date, to: Date) -> Result<Vec<(Date, DayCounters)>, StoreError> {
        let mut days = Vec::new();
        let mut day = from;
        while day <= to {
            days.push(day);
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
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
            if let Err(e) = self.log.add_counters(at.date(), &usage.counters()).await {
                tracing::warn!(error = %e, "usage counters not recorded");
            }
        })
    }
}
