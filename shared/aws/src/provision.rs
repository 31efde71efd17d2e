//! Creates the DynamoDB tables and SQS queues that `template.yaml` declares, under a given stack
//! name, so the local stack and every test use exactly the deployed shapes.
//!
//! Understands what our template uses: `!Sub "${AWS::StackName}…"`, `!GetAtt X.Arn` for
//! redrive targets, and literal properties.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;

use crate::clients::AwsClients;
use crate::error::AwsError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub attribute: String,
    /// `HASH` or `RANGE`
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub keys: Vec<KeySpec>,
    pub projection: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub logical_id: String,
    pub name: String,
    /// Attribute name → `S` / `N` / `B`.
    pub attributes: BTreeMap<String, String>,
    pub keys: Vec<KeySpec>,
    pub indexes: Vec<IndexSpec>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub name: String,
    /// SQS attribute name (`VisibilityTimeout` …) → value.
    pub attributes: BTreeMap<String, String>,
    /// (logical id of the dead-letter queue, maxReceiveCount)
    pub redrive: Option<(String, u32)>,
}

#[derive(Debug, Clone, Default)]
pub struct StackSpec {
    pub tables: Vec<TableSpec>,
    pub queues: Vec<QueueSpec>,
}

/// Names of what was created, by logical id.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    pub tables: BTreeMap<String, String>,
    pub queue_urls: BTreeMap<String, String>,
}

fn bad(msg: impl Into<String>) -> AwsError {
    AwsError::Config(format!("template.yaml: {}", msg.into()))
}

/// `!Sub "…"`, `{"Fn::Sub": "…"}` or a plain string, with `${AWS::StackName}` substituted.
fn string(value: &Value, stack: &str) -> Result<String, AwsError> {
    let raw = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Tagged(t) if t.tag == "Sub" => string(&t.value, stack)?,
        Value::Mapping(m) if m.len() == 1 && m.get("Fn::Sub").is_some() => {
            string(m.get("Fn::Sub").unwrap_or(&Value::Null), stack)?
        }
        other => return Err(bad(format!("cannot resolve {other:?} locally"))),
    };
    let resolved = raw.replace("${AWS::StackName}", stack);
    if resolved.contains("${") {
        return Err(bad(format!("unresolved substitution in `{raw}`")));
    }
    Ok(resolved)
}

/// `!GetAtt X.Arn` or `{"Fn::GetAtt": ["X", "Arn"]}` → `X`.
fn get_att_arn(value: &Value) -> Result<String, AwsError> {
    match value {
        Value::Tagged(t) if t.tag == "GetAtt" => match &t.value {
            Value::String(s) => s
                .strip_suffix(".Arn")
                .map(str::to_string)
                .ok_or_else(|| bad(format!("expected X.Arn, got {s}"))),
            Value::Sequence(parts) if parts.len() == 2 && parts[1] == "Arn" => {
                parts[0].as_str().map(str::to_string).ok_or_else(|| bad("GetAtt"))
            }
            _ => Err(bad("GetAtt")),
        },
        Value::Mapping(m) => match m.get("Fn::GetAtt") {
            Some(Value::Sequence(parts)) if parts.len() == 2 && parts[1] == "Arn" => {
                parts[0].as_str().map(str::to_string).ok_or_else(|| bad("GetAtt"))
            }
            _ => Err(bad("expected Fn::GetAtt [X, Arn]")),
        },
        _ => Err(bad("deadLetterTargetArn must be !GetAtt <queue>.Arn")),
    }
}

fn field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.get(key)
}

fn keys(value: Option<&Value>) -> Result<Vec<KeySpec>, AwsError> {
    value
        .and_then(Value::as_sequence)
        .ok_or_else(|| bad("KeySchema must be a list"))?
        .iter()
        .map(|k| {
            Ok(KeySpec {
                attribute: k
                    .get("AttributeName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("KeySchema.AttributeName"))?
                    .to_string(),
                key_type: k
                    .get("KeyType")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("KeySchema.KeyType"))?
                    .to_string(),
            })
        })
        .collect()
}

