// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::json;

use super::*;
use crate::incident::UserRef;
use crate::invocation::Actor;

fn workflows(v: Value) -> Workflows {
    serde_json::from_value(v).expect("workflows parse")
}

fn inv() -> Invocation {
    Invocation::chat(
        Actor {
            platform: "slack".into(),
            provider: "acme".into(),
            user: UserRef::new("U0ANN", Some("ann".into())),
            channel: Some("C_OPS".into()),
        },
        "/im",
        "deploy checkout v2.3 INC-2026-007",
        None,
    )
}

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn configurations_are_checked() {
    let good = workflows(json!({
        "deploy": {"github": {"repository": "acme/deploy", "event_type": "chatops-deploy"}},
        "run-book_2": {"url": "https://hooks.example.com/x"},
        "local": {"url": "http://127.0.0.1:9000/hook"}
    }));
    assert!(problems(&good).is_empty(), "{:?}", problems(&good));
    let bad = workflows(json!({
        "ack": {"url": "https://x"},
        "Deploy": {"url": "https://x"},
        "both": {"url": "https://x", "github": {"repository": "a/b", "event_type": "e"}},
        "none": {},
        "plain": {"url": "http://hooks.example.com"},
        "repo": {"github": {"repository": "acme", "event_type": "e"}},
        "event": {"github": {"repository": "a/b", "event_type": " "}},
        "ghes": {"github": {"repository": "a/b", "event_type": "e", "api_url": "ftp://x"}},
        "run": {"url": "https://x"}
    }));
    let found = problems(&bad);
    for expected in [
        "`ack` is a built-in command",
        "`Deploy` is not a command name",
        "workflows.both: either `github` or `url`, not both",
        "workflows.none: needs `github` or `url`",
        "workflows.plain.url `http://hooks.example.com` must be an https:// URL",
        "workflows.repo.github.repository `acme` is not owner/repo",
        "workflows.event.github.event_type must be 1 to 100 characters",
        "workflows.ghes.github.api_url `ftp://x` must be an https:// URL",
        "`run` is a built-in command",
    ] {
        assert!(found.iter().any(|p| p.contains(expected)), "{expected} in {found:#?}");
    }
    assert_eq!(found.len(), 9, "{found:#?}");
    let longest = workflows(json!({"d": {"github": {"repository": "a/b", "event_type": "e".repeat(100)}}}));
    assert!(problems(&longest).is_empty(), "100 characters is GitHub's limit");
    let over = workflows(json!({"d": {"github": {"repository": "a/b", "event_type": "e".repeat(101)}}}));
    assert_eq!(problems(&over).len(), 1);
    assert!(serde_json::from_value::<Workflows>(json!({"x": {"url": "https://x", "secrt": "s"}})).is_err());
}

#[test]
fn credentials_move_to_the_secret() {
    let mut config = json!({
        "default_channel": "C1",
        "workflows": {
            "deploy": {"github": {"repository": "acme/deploy", "event_type": "chatops-deploy"}, "token": "github_pat_x"},
            "runbook": {"url": "https://hooks.example.com", "secret": "hook-secret"},
            "open": {"url": "https://hooks.example.com/open", "secret": null},
            "blank": {"url": "https://hooks.example.com/blank", "secret": ""}
        }
    })
    .as_object()
    .cloned()
    .expect("object");
    let secrets = take_secrets(&mut config).expect("taken");
    assert_eq!(
        secrets,
        [
            ("workflow:deploy".to_string(), "github_pat_x".to_string()),
            ("workflow:runbook".to_string(), "hook-secret".to_string())
        ]
        .into()
    );
    assert!(!Value::Object(config.clone()).to_string().contains("github_pat_x"));
    assert!(!Value::Object(config.clone()).to_string().contains("hook-secret"));
    assert!(config["workflows"]["open"].get("secret").is_none());
    let mut bad = json!({"workflows": {"x": {"url": "https://x", "token": 5}}})
        .as_object()
        .cloned()
        .expect("object");
    assert_eq!(take_secrets(&mut bad), Err("workflows.x.token must be a string".into()));
    let mut none = serde_json::Map::new();
    assert!(take_secrets(&mut none).expect("nothing").is_empty());
}

#[test]
fn a_run_reads_the_incident_the_service_and_the_rest() {
    let run = Run::new("deploy", &args("checkout INC-2026-007 v2.3 --canary"), "D1");
    assert_eq!(run.incident, IncidentId::parse("INC-2026-007").ok());
    assert_eq!(run.service.as_deref(), Some("checkout"));
    assert_eq!(run.rest, args("v2.3 --canary"));
    assert_eq!(run.args.len(), 4);
    let bare = Run::new("deploy", &[], "D2");
    assert_eq!((bare.incident, bare.service, bare.rest.len()), (None, None, 0));
}

