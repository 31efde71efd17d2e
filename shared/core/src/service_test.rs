use super::*;
use crate::block_on::block_on;
use crate::command::parse;
use crate::invocation::Actor;
use crate::memory::{FixedClock, MemoryPublisher, MemoryStore};
use crate::rbac::Role;
use time::macros::datetime;

type Svc = IncidentService<MemoryStore, MemoryPublisher, FixedClock>;

fn service() -> Svc {
    IncidentService::new(
        MemoryStore::default(),
        MemoryPublisher::default(),
        FixedClock::at(datetime!(2026-11-27 10:00 UTC)),
    )
}

fn inv(user: &str, line: &str) -> Invocation {
    let actor = Actor {
        platform: "slack".into(),
        provider: "company-slack".into(),
        user: UserRef::new(user, Some(user.to_lowercase())),
        channel: Some("C1234567890".into()),
    };
    Invocation::chat(actor, "/im", line, None)
}

fn run_as(svc: &Svc, policy: &AccessPolicy, user: &str, line: &str) -> Outcome {
    let command = parse(line).expect("valid command");
    let settings = Settings {
        policy,
        role: policy.role_of(user),
        default_severity: Severity::Sev3,
        extra_help: &[],
    };
    block_on(svc.execute(&inv(user, line), &settings, command))
}

fn run(svc: &Svc, line: &str) -> Outcome {
    run_as(svc, &AccessPolicy::default(), "U1", line)
}

fn card(outcome: &Outcome) -> &Incident {
    match &outcome.reply {
        Reply::Card { incident, .. } => incident,
        other => panic!("expected a card, got {other:?}"),
    }
}

#[test]
fn declare_allocates_sequential_ids_and_writes_the_timeline() {
    let svc = service();
    let first = run(
        &svc,
        "declare --sev SEV-2 --service checkout \"Payment processing down\"",
    );
    let inc = card(&first);
    assert_eq!(inc.id.as_str(), "INC-2026-001");
    assert_eq!(inc.severity, Severity::Sev2);
    assert_eq!(inc.service.as_deref(), Some("checkout"));
    assert_eq!(inc.commander.as_ref().map(|c| c.id.as_str()), Some("U1"));
    assert!(first.reply.in_channel());
    let second = run(&svc, "declare Database connection timeout");
    assert_eq!(card(&second).id.as_str(), "INC-2026-002");
    assert_eq!(card(&second).severity, Severity::Sev3, "provider default");

    let entries = block_on(svc.store().timeline(&card(&first).id, 10)).expect("timeline");
    assert_eq!(entries.len(), 1);
    let entry = serde_json::to_value(&entries[0]).expect("json");
    assert_eq!(entry["event_type"], "chatops.declare");
    assert_eq!(entry["timestamp"], "2026-11-27T10:00:00Z");
    assert_eq!(entry["actor"], "chatops:U1");
    assert_eq!(entry["source"], "slack:company-slack");
    assert_eq!(entry["data"]["channel"], "C1234567890");
    assert_eq!(
        entry["data"]["command"],
        "/im declare --sev SEV-2 --service checkout \"Payment processing down\""
    );
    assert_eq!(entry["data"]["response"], "Incident INC-2026-001 declared");
}

#[test]
fn every_change_is_audited_in_the_documented_shape() {
    let svc = service();
    run(&svc, "declare DB down");
    svc.clock().advance(Duration::minutes(3));
    let ack = run(&svc, "ack INC-2026-001 \"Investigating MySQL cluster\"");
    assert_eq!(card(&ack).status, Status::Acknowledged);
    run(&svc, "escalate INC-2026-001 SEV-1");
    run(&svc, "assign INC-2026-001 U9");
    run(&svc, "update INC-2026-001 Failover started");
    svc.clock().advance(Duration::minutes(30));
    let resolved = run(&svc, "resolve INC-2026-001 \"Fixed by restarting MySQL primary\"");
    assert_eq!(card(&resolved).time_to_resolve(), Some(Duration::minutes(33)));
    run(&svc, "close INC-2026-001");

    let entries = block_on(svc.store().timeline(&IncidentId::new(2026, 1), 50)).expect("timeline");
    let types: Vec<&str> = entries.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "chatops.declare",
            "chatops.acknowledge",
            "chatops.escalate",
            "chatops.assign",
            "chatops.update",
            "chatops.resolve",
            "chatops.close"
        ]
    );
    assert_eq!(entries[1].data["note"], "Investigating MySQL cluster");
    assert_eq!(
        entries[1].data["command"],
        "/im ack INC-2026-001 \"Investigating MySQL cluster\""
    );
    assert_eq!(entries[2].data["from"], "SEV-3");
    assert_eq!(entries[2].data["to"], "SEV-1");
    assert_eq!(entries[3].data["assignee"]["id"], "U9");
    let incident = block_on(svc.store().get(&IncidentId::new(2026, 1)))
        .expect("get")
        .expect("exists");
    assert_eq!(incident.version, 7);
    assert_eq!(incident.status, Status::Closed);

    let kinds: Vec<EventKind> = svc_events(&svc).iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::IncidentCreated,
            EventKind::IncidentAcknowledged,
            EventKind::IncidentEscalated,
            EventKind::IncidentAssigned,
            EventKind::IncidentUpdated,
            EventKind::IncidentResolved,
            EventKind::IncidentClosed
        ]
    );
    assert!(
        svc.store().unpublished().is_empty(),
        "published events leave the outbox"
    );
}