fn table(logical_id: &str, props: &Value, stack: &str) -> Result<TableSpec, AwsError> {
    let name = string(
        field(props, "TableName").ok_or_else(|| bad("TableName is required"))?,
        stack,
    )?;
    let attributes = field(props, "AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or_else(|| bad("AttributeDefinitions"))?
        .iter()
        .map(|a| {
            let n = a.get("AttributeName").and_then(Value::as_str);
            let t = a.get("AttributeType").and_then(Value::as_str);
            match (n, t) {
                (Some(n), Some(t)) => Ok((n.to_string(), t.to_string())),
                _ => Err(bad("AttributeDefinitions entries need AttributeName and AttributeType")),
            }
        })
        .collect::<Result<_, _>>()?;
    let indexes = match field(props, "GlobalSecondaryIndexes").and_then(Value::as_sequence) {
        None => Vec::new(),
        Some(list) => list
            .iter()
            .map(|g| {
                Ok(IndexSpec {
                    name: g
                        .get("IndexName")
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad("IndexName"))?
                        .to_string(),
                    keys: keys(g.get("KeySchema"))?,
                    projection: g
                        .get("Projection")
                        .and_then(|p| p.get("ProjectionType"))
                        .and_then(Value::as_str)
                        .unwrap_or("ALL")
                        .to_string(),
                })
            })
            .collect::<Result<_, AwsError>>()?,
    };
    let ttl_attribute = field(props, "TimeToLiveSpecification")
        .filter(|t| t.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
        .and_then(|t| t.get("AttributeName"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(TableSpec {
        logical_id: logical_id.into(),
        name,
        attributes,
        keys: keys(field(props, "KeySchema"))?,
        indexes,
        ttl_attribute,
    })
}

/// CloudFormation SQS properties that map to queue attributes of the same name.
const QUEUE_ATTRIBUTES: &[&str] = &[
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "DelaySeconds",
    "MaximumMessageSize",
    "FifoQueue",
    "ContentBasedDeduplication",
    "SqsManagedSseEnabled",
];

fn queue(logical_id: &str, props: &Value, stack: &str) -> Result<QueueSpec, AwsError> {
    let name = string(
        field(props, "QueueName").ok_or_else(|| bad("QueueName is required"))?,
        stack,
    )?;
    let mut attributes = BTreeMap::new();
    for key in QUEUE_ATTRIBUTES {
        if let Some(v) = field(props, key) {
            attributes.insert((*key).to_string(), string(v, stack)?);
        }
    }
    let redrive = match field(props, "RedrivePolicy") {
        None => None,
        Some(policy) => {
            let target = get_att_arn(
                policy
                    .get("deadLetterTargetArn")
                    .ok_or_else(|| bad("deadLetterTargetArn"))?,
            )?;
            let max = policy
                .get("maxReceiveCount")
                .and_then(Value::as_u64)
                .and_then(|m| u32::try_from(m).ok())
                .ok_or_else(|| bad("maxReceiveCount"))?;
            Some((target, max))
        }
    };
    Ok(QueueSpec {
        logical_id: logical_id.into(),
        name,
        attributes,
        redrive,
    })
}

/// Reads the tables and queues of a template for the given stack name.
pub fn parse_template(yaml: &str, stack: &str) -> Result<StackSpec, AwsError> {
    let doc: Value = serde_yaml::from_str(yaml).map_err(|e| bad(e.to_string()))?;
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| bad("no Resources"))?;
    let mut spec = StackSpec::default();
    for (id, resource) in resources {
        let id = id.as_str().ok_or_else(|| bad("resource ids must be strings"))?;
        let props = resource.get("Properties").cloned().unwrap_or(Value::Null);
        match resource.get("Type").and_then(Value::as_str) {
            Some("AWS::DynamoDB::Table") => spec.tables.push(table(id, &props, stack)?),
            Some("AWS::SQS::Queue") => spec.queues.push(queue(id, &props, stack)?),
            _ => {}
        }
    }
    // Dead-letter queues first: their ARNs are needed by the queues that redrive to them.
    spec.queues.sort_by_key(|q| q.redrive.is_some());
    Ok(spec)
}

fn key_type(k: &KeySpec) -> KeyType {
    if k.key_type == "HASH" {
        KeyType::Hash
    } else {
        KeyType::Range
    }
}

fn key_elements(keys: &[KeySpec]) -> Result<Vec<KeySchemaElement>, AwsError> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute)
                .key_type(key_type(k))
                .build()
                .map_err(|e| bad(e.to_string()))
        })
        .collect()
}

async fn create_table(clients: &AwsClients, t: &TableSpec) -> Result<(), AwsError> {
    let dynamo = clients.dynamo().await;
    let mut create = dynamo
        .create_table()
        .table_name(&t.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_elements(&t.keys)?));
    for (name, kind) in &t.attributes {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(|e| bad(e.to_string()))?,
        );
    }
    for index in &t.indexes {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_elements(&index.keys)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .build(),
                )
                .build()
                .map_err(|e| bad(e.to_string()))?,
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
            return Ok(());
        }
        Err(e) => return Err(AwsError::service("creating a table", e)),
    }
    dynamo
        .wait_until_table_exists()
        .table_name(&t.name)
        .wait(std::time::Duration::from_secs(60))
        .await
        .map_err(|e| AwsError::service("waiting for a table", e))?;
    if let Some(attribute) = &t.ttl_attribute {
        dynamo
            .update_time_to_live()
            .table_name(&t.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()
                    .map_err(|e| bad(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| AwsError::service("enabling TTL", e))?;
    }
    Ok(())
}

/// Creates every table and queue of `spec` (existing ones are left as they are).
pub async fn provision(clients: &AwsClients, spec: &StackSpec) -> Result<Provisioned, AwsError> {
    let mut out = Provisioned::default();
    for t in &spec.tables {
        create_table(clients, t).await?;
        out.tables.insert(t.logical_id.clone(), t.name.clone());
    }
    let sqs = clients.sqs().await;
    let mut arns: BTreeMap<String, String> = BTreeMap::new();
    for q in &spec.queues {
        let mut create = sqs.create_queue().queue_name(&q.name);
        for (k, v) in &q.attributes {
            create = create.attributes(QueueAttributeName::from(k.as_str()), v);
        }
        if let Some((dlq, max)) = &q.redrive {
            let arn = arns
                .get(dlq)
                .ok_or_else(|| bad(format!("{} redrives to unknown queue {dlq}", q.logical_id)))?;
            let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max});
            create = create.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let url = create
            .send()
            .await
            .map_err(|e| AwsError::service("creating a queue", e))?
            .queue_url
            .ok_or_else(|| bad("CreateQueue returned no URL"))?;
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| AwsError::service("reading queue attributes", e))?;
        let arn = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| bad("queue has no ARN"))?;
        arns.insert(q.logical_id.clone(), arn);
        out.queue_urls.insert(q.logical_id.clone(), url);
    }
    Ok(out)
}

/// Deletes what [`provision`] created (tests clean up after themselves).
pub async fn teardown(clients: &AwsClients, provisioned: &Provisioned) -> Result<(), AwsError> {
    for name in provisioned.tables.values() {
        let _ = clients.dynamo().await.delete_table().table_name(name).send().await;
    }
    for url in provisioned.queue_urls.values() {
        let _ = clients.sqs().await.delete_queue().queue_url(url).send().await;
    }
    Ok(())
}