#[test]
fn the_github_preset_is_a_repository_dispatch() {
    let w = workflows(json!({"deploy": {"github": {"repository": "acme/deploy", "event_type": "chatops-deploy"}}}))
        .remove("deploy")
        .expect("deploy");
    let run = Run::new("deploy", &args("checkout v2.3 INC-2026-007"), "D1");
    let r = request(&w, &run, &inv(), Some("github_pat_x")).expect("request");
    assert_eq!(r.url, "https://api.github.com/repos/acme/deploy/dispatches");
    let body: Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(
        body,
        json!({"event_type": "chatops-deploy", "client_payload": {
            "service": "checkout", "args": ["v2.3"], "incident_id": "INC-2026-007",
            "user": {"id": "U0ANN", "name": "ann"}, "channel": "C_OPS"}})
    );
    let header = |k: &str| r.headers.iter().find(|(h, _)| h == k).map(|(_, v)| v.as_str());
    assert_eq!(header("authorization"), Some("Bearer github_pat_x"));
    assert_eq!(header("accept"), Some("application/vnd.github+json"));
    assert_eq!(header(DELIVERY_HEADER), Some("D1"));
    assert!(
        request(&w, &run, &inv(), None)
            .unwrap_err()
            .contains("has no GitHub token")
    );
    let ghes = workflows(json!({"d": {"github": {"repository": "a/b", "event_type": "e", "api_url": "https://git.example.com/api/v3/"}}}))
        .remove("d")
        .expect("d");
    assert_eq!(
        request(&ghes, &run, &inv(), Some("t")).expect("request").url,
        "https://git.example.com/api/v3/repos/a/b/dispatches"
    );
}

#[test]
fn other_receivers_get_a_signed_payload() {
    let w = workflows(json!({"runbook": {"url": "https://hooks.example.com/chatops"}}))
        .remove("runbook")
        .expect("runbook");
    let run = Run::new("runbook", &args("db-failover INC-2026-007"), "D9");
    let r = request(&w, &run, &inv(), Some("hook-secret")).expect("request");
    assert_eq!(r.url, "https://hooks.example.com/chatops");
    let body: Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(body["command"], "runbook");
    assert_eq!(body["service"], "db-failover");
    assert_eq!(body["incident_id"], "INC-2026-007");
    assert_eq!(body["delivery"], "D9");
    assert_eq!(
        (body["provider"].as_str(), body["platform"].as_str()),
        (Some("acme"), Some("slack"))
    );
    let signature = r
        .headers
        .iter()
        .find(|(h, _)| h == crate::access::SIGNATURE_HEADER)
        .map(|(_, v)| v.clone())
        .expect("signed");
    assert!(crate::access::signature_matches("hook-secret", &r.body, &signature));
    let unsigned = request(&w, &run, &inv(), None).expect("request");
    assert!(
        !unsigned
            .headers
            .iter()
            .any(|(h, _)| h == crate::access::SIGNATURE_HEADER)
    );
}

#[test]
fn outcomes_are_said_plainly() {
    let gh = workflows(json!({"deploy": {"github": {"repository": "a/b", "event_type": "e"}}}))
        .remove("deploy")
        .expect("deploy");
    let hook = workflows(json!({"runbook": {"url": "https://x"}}))
        .remove("runbook")
        .expect("runbook");
    let run = Run::new("deploy", &args("checkout"), "D1");
    let said = |w: &Workflow, a: Answered| outcome(w, &run, &a);
    let ok = said(
        &gh,
        Answered::Status {
            status: 204,
            body: vec![],
        },
    );
    assert_eq!(
        (ok.ok, ok.text.as_str(), ok.status),
        (true, "Deployment initiated for checkout", Some(204))
    );
    let nothing = outcome(
        &gh,
        &Run::new("deploy", &[], "D"),
        &Answered::Status {
            status: 204,
            body: vec![],
        },
    );
    assert_eq!(nothing.text, "Deployment initiated for the default target");
    let denied = said(
        &gh,
        Answered::Status {
            status: 404,
            body: br#"{"message": "Not Found", "documentation_url": "https://docs.github.com"}"#.to_vec(),
        },
    );
    assert!(!denied.ok);
    assert_eq!(
        denied.text,
        "`deploy` failed: the workflow answered HTTP 404 (the token cannot reach the repository: it needs the Contents read and write permission): Not Found"
    );
    assert!(
        said(
            &gh,
            Answered::Status {
                status: 401,
                body: vec![]
            }
        )
        .text
        .contains("the GitHub token is not valid")
    );
    assert!(
        said(
            &gh,
            Answered::Status {
                status: 422,
                body: vec![]
            }
        )
        .text
        .contains("GitHub refused the payload")
    );
    assert!(
        !said(
            &hook,
            Answered::Status {
                status: 422,
                body: vec![]
            }
        )
        .text
        .contains("GitHub"),
        "hints are GitHub's only"
    );
    let text = said(
        &hook,
        Answered::Status {
            status: 200,
            body: br#"{"text": "Runbook started: <https://x|run 42>"}"#.to_vec(),
        },
    );
    assert_eq!(
        text.text, "Runbook started: <https://x|run 42>",
        "the receiver's words, as data"
    );
    let plain = said(
        &hook,
        Answered::Status {
            status: 202,
            body: b"queued".to_vec(),
        },
    );
    assert_eq!(plain.text, "`deploy` accepted by its workflow (HTTP 202)");
    let failed = said(
        &hook,
        Answered::Status {
            status: 500,
            body: b"  upstream\n  broke ".to_vec(),
        },
    );
    assert_eq!(
        failed.text,
        "`deploy` failed: the workflow answered HTTP 500: upstream broke"
    );
    let silent = said(&hook, Answered::NoAnswer("no answer within 10 s".into()));
    assert!(!silent.ok && silent.status.is_none());
    assert!(silent.text.contains("may or may not have started (delivery D1)"));
    let long = said(
        &hook,
        Answered::Status {
            status: 502,
            body: "x".repeat(1000).into_bytes(),
        },
    );
    assert!(long.text.chars().count() < 300);
}
