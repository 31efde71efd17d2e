// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::incident::{IncidentId, Origin, Severity};

fn ann() -> Subject {
    Subject::parse("slack:U0ANN", vec!["acme".into(), "acme-eu".into()]).expect("subject")
}

fn incident() -> Incident {
    let mut i = Incident::declared(
        IncidentId::new(2026, 3),
        "Checkout down".into(),
        Severity::Sev2,
        UserRef::new("U0ANN", Some("ann".into())).on("acme"),
        datetime!(2026-12-02 09:00 UTC),
        Origin {
            platform: "slack".into(),
            provider: "acme".into(),
            channel: None,
        },
    );
    i.assignee = Some(UserRef::new("U0ANN", Some("Ann Example".into())).on("acme-eu"));
    i.acknowledged_by = Some(UserRef::new("U0BOB", Some("bob".into())).on("acme"));
    // The same id on another platform is someone else.
    i.resolved_by = Some(UserRef::new("U0ANN", None).on("ops-discord"));
    i
}

#[test]
fn subjects_are_platform_and_user() {
    let s = ann();
    assert_eq!(
        (s.platform.as_str(), s.user.as_str(), s.identity()),
        ("slack", "U0ANN", "slack:U0ANN".to_string())
    );
    assert_eq!(Subject::parse("Discord:123", vec![]).expect("ok").platform, "discord");
    for bad in ["U0ANN", "slack:", ":U0ANN", ""] {
        assert!(Subject::parse(bad, vec![]).is_err(), "{bad}");
    }
}

#[test]
fn incidents_name_the_person_in_their_roles() {
    let s = ann();
    let mut i = incident();
    assert_eq!(s.roles_in(&i), vec!["declared_by", "commander", "assignee"]);
    assert_eq!(s.names_in(&i), vec!["ann", "ann", "Ann Example"]);
    assert!(s.pseudonymise_incident(&mut i, "forgotten-1"));
    assert_eq!(i.declared_by, UserRef::new("forgotten-1", None).on("acme"));
    assert_eq!(
        i.assignee.as_ref().map(|u| (u.id.as_str(), u.name.is_none())),
        Some(("forgotten-1", true))
    );
    assert_eq!(
        i.acknowledged_by.as_ref().map(|u| u.id.as_str()),
        Some("U0BOB"),
        "others stay"
    );
    assert_eq!(
        i.resolved_by.as_ref().map(|u| u.id.as_str()),
        Some("U0ANN"),
        "another platform's U0ANN stays"
    );
    assert!(s.roles_in(&i).is_empty());
    assert!(
        !s.pseudonymise_incident(&mut i, "forgotten-2"),
        "nothing left to change"
    );
    // A reference without a provider belongs to the incident's platform.
    let mut bare = incident();
    bare.declared_by = UserRef::new("U0ANN", None);
    bare.commander = None;
    bare.assignee = None;
    assert_eq!(s.roles_in(&bare), vec!["declared_by"]);
    bare.origin.platform = "discord".into();
    assert!(s.roles_in(&bare).is_empty());
}

fn entry(actor: &str, source: &str, data: Value) -> TimelineEntry {
    TimelineEntry {
        event_type: "chatops.assign".into(),
        timestamp: datetime!(2026-12-02 09:05 UTC),
        actor: actor.into(),
        source: source.into(),
        data: data.as_object().cloned().expect("object"),
    }
}

