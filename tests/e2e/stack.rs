//! The local stack is created from template.yaml: what exists matches what the template declares.

use aws_sdk_sqs::types::QueueAttributeName;
use im_tests::{TestStack, template};
use serde_yaml::Value;

/// (index name, key schema, projection type)
type Index = (String, Vec<(String, String)>, String);

fn resource<'a>(doc: &'a Value, id: &str) -> &'a Value {
    &doc["Resources"][id]["Properties"]
}

#[tokio::test]
async fn table_and_queues_match_the_template() {
    let stack = TestStack::new().await;
    let doc: Value = serde_yaml::from_str(&template()).unwrap_or_else(|e| panic!("{e}"));

    // Table: keys, attribute types, indexes, TTL.
    let declared = resource(&doc, "IncidentsTable");
    let table_name = format!("{}-incidents", stack.name);
    let dynamo = stack.clients.dynamo().await;
    let described = dynamo
        .describe_table()
        .table_name(&table_name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let table = described.table().unwrap_or_else(|| panic!("table described"));
    let keys: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string()))
        .collect();
    let want_keys: Vec<(String, String)> = declared["KeySchema"]
        .as_sequence()
        .unwrap_or_else(|| panic!("KeySchema"))
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap_or("").into(),
                k["KeyType"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(keys, want_keys);
    let mut attrs: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name().to_string(), a.attribute_type().as_str().to_string()))
        .collect();
    attrs.sort();
    let mut want_attrs: Vec<(String, String)> = declared["AttributeDefinitions"]
        .as_sequence()
        .unwrap_or_else(|| panic!("AttributeDefinitions"))
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap_or("").into(),
                a["AttributeType"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    want_attrs.sort();
    assert_eq!(attrs, want_attrs);
    let mut indexes: Vec<Index> = table
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap_or("").to_string(),
                g.key_schema()
                    .iter()
                    .map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string()))
                    .collect(),
                g.projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    indexes.sort();
    let mut want_indexes: Vec<Index> = declared["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap_or_else(|| panic!("GlobalSecondaryIndexes"))
        .iter()
        .map(|g| {
            (
                g["IndexName"].as_str().unwrap_or("").into(),
                g["KeySchema"]
                    .as_sequence()
                    .unwrap_or_else(|| panic!("index keys"))
                    .iter()
                    .map(|k| {
                        (
                            k["AttributeName"].as_str().unwrap_or("").into(),
                            k["KeyType"].as_str().unwrap_or("").into(),
                        )
                    })
                    .collect(),
                g["Projection"]["ProjectionType"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    want_indexes.sort();
    assert_eq!(indexes, want_indexes);
    assert_eq!(indexes.len(), 3);
    let ttl = dynamo
        .describe_time_to_live()
        .table_name(&table_name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ttl = ttl.time_to_live_description().unwrap_or_else(|| panic!("ttl"));
    assert_eq!(
        ttl.attribute_name(),
        declared["TimeToLiveSpecification"]["AttributeName"].as_str()
    );
    assert_eq!(ttl.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));

    // Queues: every declared queue exists with its attributes and redrive.
    let sqs = stack.clients.sqs().await;
    for (id, resource_doc) in doc["Resources"].as_mapping().unwrap_or_else(|| panic!("Resources")) {
        if resource_doc["Type"] != "AWS::SQS::Queue" {
            continue;
        }
        let id = id.as_str().unwrap_or_default();
        let props = &resource_doc["Properties"];
        let url = &stack.provisioned.queue_urls[id];
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let attrs = attrs.attributes().cloned().unwrap_or_default();
        for key in [
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds",
        ] {
            if let Some(v) = props[key].as_u64() {
                assert_eq!(
                    attrs.get(&QueueAttributeName::from(key)),
                    Some(&v.to_string()),
                    "{id}.{key}"
                );
            }
        }
        if let Some(redrive) = props["RedrivePolicy"].as_mapping() {
            let policy: serde_json::Value = serde_json::from_str(
                attrs
                    .get(&QueueAttributeName::RedrivePolicy)
                    .map(String::as_str)
                    .unwrap_or("{}"),
            )
            .unwrap_or_default();
            let max = redrive.get("maxReceiveCount").and_then(Value::as_u64).unwrap_or(0);
            assert_eq!(policy["maxReceiveCount"].as_u64(), Some(max), "{id} redrive count");
            let target = match redrive.get("deadLetterTargetArn") {
                Some(Value::Tagged(t)) => t.value.as_str().unwrap_or("").trim_end_matches(".Arn").to_string(),
                other => panic!("{other:?}"),
            };
            let dlq_url = &stack.provisioned.queue_urls[&target];
            let dlq_name = dlq_url.rsplit('/').next().unwrap_or("");
            assert!(
                policy["deadLetterTargetArn"].as_str().unwrap_or("").ends_with(dlq_name),
                "{id} redrives to {target}"
            );
        }
    }
    stack.teardown().await;
}
