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

/// The EMF line of one usage metric (namespace `im/chatops`), as a JSON value.
pub fn usage_line(metric: &im_core::usage::Metric, at: time::OffsetDateTime) -> Value {
    let mut line = Map::new();
    let dims: Vec<&str> = metric.dimensions.iter().map(|(k, _)| *k).collect();
    let names: Vec<Value> = metric
        .values
        .iter()
        .map(|(n, _, unit)| json!({"Name": n, "Unit": unit.as_str()}))
        .collect();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.unix_timestamp() * 1000,
            "CloudWatchMetrics": [{"Namespace": "im/chatops", "Dimensions": [dims], "Metrics": names}],
        }),
    );
    for (k, v) in metric.dimensions.iter().chain(&metric.properties) {
        line.insert((*k).into(), json!(v));
    }
    for (k, v, _) in &metric.values {
        line.insert((*k).into(), json!(v));
    }
    Value::Object(line)
}

/// Prints [`usage_line`] in Lambda; elsewhere logs it at debug level.
pub fn emit_usage(metric: &im_core::usage::Metric, at: time::OffsetDateTime) {
    let line = usage_line(metric, at).to_string();
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        println!("{line}");
    } else {
        tracing::debug!(metrics = %line, "usage");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use im_core::usage::Usage;

    #[test]
    fn a_usage_line_is_valid_emf_with_users_as_properties() {
        let usage = Usage::Click {
            platform: "slack".into(),
            provider: "acme".into(),
            action: "ack".into(),
            user: "U1".into(),
            channel: None,
            answered_ms: 42,
        };
        let at = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        let line = usage_line(&usage.metric(), at);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "im/chatops");
        assert_eq!(directive["Dimensions"], json!([["Platform", "Action"]]));
        assert_eq!(
            directive["Metrics"][1],
            json!({"Name": "InteractionResponseTime", "Unit": "Milliseconds"})
        );
        assert_eq!(line["_aws"]["Timestamp"], 1_800_000_000_000i64);
        assert_eq!(
            (line["Platform"].as_str(), line["Action"].as_str()),
            (Some("slack"), Some("ack"))
        );
        assert_eq!(line["InteractionResponseTime"], 42.0);
        assert_eq!(line["User"], "U1", "searchable in Logs Insights, not a dimension");
    }
}