fn svc_events(svc: &Svc) -> Vec<IncidentEvent> {
    svc.publisher.events()
}

#[test]
fn refusals_change_nothing_and_say_why() {
    let svc = service();
    run(&svc, "declare DB down");
    run(&svc, "ack INC-2026-001");
    let again = run_as(&svc, &AccessPolicy::default(), "U2", "ack INC-2026-001");
    assert_eq!(
        again.reply,
        Reply::Refused {
            message: "INC-2026-001 is already acknowledged by u1.".into()
        }
    );
    assert!(again.event.is_none());
    let close = run(&svc, "close INC-2026-001");
    assert!(
        close.reply.text().contains("It can only be resolved"),
        "{:?}",
        close.reply
    );
    let missing = run(&svc, "ack INC-2026-999");
    assert!(missing.reply.text().contains("INC-2026-999 was not found"));
    let entries = block_on(svc.store().timeline(&IncidentId::new(2026, 1), 50)).expect("timeline");
    assert_eq!(entries.len(), 2, "refused commands write nothing");
}

#[test]
fn reads_do_not_write() {
    let svc = service();
    run(&svc, "declare DB down");
    run(&svc, "declare --sev 1 Payments down");
    let list = run(&svc, "list");
    match &list.reply {
        Reply::List { incidents } => {
            let ids: Vec<&str> = incidents.iter().map(|i| i.id.as_str()).collect();
            assert_eq!(ids, ["INC-2026-002", "INC-2026-001"], "most severe first");
        }
        other => panic!("{other:?}"),
    }
    assert!(!list.reply.in_channel());
    assert!(matches!(run(&svc, "status INC-2026-001").reply, Reply::Status { .. }));
    assert!(
        matches!(run(&svc, "timeline INC-2026-001").reply, Reply::Timeline { ref entries, .. } if entries.len() == 1)
    );
    assert!(matches!(run(&svc, "help").reply, Reply::Help { ref entries } if entries.len() == 11));
    assert_eq!(svc_events(&svc).len(), 2);
}

#[test]
fn permissions_are_checked_before_anything_happens() {
    let svc = service();
    let policy: AccessPolicy = serde_json::from_value(serde_json::json!({
        "default_role": "viewer", "users": {"U_LEAD": "commander"}, "commands": {"close": "commander"}
    }))
    .expect("policy");
    let denied = run_as(&svc, &policy, "U_NOBODY", "declare DB down");
    assert!(denied.reply.text().contains("You need the responder role"));
    assert!(svc_events(&svc).is_empty());
    assert!(matches!(
        run_as(&svc, &policy, "U_NOBODY", "list").reply,
        Reply::List { .. }
    ));
    run_as(&svc, &policy, "U_LEAD", "declare DB down");
    assert_eq!(policy.role_of("U_LEAD"), Role::Commander);
    assert_eq!(svc_events(&svc).len(), 1);

    // A change without a slash verb (the service menu) is checked like any other.
    let set_service = |user: &str| {
        let settings = Settings {
            policy: &policy,
            role: policy.role_of(user),
            default_severity: Severity::Sev3,
            extra_help: &[],
        };
        let command = Command::SetService {
            id: IncidentId::new(2026, 1),
            service: "payments".into(),
        };
        block_on(svc.execute(&inv(user, "[Service: payments] INC-2026-001"), &settings, command))
    };
    assert!(
        set_service("U_NOBODY")
            .reply
            .text()
            .contains("responder role to run `service`")
    );
    assert_eq!(svc_events(&svc).len(), 1, "refused: nothing changed");
    assert!(matches!(set_service("U_LEAD").reply, Reply::Card { .. }));
}

