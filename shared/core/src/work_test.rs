//! War rooms over in-memory ports.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::Severity;
use crate::block_on::block_on;
use crate::command::parse;
use crate::delivery::{Deliverer, RetryPolicy};
use crate::invocation::{Actor, Invocation};
use crate::memory::{
    FakeMessenger, FixedClock, MemoryDirectory, MemoryLedger, MemoryPacer, MemoryPublisher, MemoryStore, Sent,
    VirtualTimer, provider,
};
use crate::rbac::AccessPolicy;
use crate::service::Settings;

struct World {
    service: IncidentService<Arc<MemoryStore>, Arc<MemoryPublisher>, Arc<FixedClock>>,
    deliverer: Deliverer,
    target: Target,
    chat: Arc<FakeMessenger>,
}

fn world(rooms: bool) -> World {
    let store = Arc::new(MemoryStore::default());
    let clock = Arc::new(FixedClock::at(time::macros::datetime!(2026-11-27 10:00 UTC)));
    let service = IncidentService::new(store.clone(), Arc::new(MemoryPublisher::default()), clock);
    let chat = Arc::new(if rooms {
        FakeMessenger::default()
    } else {
        FakeMessenger::without_rooms()
    });
    let timer = VirtualTimer::at(1_764_237_600_000);
    let record = provider("acme", "slack", json!({"default_channel": "C1"}));
    let directory = Arc::new(MemoryDirectory::with(record.clone(), chat.clone()));
    let deliverer = Deliverer::new(
        Arc::new(MemoryLedger::default()),
        Arc::new(MemoryPacer::new(timer.clone())),
        directory,
        store,
        timer,
        RetryPolicy::default(),
    );
    let target = Target::new(Arc::new(record), chat.clone());
    let w = World {
        service,
        deliverer,
        target,
        chat,
    };
    let settings = Settings {
        policy: &AccessPolicy::default(),
        role: crate::rbac::Role::Responder,
        default_severity: Severity::Sev3,
        extra_help: &[],
    };
    let declare = parse("declare Database down (EU)").expect("parses");
    block_on(w.service.execute(&inv("U1"), &settings, declare));
    w
}

fn inv(user: &str) -> Invocation {
    let actor = Actor {
        platform: "slack".into(),
        provider: "acme".into(),
        user: UserRef::new(user, None).on("acme"),
        channel: Some("C1".into()),
    };
    Invocation::chat(actor, "/im", "[Join War Room] INC-2026-001", None)
}

fn join(w: &World, user: &str, work: &str) -> Reply {
    let id = IncidentId::new(2026, 1);
    block_on(join_war_room(
        &w.service,
        &w.deliverer,
        &w.target,
        &inv(user),
        &id,
        work,
        None,
    ))
}

fn created(w: &World) -> Vec<String> {
    w.chat
        .sent()
        .into_iter()
        .filter_map(|s| match s {
            Sent::CreateChannel { name, .. } => Some(name),
            _ => None,
        })
        .collect()
}

#[test]
fn the_first_click_opens_the_room_and_later_ones_join_it() {
    let w = world(true);
    let reply = join(&w, "U1", "click-1");
    assert_eq!(
        reply.text(),
        "War room #inc-2026-001-database-down-eu is open, and you are in it."
    );
    assert_eq!(created(&w), ["inc-2026-001-database-down-eu"]);
    let sent = w.chat.sent();
    let channel = match &sent[0] {
        Sent::CreateChannel { id, .. } => id.clone(),
        other => panic!("{other:?}"),
    };
    assert!(sent.contains(&Sent::Invite {
        channel: channel.clone(),
        user: "U1".into()
    }));
    assert!(
        sent.iter()
            .any(|s| matches!(s, Sent::Post { channel: c, .. } if *c == channel)),
        "summary posted"
    );
    assert!(
        sent.iter()
            .any(|s| matches!(s, Sent::Pin { channel: c, .. } if *c == channel)),
        "and pinned"
    );
    let incident = block_on(w.service.store().get(&IncidentId::new(2026, 1)))
        .expect("read")
        .expect("exists");
    assert_eq!(
        incident.war_room.as_ref().map(|r| r.channel.clone()),
        Some(channel.clone())
    );
    let timeline = block_on(w.service.store().timeline(&incident.id, 10)).expect("timeline");
    assert!(timeline.iter().any(|e| e.event_type == "chatops.war_room"));

    assert_eq!(
        join(&w, "U2", "click-2").text(),
        "You joined #inc-2026-001-database-down-eu."
    );
    assert_eq!(created(&w).len(), 1, "no second channel");
    assert!(w.chat.sent().contains(&Sent::Invite {
        channel,
        user: "U2".into()
    }));
}

