//! CloudWatch Embedded Metric Format: one JSON line on stdout becomes metrics, no API calls.

use serde_json::{Map, Value, json};

/// Prints one EMF line with `metrics` (name → count) under namespace `im/<service>`.
pub fn emit(service: &str, dimensions: &[(&str, &str)], metrics: &[(&str, u64)]) {
    if metrics.iter().all(|(_, v)| *v == 0) {
        return;
    }
    let mut line = Map::new();
    let names: Vec<Value> = metrics
        .iter()
        .map(|(n, _)| json!({"Name": n, "Unit": "Count"}))
        .collect();
    let dims: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": time::OffsetDateTime::now_utc().unix_timestamp() * 1000,
            "CloudWatchMetrics": [{"Namespace": format!("im/{service}"), "Dimensions": [dims], "Metrics": names}],
        }),
    );
    for (k, v) in dimensions {
        line.insert((*k).into(), json!(v));
    }
    for (k, v) in metrics {
        line.insert((*k).into(), json!(v));
    }
    // Only in Lambda, where stdout goes to CloudWatch Logs; locally the counters are logged instead.
    let line = Value::Object(line).to_string();
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        println!("{line}");
    } else {
        tracing::debug!(metrics = %line, "metrics");
    }
}