#[test]
fn entries_by_or_about_the_person_are_pseudonymised() {
    let s = ann();
    let mine = entry(
        "chatops:U0ANN",
        "slack:acme",
        json!({"command": "/im assign INC-2026-003 @U0ANN", "channel": "C1"}),
    );
    let about = entry(
        "chatops:U0BOB",
        "slack:acme",
        json!({"assignee": {"id": "U0ANN", "name": "ann", "provider": "acme"}, "response": "Assigned to ann"}),
    );
    let elsewhere = entry("chatops:U0ANN", "discord:ops-discord", json!({"command": "/im ack"}));
    let lookalike = entry("chatops:U0BOB", "slack:acme", json!({"note": "ping U0ANNA and XU0ANN"}));
    assert!(s.in_entry(&mine) && s.in_entry(&about));
    assert!(!s.in_entry(&elsewhere), "another platform's U0ANN");
    assert!(!s.in_entry(&lookalike), "ids are whole words");

    let mut mine = mine;
    s.pseudonymise_entry(&mut mine, &["ann".into()], "forgotten-1");
    assert_eq!(mine.actor, "chatops:forgotten-1");
    assert_eq!(mine.data["command"], "/im assign INC-2026-003 @forgotten-1");
    assert_eq!(mine.data["channel"], "C1");
    let mut about = about;
    s.pseudonymise_entry(&mut about, &["ann".into(), "Assigned to ann".into()], "forgotten-1");
    assert_eq!(about.actor, "chatops:U0BOB");
    assert_eq!(
        Value::Object(about.data.clone())["assignee"],
        json!({"id": "forgotten-1", "provider": "acme"})
    );
    assert!(!s.in_entry(&about));
    let mut lookalike = lookalike;
    s.pseudonymise_entry(&mut lookalike, &[], "forgotten-1");
    assert_eq!(lookalike.data["note"], "ping U0ANNA and XU0ANN");
    let mut start = entry("chatops:U0BOB", "slack:acme", json!({"note": "U0ANN, U0ANN."}));
    s.pseudonymise_entry(&mut start, &[], "f");
    assert_eq!(start.data["note"], "f, f.");
    let mut mixed = entry(
        "chatops:U0BOB",
        "slack:acme",
        json!({"note": "U0ANNA and U0ANN and XU0ANN"}),
    );
    s.pseudonymise_entry(&mut mixed, &[], "f");
    assert_eq!(mixed.data["note"], "U0ANNA and f and XU0ANN");
    // People in lists are found and replaced too.
    let mut listed = entry("chatops:U0BOB", "slack:acme", json!({"invited": ["U0BOB", "U0ANN"]}));
    assert!(s.in_entry(&listed));
    s.pseudonymise_entry(&mut listed, &[], "f");
    assert_eq!(listed.data["invited"], json!(["U0BOB", "f"]));
    // The platform is enough: a provider removed since still meant this Slack user.
    let removed = entry("chatops:U0ANN", "slack:old-workspace", json!({}));
    assert!(s.in_entry(&removed));
}

#[test]
fn memos_and_rotations_of_the_person() {
    let s = ann();
    for key in [
        "ctx:acme:C1:U0ANN",
        "ask:acme-eu:-:U0ANN",
        "ident:acme:U0ANN",
        "limit:declare:acme:U0ANN:2947800",
    ] {
        assert!(s.owns_memo(key), "{key}");
    }
    for key in [
        "ctx:acme:C1:U0ANNA",
        "ctx:ops-discord:C1:U0ANN",
        "ident:acme:U0BOB",
        "oncall:payments",
        "limit:declare:acme:U0BOB:1",
        "ctx:acme:U0ANN",
    ] {
        assert!(!s.owns_memo(key), "{key}");
    }
    let mut rotation: crate::oncall::Rotation = serde_json::from_value(json!({
        "service": "payments", "participants": ["slack:U0ANN", "slack:U0BOB", "discord:U0ANN"],
        "handoff": "09:00", "shift_hours": 168, "timezone": "UTC", "start": "2026-11-30",
        "overrides": [{"user": "slack:U0ANN", "from": 1, "to": 2}, {"user": "slack:U0BOB", "from": 3, "to": 4}]
    }))
    .expect("rotation");
    assert!(leave_rotation(&mut rotation, "slack:U0ANN"));
    assert_eq!(rotation.participants, vec!["slack:U0BOB", "discord:U0ANN"]);
    assert_eq!(rotation.overrides.len(), 1);
    assert_eq!(rotation.overrides[0].user, "slack:U0BOB", "others' overrides stay");
    assert!(!leave_rotation(&mut rotation, "slack:U0ANN"));
    let a = pseudonym();
    assert!(a.starts_with("forgotten-") && a != pseudonym());
}