#[test]
fn a_taken_name_gets_a_number() {
    let w = world(true);
    w.chat
        .take_names(&["inc-2026-001-database-down-eu", "inc-2026-001-database-down-eu-2"]);
    assert!(
        join(&w, "U1", "click-1")
            .text()
            .contains("#inc-2026-001-database-down-eu-3 is open")
    );
}

#[test]
fn a_retried_click_reuses_the_channel_it_created() {
    let w = world(true);
    // The first attempt created and recorded the channel, then stopped before inviting.
    w.chat.fail_next([]);
    let record = MessageKey::new(&IncidentId::new(2026, 1), "acme", "#war-room");
    let ledger = w.deliverer.ledger();
    block_on(ledger.claim(&record, "click-1", w.deliverer.now_ms())).expect("claim");
    let made = MessageRef::new("C_EARLIER", "C_EARLIER").with("name", "inc-2026-001-database-down-eu");
    block_on(ledger.finish_post(&record, &made, 0, "click-1", true)).expect("recorded");
    assert!(join(&w, "U1", "click-1").text().contains("is open"));
    assert!(created(&w).is_empty(), "no second channel");
    let incident = block_on(w.service.store().get(&IncidentId::new(2026, 1)))
        .expect("read")
        .expect("exists");
    assert_eq!(incident.war_room.map(|r| r.channel), Some("C_EARLIER".into()));
}

#[test]
fn a_failed_creation_says_why_and_can_be_tried_again() {
    let w = world(true);
    w.chat.fail_next([ChatError::Permanent("restricted_action".into())]);
    let reply = join(&w, "U1", "click-1");
    assert!(
        matches!(&reply, Reply::Refused { message } if message.contains("restricted_action")),
        "{reply:?}"
    );
    assert!(
        join(&w, "U1", "click-2").text().contains("is open"),
        "the record was released"
    );
}

#[test]
fn platforms_without_channels_get_the_core_fallback() {
    let w = world(false);
    let reply = join(&w, "U1", "click-1");
    assert!(
        reply.text().contains("War rooms are not available on slack"),
        "{reply:?}"
    );
    assert!(w.chat.sent().is_empty());
}

#[test]
fn a_creation_in_flight_is_waited_for_and_a_stalled_one_taken_over() {
    let w = world(true);
    let record = MessageKey::new(&IncidentId::new(2026, 1), "acme", "#war-room");
    let ledger = w.deliverer.ledger();
    block_on(ledger.claim(&record, "click-1", w.deliverer.now_ms())).expect("claim");
    assert!(join(&w, "U2", "click-2").text().contains("being opened right now"));
    assert!(created(&w).is_empty());
    // A worker that stopped long ago: its lease ran out, so the next click opens the room.
    let w = world(true);
    let ledger = w.deliverer.ledger();
    block_on(ledger.claim(&record, "click-1", w.deliverer.now_ms() - 120_000)).expect("claim");
    assert!(join(&w, "U2", "click-2").text().contains("is open"));
    assert_eq!(created(&w).len(), 1);
}

fn set_room(store: &Arc<MemoryStore>, provider: &str, channel: &str, name: &str) {
    let service = IncidentService::new(
        store.clone(),
        Arc::new(MemoryPublisher::default()),
        Arc::new(FixedClock::at(time::macros::datetime!(2026-11-27 10:01 UTC))),
    );
    let room = WarRoom {
        provider: provider.into(),
        channel: channel.into(),
        name: name.into(),
    };
    let outcome = block_on(service.set_war_room(&inv("U9"), &IncidentId::new(2026, 1), room));
    assert!(matches!(outcome.reply, Reply::Card { .. }), "{:?}", outcome.reply);
}