#[test]
fn a_repeated_request_is_applied_once() {
    let svc = service();
    let settings = Settings {
        policy: &AccessPolicy::default(),
        role: Role::Responder,
        default_severity: Severity::Sev3,
        extra_help: &[],
    };
    let mut invocation = inv("U1", "update INC-2026-001 note");
    invocation.idempotency_key = Some("trigger-1".into());
    run(&svc, "declare DB down");
    let cmd = || parse("update INC-2026-001 note").expect("valid");
    let first = block_on(svc.execute(&invocation, &settings, cmd()));
    assert!(matches!(first.reply, Reply::Card { .. }));
    let second = block_on(svc.execute(&invocation, &settings, cmd()));
    assert!(second.reply.text().contains("already received"));
    let entries = block_on(svc.store().timeline(&IncidentId::new(2026, 1), 50)).expect("timeline");
    assert_eq!(entries.len(), 2);
    // Keys are kept a day: within it a retry is still recognised, after it the key is free.
    svc.clock.advance(time::Duration::hours(23));
    let later = block_on(svc.execute(&invocation, &settings, cmd()));
    assert!(later.reply.text().contains("already received"), "{:?}", later.reply);
    svc.clock.advance(time::Duration::hours(2));
    let next_day = block_on(svc.execute(&invocation, &settings, cmd()));
    assert!(matches!(next_day.reply, Reply::Card { .. }), "{:?}", next_day.reply);
}

#[test]
fn storage_and_publish_failures() {
    let svc = service();
    svc.publisher.fail(true);
    let declared = run(&svc, "declare DB down");
    assert!(matches!(declared.reply, Reply::Card { .. }), "the change is committed");
    assert!(
        declared
            .failure
            .as_deref()
            .is_some_and(|f| f.contains("left in the outbox"))
    );
    assert_eq!(svc.store().unpublished().len(), 1, "the sweep will find it");

    svc.store().fail_from_now();
    let down = run(&svc, "ack INC-2026-001");
    assert!(matches!(down.reply, Reply::Unavailable { .. }));
    assert!(!down.reply.text().contains("injected"), "causes stay in the logs");
    assert!(down.failure.as_deref().is_some_and(|f| f.contains("injected failure")));
}

struct Deploy;

impl CustomCommand for Deploy {
    fn summary(&self) -> &str {
        "Start a deployment"
    }
    fn usage(&self) -> &str {
        "SERVICE [INCIDENT-ID]"
    }
    fn run<'a>(&'a self, call: crate::service::CustomCall<'a>) -> crate::chat::BoxFuture<'a, Reply> {
        // What it saw: the service, the incident an argument named, and its timeline.
        let about = match call.incident {
            Some(i) => format!(
                " ({}, {} entries, by {})",
                i.id,
                call.timeline.len(),
                call.invocation.actor.user.id
            ),
            None => String::new(),
        };
        let text = format!(
            "Deployment initiated for {}{about}",
            call.args.first().map(String::as_str).unwrap_or("?")
        );
        Box::pin(async move { Reply::Text { text, in_channel: true } })
    }
}

