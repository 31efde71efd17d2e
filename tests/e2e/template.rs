//! `template.yaml` against the workspace: every function crate is deployed, every deployed binary
//! exists, every documented route is there, and every function is logged, alarmed and bounded.

use std::collections::BTreeSet;

use serde_yaml::Value;

/// The routes the product documentation gives (PRODUCT-SPEC "Webhook endpoints") for the
/// platforms this version serves. Teams and Mattermost join as their adapters land.
const DOCUMENTED_ROUTES: [&str; 3] = [
    "POST /chatops/{provider}",
    "POST /chatops/slack/{instance}",
    "POST /chatops/discord/{instance}",
];

fn template() -> Value {
    let text = std::fs::read_to_string(im_tests::repo_root().join("template.yaml")).expect("template.yaml");
    serde_yaml::from_str(&text).expect("valid YAML")
}

/// Function crates: `functions/<name>/Cargo.toml`, whose package is the binary.
fn function_crates() -> BTreeSet<String> {
    std::fs::read_dir(im_tests::repo_root().join("functions"))
        .expect("functions/")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn functions(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| (id.as_str().unwrap_or_default().to_string(), r))
        .collect()
}

fn tag_target(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => t.value.as_str().map(str::to_string),
        _ => None,
    }
}

#[test]
fn every_function_crate_is_deployed_and_every_deployed_binary_exists() {
    let t = template();
    let crates = function_crates();
    let mut deployed = BTreeSet::new();
    for (id, f) in functions(&t) {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} names no binary"))
            .to_string();
        assert!(
            crates.contains(&binary),
            "{id} deploys `{binary}`, which no functions/ crate builds"
        );
        assert!(deployed.insert(binary.clone()), "`{binary}` is deployed twice");
    }
    assert_eq!(deployed, crates, "every function crate has exactly one resource");
}

#[test]
fn every_documented_route_is_served() {
    let t = template();
    let mut routes = BTreeSet::new();
    for (_, f) in functions(&t) {
        for (_, event) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"] == "HttpApi" {
                let p = &event["Properties"];
                routes.insert(format!(
                    "{} {}",
                    p["Method"].as_str().unwrap_or_default(),
                    p["Path"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    for route in DOCUMENTED_ROUTES {
        assert!(
            routes.contains(route),
            "`{route}` is documented but not in template.yaml: {routes:?}"
        );
    }
    // The REST API: every route the API serves, each IAM-authorised; no webhook is (platforms
    // sign their own requests).
    for (method, path) in api::ROUTES {
        assert!(
            routes.contains(&format!("{method} {path}")),
            "{method} {path} is not in template.yaml"
        );
    }
    for (id, f) in functions(&t) {
        for (_, event) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"] != "HttpApi" {
                continue;
            }
            let path = event["Properties"]["Path"].as_str().unwrap_or_default();
            let iam = event["Properties"]["Auth"]["Authorizer"] == "AWS_IAM";
            assert_eq!(
                iam,
                path.starts_with("/api/"),
                "{id} {path}: IAM on the API, none on webhooks"
            );
        }
    }
    let outputs = t["Outputs"].as_mapping().expect("Outputs");
    for name in [
        "RestApiUrl",
        "ApiUrl",
        "ChatopsRequestUrl",
        "SlackRequestUrl",
        "DiscordInteractionsUrl",
    ] {
        assert!(outputs.contains_key(name), "output {name}");
    }
}

#[test]
fn every_function_is_logged_alarmed_and_scoped() {
    let t = template();
    let resources = &t["Resources"];
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Handler"], "bootstrap");
    assert_eq!(globals["Tracing"], "Active");
    for (id, f) in functions(&t) {
        let props = &f["Properties"];
        assert_eq!(props["LoggingConfig"]["LogFormat"], "JSON", "{id}");
        let group = tag_target(&props["LoggingConfig"]["LogGroup"]).unwrap_or_else(|| panic!("{id}: log group"));
        assert_eq!(resources[&group]["Type"], "AWS::Logs::LogGroup", "{id}");
        assert!(
            !resources[&group]["Properties"]["RetentionInDays"].is_null(),
            "{id}: retention"
        );
        for metric in ["Errors", "Throttles"] {
            let alarm = &resources[&format!("{id}{metric}Alarm")];
            assert_eq!(alarm["Properties"]["MetricName"], metric, "{id} {metric} alarm");
            assert_eq!(
                tag_target(&alarm["Properties"]["Dimensions"][0]["Value"]).as_deref(),
                Some(id.as_str())
            );
        }
        // Least privilege: named actions only, and no resource that is everything.
        for policy in props["Policies"].as_sequence().into_iter().flatten() {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                let list = |v: &Value| -> Vec<Value> {
                    match v {
                        Value::Sequence(items) => items.clone(),
                        other => vec![other.clone()],
                    }
                };
                for action in list(&statement["Action"]) {
                    let action = action.as_str().unwrap_or_default();
                    assert!(!action.contains('*') && action.contains(':'), "{id}: action `{action}`");
                }
                for resource in list(&statement["Resource"]) {
                    assert_ne!(resource.as_str(), Some("*"), "{id}: every resource");
                }
            }
        }
    }
    // SQS consumers: the queue hides a message at least six times the consumer's timeout.
    for (id, f) in functions(&t) {
        let timeout = f["Properties"]["Timeout"]
            .as_u64()
            .or(globals["Timeout"].as_u64())
            .unwrap_or(3);
        for (_, event) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"] == "SQS" {
                let queue = tag_target(&event["Properties"]["Queue"]).expect("!GetAtt queue");
                let queue = queue.trim_end_matches(".Arn");
                let visibility = resources[queue]["Properties"]["VisibilityTimeout"]
                    .as_u64()
                    .unwrap_or(30);
                assert!(
                    visibility >= 6 * timeout,
                    "{queue}: {visibility} s for {id}'s {timeout} s"
                );
                assert_eq!(
                    event["Properties"]["FunctionResponseTypes"][0], "ReportBatchItemFailures",
                    "{id}"
                );
            }
        }
    }
}