#[test]
fn a_room_opened_meanwhile_on_the_same_provider_is_joined_and_ours_archived() {
    let w = world(true);
    let store = w.service.store().clone();
    w.chat
        .before_create(move || set_room(&store, "acme", "C_THEIRS", "inc-2026-001-theirs"));
    assert_eq!(join(&w, "U1", "click-1").text(), "You joined #inc-2026-001-theirs.");
    let sent = w.chat.sent();
    assert!(sent.contains(&Sent::Invite {
        channel: "C_THEIRS".into(),
        user: "U1".into()
    }));
    assert!(
        sent.iter()
            .any(|s| matches!(s, Sent::Archive { channel } if channel.starts_with("C_m"))),
        "{sent:?}"
    );
}

#[test]
fn a_closed_incident_gets_no_war_room() {
    let w = world(true);
    let settings = Settings {
        policy: &AccessPolicy::default(),
        role: crate::rbac::Role::Responder,
        default_severity: Severity::Sev3,
        extra_help: &[],
    };
    for line in ["resolve INC-2026-001 fixed", "close INC-2026-001"] {
        block_on(w.service.execute(&inv("U1"), &settings, parse(line).expect("parses")));
    }
    let reply = join(&w, "U1", "click-1");
    assert!(matches!(reply, Reply::Refused { .. }), "{reply:?}");
    assert!(reply.text().contains("closed"), "{}", reply.text());
    assert!(created(&w).is_empty(), "no channel made for a closed incident");
}

#[test]
fn an_incident_closed_while_the_room_was_made_is_refused_not_sent_to_another_platforms_room() {
    let w = world(true);
    set_room(w.service.store(), "other", "C_ELSEWHERE", "inc-2026-001-elsewhere");
    let store = w.service.store().clone();
    w.chat.before_create(move || {
        let service = IncidentService::new(
            store,
            Arc::new(MemoryPublisher::default()),
            Arc::new(FixedClock::at(time::macros::datetime!(2026-11-27 10:02 UTC))),
        );
        let settings = Settings {
            policy: &AccessPolicy::default(),
            role: crate::rbac::Role::Responder,
            default_severity: Severity::Sev3,
            extra_help: &[],
        };
        for line in ["resolve INC-2026-001 fixed", "close INC-2026-001"] {
            block_on(service.execute(&inv("U9"), &settings, parse(line).expect("parses")));
        }
    });
    let reply = join(&w, "U1", "click-1");
    assert!(matches!(reply, Reply::Refused { .. }), "{reply:?}");
    assert!(reply.text().contains("closed"), "{}", reply.text());
    assert!(
        !w.chat
            .sent()
            .iter()
            .any(|s| matches!(s, Sent::Invite { channel, .. } if channel == "C_ELSEWHERE"))
    );
    assert!(
        w.chat.sent().iter().any(|s| matches!(s, Sent::Archive { .. })),
        "the channel made is archived"
    );
}

#[test]
fn the_services_on_call_person_is_invited_when_the_room_opens() {
    let w = world(true);
    let id = IncidentId::new(2026, 1);
    let dan = UserRef::new("U0DAN", None).on("acme");
    let reply = block_on(join_war_room(
        &w.service,
        &w.deliverer,
        &w.target,
        &inv("U1"),
        &id,
        "click-1",
        Some(&dan),
    ));
    assert!(
        reply.text().ends_with("The on-call person (U0DAN) was invited."),
        "{}",
        reply.text()
    );
    let invited: Vec<String> = w
        .chat
        .sent()
        .into_iter()
        .filter_map(|s| match s {
            Sent::Invite { user, .. } => Some(user),
            _ => None,
        })
        .collect();
    assert_eq!(invited, ["U1", "U0DAN"]);
    // The on-call person opening the room is invited once.
    let w = world(true);
    let own = block_on(join_war_room(
        &w.service,
        &w.deliverer,
        &w.target,
        &inv("U0DAN"),
        &id,
        "click-1",
        Some(&dan),
    ));
    assert!(own.text().ends_with("you are in it."), "{}", own.text());
}