#[test]
fn custom_commands() {
    let mut svc = service();
    svc.register_command("deploy", Arc::new(Deploy)).expect("registers");
    assert!(svc.register_command("ack", Arc::new(Deploy)).is_err());
    assert_eq!(
        run(&svc, "deploy checkout").reply.text(),
        "Deployment initiated for checkout"
    );
    assert!(
        run(&svc, "help")
            .reply
            .text()
            .contains("/im deploy SERVICE [INCIDENT-ID] — Start a deployment")
    );
    assert!(
        svc.register_command("run", Arc::new(Deploy)).is_err(),
        "`run` runs custom commands"
    );
    run(&svc, "declare DB down");
    run(&svc, "ack INC-2026-001");
    assert_eq!(
        run(&svc, "deploy checkout INC-2026-001").reply.text(),
        "Deployment initiated for checkout (INC-2026-001, 2 entries, by U1)",
        "the command sees the incident and its timeline"
    );
    let audited = || {
        block_on(svc.store().timeline(&IncidentId::new(2026, 1), 50))
            .expect("timeline")
            .into_iter()
            .filter(|e| e.event_type == "chatops.custom")
            .map(|e| (e.data["command"].clone(), e.data["response"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        audited(),
        [(
            serde_json::json!("/im deploy checkout INC-2026-001"),
            serde_json::json!("Deployment initiated for checkout (INC-2026-001, 2 entries, by U1)")
        )],
        "a command that changes things is audited on the incident it names"
    );
    assert_eq!(
        run(&svc, "run deploy api").reply.text(),
        "Deployment initiated for api",
        "`run NAME` is the same command"
    );
    assert!(
        run(&svc, "deploy api INC-2026-099")
            .reply
            .text()
            .contains("INC-2026-099 was not found")
    );
    let unknown = run(&svc, "frobnicate now");
    assert_eq!(
        unknown.reply,
        Reply::Usage {
            usage: "/im help".into(),
            problem: "`frobnicate` is not a command; see the list of commands".into()
        }
    );
}

#[test]
fn custom_command_names_are_checked_and_change_by_default() {
    let mut svc = service();
    for bad in ["", "  ", "two words", "deploy!", "Ünïcode"] {
        assert!(svc.register_command(bad, Arc::new(Deploy)).is_err(), "{bad:?}");
    }
    svc.register_command(" Roll-Back_2 ", Arc::new(Deploy))
        .expect("letters, digits, - and _");
    assert_eq!(
        run(&svc, "roll-back_2 api").reply.text(),
        "Deployment initiated for api"
    );
    let viewers: AccessPolicy = serde_json::from_value(serde_json::json!({"default_role": "viewer"})).expect("policy");
    assert!(
        matches!(
            run_as(&svc, &viewers, "U9", "roll-back_2 api").reply,
            Reply::Refused { .. }
        ),
        "a custom command changes things unless it says otherwise: viewers may not run it"
    );
}

#[test]
fn a_declared_incident_keeps_its_description_and_service() {
    let svc = service();
    let declared = run(&svc, "declare Checkout down --service checkout -d \"502s since 10:00\"");
    let incident = card(&declared);
    assert_eq!(incident.description.as_deref(), Some("502s since 10:00"));
    assert_eq!(incident.service.as_deref(), Some("checkout"));
}

fn monitor() -> Invocation {
    Invocation {
        actor: Actor {
            platform: "system".into(),
            provider: "sla-monitor".into(),
            user: UserRef::new("monitor", Some("SLA monitor".into())),
            channel: None,
        },
        interface: crate::invocation::Interface::Sla,
        prefix: String::new(),
        command_line: "sla check".into(),
        idempotency_key: None,
    }
}

#[test]
fn a_breach_is_recorded_once_and_only_while_it_still_holds() {
    let svc = service();
    run(&svc, "declare Checkout down");
    let id = IncidentId::new(2026, 1);
    let breach = |target: &str| block_on(svc.record_breach(&monitor(), &id, target, time::Duration::minutes(15))).reply;
    let first = breach("ack");
    assert!(
        matches!(&first, Reply::Card { .. }),
        "an open incident breaches its acknowledge target: {first:?}"
    );
    let timeline = block_on(svc.store().timeline(&id, 10)).expect("timeline");
    let entry = timeline
        .iter()
        .find(|e| e.event_type == "sla.breach")
        .expect("recorded");
    assert_eq!(entry.data.get("target"), Some(&serde_json::json!("ack")));
    assert_eq!(entry.data.get("limit_seconds"), Some(&serde_json::json!(900)));
    assert!(
        entry
            .data
            .get("response")
            .and_then(|r| r.as_str())
            .is_some_and(|r| r.contains("not acknowledged within 15m")),
        "{entry:?}"
    );
    assert!(breach("ack").text().contains("already"), "once per target");
    run(&svc, "ack INC-2026-001");
    let second = breach("resolve");
    assert!(matches!(second, Reply::Card { .. }), "still unresolved: {second:?}");
    let svc2 = service();
    run(&svc2, "declare Checkout down");
    run(&svc2, "ack INC-2026-001");
    let late = block_on(svc2.record_breach(&monitor(), &id, "ack", time::Duration::minutes(15))).reply;
    assert!(
        matches!(late, Reply::Refused { .. }),
        "acknowledged in time after all: {late:?}"
    );
    run(&svc2, "resolve INC-2026-001");
    let resolved = block_on(svc2.record_breach(&monitor(), &id, "resolve", time::Duration::minutes(60))).reply;
    assert!(matches!(resolved, Reply::Refused { .. }), "{resolved:?}");
}