/// Functions that answer chat (the webhooks and the interaction worker) can never change a
/// provider record: an explicit deny on items whose key starts `PROVIDER#`.
#[test]
fn chat_facing_functions_cannot_write_provider_records() {
    let t = template();
    for (id, function) in functions(&t) {
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default();
        if !(binary.ends_with("-webhook") || binary == "interaction-worker") {
            continue;
        }
        let statements = function["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .expect("statements");
        let deny = statements
            .iter()
            .find(|s| s["Effect"] == "Deny")
            .unwrap_or_else(|| panic!("{id} has no deny on provider records"));
        let actions: Vec<&str> = deny["Action"]
            .as_sequence()
            .expect("actions")
            .iter()
            .filter_map(|a| a.as_str())
            .collect();
        for action in ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"] {
            assert!(actions.contains(&action), "{id}: {action} not denied");
        }
        assert_eq!(
            deny["Condition"]["ForAnyValue:StringLike"]["dynamodb:LeadingKeys"][0], "PROVIDER#*",
            "{id}"
        );
    }
}

/// The CloudWatch dashboard is valid JSON once substituted, and shows the usage metrics the
/// functions print (namespace `im/chatops`).
#[test]
fn the_dashboard_shows_the_usage_metrics() {
    let t = template();
    let body = tag_target(&t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]).expect("a !Sub dashboard body");
    let mut substituted = String::new();
    let mut rest = body.as_str();
    while let Some(start) = rest.find("${") {
        substituted.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed") + start;
        substituted.push('X');
        rest = &rest[end + 1..];
    }
    substituted.push_str(rest);
    let dashboard: serde_json::Value = serde_json::from_str(&substituted).expect("dashboard JSON");
    let text = dashboard.to_string();
    for metric in [
        "Commands",
        "TimeToAcknowledge",
        "Deliveries",
        "InteractionResponseTime",
        "CommandErrors",
        "Mentions",
    ] {
        assert!(
            text.contains(&format!("MetricName=\\\"{metric}\\\"")),
            "{metric} is not on the dashboard"
        );
    }
    assert!(text.contains("{im/chatops,Platform,Command}"));
}
