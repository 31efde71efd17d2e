// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::block_on::block_on;
use crate::chat::ChatError;
use crate::conversation::Memo;
use crate::incident::{IncidentId, Origin};
use crate::memory::{FixedClock, MemoryMemo, MemoryProviders, provider};

/// The platform's directory: people by id, or an outage.
#[derive(Default)]
struct Directory {
    people: Mutex<HashMap<String, Person>>,
    down: Mutex<bool>,
    calls: AtomicUsize,
}

impl Directory {
    fn with(self, id: &str, person: Person) -> Self {
        self.people.lock().unwrap().insert(id.into(), person);
        self
    }
    fn set(&self, id: &str, person: Person) {
        self.people.lock().unwrap().insert(id.into(), person);
    }
    fn down(&self, down: bool) {
        *self.down.lock().unwrap() = down;
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl People for Directory {
    fn person<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<Option<Person>, ChatError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = if *self.down.lock().unwrap() {
            Err(ChatError::Transient("HTTP 503".into()))
        } else {
            Ok(self.people.lock().unwrap().get(user).cloned())
        };
        Box::pin(async move { answer })
    }
}

fn active() -> Person {
    Person {
        active: true,
        email: Some("ann@example.com".into()),
        ..Person::default()
    }
}

/// A policy endpoint answering one thing, recording what it was asked.
#[derive(Default)]
struct Endpoint {
    answer: Mutex<Option<Result<Option<Role>, String>>>,
    asked: Mutex<Vec<(String, Option<String>, Value)>>,
}

impl RoleSource for Endpoint {
    fn role<'a>(
        &'a self,
        url: &'a str,
        secret: Option<&'a str>,
        input: &'a Value,
    ) -> BoxFuture<'a, Result<Option<Role>, String>> {
        self.asked
            .lock()
            .unwrap()
            .push((url.into(), secret.map(str::to_string), input.clone()));
        let answer = self
            .answer
            .lock()
            .unwrap()
            .clone()
            .unwrap_or(Err("connection refused".into()));
        Box::pin(async move { answer })
    }
}

/// The memo, recording the expiry each counter was created with.
#[derive(Default)]
struct Recording {
    inner: MemoryMemo,
    counted: Mutex<Vec<(String, i64)>>,
}

impl Memo for Recording {
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
        expires_at: Option<i64>,
    ) -> BoxFuture<'a, Result<(), crate::ports::StoreError>> {
        self.inner.put(key, value, expires_at)
    }
    fn get<'a>(&'a self, key: &'a str, now: i64) -> BoxFuture<'a, Result<Option<String>, crate::ports::StoreError>> {
        self.inner.get(key, now)
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), crate::ports::StoreError>> {
        self.inner.delete(key)
    }
    fn count<'a>(&'a self, key: &'a str, expires_at: i64) -> BoxFuture<'a, Result<u64, crate::ports::StoreError>> {
        self.counted.lock().unwrap().push((key.to_string(), expires_at));
        self.inner.count(key, expires_at)
    }
}

#[test]
fn counters_expire_after_their_window_and_lookups_after_a_day() {
    let clock = Arc::new(FixedClock::at(datetime!(2026-12-02 10:03:20 UTC)));
    let memo = Arc::new(Recording::default());
    let gate = Gate::new(
        memo.clone(),
        Arc::new(Endpoint::default()),
        Arc::new(MemoryProviders::default()),
        clock.clone(),
    );
    let p = acme(json!({}));
    let user = UserRef::new("U1", None);
    let people = Directory::default().with("U1", active());
    let ask = Ask {
        provider: &p,
        secrets: &ProviderSecrets::default(),
        people: Some(&people),
        user: &user,
        channel: None,
        command: "declare",
        changes: true,
        incident: None,
        to_severity: None,
        preview: false,
    };
    assert!(block_on(gate.admit(&ask)).is_ok());
    assert!(block_on(gate.record_refusal("acme", "U1")));
    let counted = memo.counted.lock().unwrap().clone();
    let now = datetime!(2026-12-02 10:03:20 UTC).unix_timestamp();
    let window = now / DECLARE_WINDOW_SECONDS;
    let hour = now / 3600;
    assert_eq!(
        counted,
        vec![
            (
                format!("limit:declare:acme:U1:{window}"),
                (window + 1) * DECLARE_WINDOW_SECONDS + 60
            ),
            (format!("limit:denied:acme:U1:{hour}"), (hour + 1) * 3600 + 60),
        ],
        "a minute after the window ends"
    );
    let key = identity_key("acme", "U1");
    assert!(
        block_on(memo.get(&key, now + IDENTITY_STALE_SECONDS - 1))
            .unwrap()
            .is_some()
    );
    assert!(
        block_on(memo.get(&key, now + IDENTITY_STALE_SECONDS))
            .unwrap()
            .is_none()
    );
}

struct Fixture {
    gate: Gate,
    clock: Arc<FixedClock>,
    people: Directory,
    endpoint: Arc<Endpoint>,
    providers: Arc<MemoryProviders>,
    memo: Arc<MemoryMemo>,
}

fn fixture() -> Fixture {
    let clock = Arc::new(FixedClock::at(datetime!(2026-12-02 10:00 UTC)));
    let endpoint = Arc::new(Endpoint::default());
    let providers = Arc::new(MemoryProviders::default());
    let memo = Arc::new(MemoryMemo::default());
    Fixture {
        gate: Gate::new(memo.clone(), endpoint.clone(), providers.clone(), clock.clone()),
        clock,
        people: Directory::default().with("U1", active()),
        endpoint,
        providers,
        memo,
    }
}

fn acme(rbac: Value) -> Provider {
    provider("acme", "slack", json!({ "rbac": rbac }))
}

fn incident(origin: &str, severity: Severity) -> Incident {
    Incident::declared(
        IncidentId::new(2026, 7),
        "Checkout down".into(),
        severity,
        UserRef::new("U9", None),
        datetime!(2026-12-02 09:00 UTC),
        Origin {
            platform: "slack".into(),
            provider: origin.into(),
            channel: None,
        },
    )
}

struct Req<'a> {
    user: &'a str,
    channel: Option<&'a str>,
    command: &'a str,
    changes: bool,
    incident: Option<&'a Incident>,
    to: Option<Severity>,
    preview: bool,
}

fn req<'a>(user: &'a str, command: &'a str) -> Req<'a> {
    Req {
        user,
        channel: Some("C1"),
        command,
        changes: !matches!(command, "list" | "status" | "timeline" | "help" | "details"),
        incident: None,
        to: None,
        preview: false,
    }
}

fn admit(f: &Fixture, p: &Provider, r: Req<'_>) -> Result<Granted, Denied> {
    admit_with(f, p, &ProviderSecrets::default(), r)
}

fn admit_with(f: &Fixture, p: &Provider, secrets: &ProviderSecrets, r: Req<'_>) -> Result<Granted, Denied> {
    let user = UserRef::new(r.user, None);
    block_on(f.gate.admit(&Ask {
        provider: p,
        secrets,
        people: Some(&f.people),
        user: &user,
        channel: r.channel,
        command: r.command,
        changes: r.changes,
        incident: r.incident,
        to_severity: r.to,
        preview: r.preview,
    }))
}

#[test]
fn reading_needs_no_lookup_and_changing_needs_the_role() {
    let f = fixture();
    let p = acme(json!({"default_role": "viewer", "users": {"U1": "responder"}}));
    let read = admit(&f, &p, req("U2", "list")).expect("anyone may read");
    assert_eq!(read.role, Role::Viewer);
    assert_eq!(f.people.calls(), 0, "a read asks the platform nothing");

    let denied = admit(&f, &p, req("U2", "ack")).expect_err("a viewer cannot ack");
    assert_eq!(
        denied.to_string(),
        "You need the responder role to run `ack` (you are viewer). Ask an admin of this integration."
    );
    assert_eq!(denied.needed(), Some(Role::Responder));
    assert_eq!(f.people.calls(), 0, "a role that is not enough needs no identity check");

    let granted = admit(&f, &p, req("U1", "ack")).expect("a verified responder may ack");
    assert_eq!(granted.role, Role::Responder);
    assert_eq!(f.people.calls(), 1);
}

#[test]
fn commands_and_downgrades_can_need_more() {
    let f = fixture();
    f.people.set("U2", active());
    let p = acme(json!({"users": {"U2": "commander"}, "commands": {"close": "commander", "downgrade": "commander"}}));
    let inc = incident("acme", Severity::Sev2);
    assert!(admit(&f, &p, req("U1", "close")).is_err());
    assert!(admit(&f, &p, req("U2", "close")).is_ok());
    let up = Req {
        incident: Some(&inc),
        to: Some(Severity::Sev1),
        ..req("U1", "escalate")
    };
    assert!(admit(&f, &p, up).is_ok(), "raising severity is an escalation");
    let down = Req {
        incident: Some(&inc),
        to: Some(Severity::Sev3),
        ..req("U1", "escalate")
    };
    let denied = admit(&f, &p, down).expect_err("lowering it is a downgrade");
    assert!(
        denied.to_string().contains("commander role to run `downgrade`"),
        "{denied}"
    );
    let same = Req {
        incident: Some(&inc),
        to: Some(Severity::Sev2),
        ..req("U1", "escalate")
    };
    assert!(admit(&f, &p, same).is_ok(), "the same severity is not a downgrade");
}

#[test]
fn sensitive_commands_run_only_in_their_channels() {
    let f = fixture();
    let p = acme(json!({"channels": {"close": ["C_IR", "C_OPS"], "escalate": ["C_IR"]}}));
    let denied = admit(&f, &p, req("U1", "close")).expect_err("C1 is not listed");
    assert_eq!(denied.to_string(), "`close` can only be run in one of #C_IR, #C_OPS.");
    assert_eq!(
        denied.text().plain_text(),
        "close can only be run in one of #C_IR, #C_OPS."
    );
    assert!(
        admit(
            &f,
            &p,
            Req {
                channel: Some("C_OPS"),
                ..req("U1", "close")
            }
        )
        .is_ok()
    );
    assert!(
        admit(
            &f,
            &p,
            Req {
                channel: None,
                ..req("U1", "close")
            }
        )
        .is_err(),
        "no channel is not a listed one"
    );
    assert!(
        admit(&f, &p, req("U1", "ack")).is_ok(),
        "unlisted commands run anywhere"
    );
    let inc = incident("acme", Severity::Sev2);
    let down = Req {
        incident: Some(&inc),
        to: Some(Severity::Sev4),
        ..req("U1", "escalate")
    };
    let denied = admit(&f, &p, down).expect_err("a downgrade is an escalate for channels");
    assert_eq!(denied.to_string(), "`escalate` can only be run in #C_IR.");
    assert_eq!(denied.text().plain_text(), "escalate can only be run in #C_IR.");
    // The channel gate comes first: even a read is refused outside the list.
    let p = acme(json!({"channels": {"timeline": ["C_IR"]}}));
    assert!(admit(&f, &p, req("U1", "timeline")).is_err());
}

#[test]
fn identity_refusals_say_why() {
    let f = fixture();
    let p = acme(json!({"email_domains": ["example.com"]}));
    f.people.set(
        "U_GONE",
        Person {
            active: false,
            ..active()
        },
    );
    f.people.set(
        "U_GUEST",
        Person {
            guest: true,
            ..active()
        },
    );
    f.people.set("U_BOT", Person { bot: true, ..active() });
    f.people.set(
        "U_OTHER",
        Person {
            email: Some("eve@elsewhere.org".into()),
            ..active()
        },
    );
    f.people.set(
        "U_NOMAIL",
        Person {
            email: None,
            ..active()
        },
    );
    f.people.set(
        "U_CASE",
        Person {
            email: Some("Ann@EXAMPLE.com".into()),
            ..active()
        },
    );
    let why = |user: &str| admit(&f, &p, req(user, "ack")).expect_err(user).to_string();
    assert_eq!(
        why("U_GONE"),
        "Your Slack account could not be verified for `ack`: the account is deactivated or no longer in the workspace."
    );
    assert!(why("U_GUEST").contains("guest accounts cannot act here"));
    assert!(why("U_BOT").contains("bot accounts act only as a mapped service account"));
    assert!(why("U_OTHER").contains("your e-mail domain is not one this workspace allows (example.com)"));
    assert!(why("U_NOMAIL").contains("did not share your e-mail address"));
    assert!(why("U_NOBODY").contains("the workspace has no such user"));
    assert!(
        admit(&f, &p, req("U_CASE", "ack")).is_ok(),
        "domains compare without case"
    );
    assert!(admit(&f, &p, req("U_GUEST", "list")).is_ok(), "anyone may still read");

    let guests = acme(json!({"allow_guests": true}));
    assert!(admit(&f, &guests, req("U_GUEST", "ack")).is_ok());
    let anywhere = acme(json!({}));
    assert!(
        admit(&f, &anywhere, req("U_OTHER", "ack")).is_ok(),
        "no domain list, no domain check"
    );
}

#[test]
fn verifications_are_cached_and_an_outage_honours_a_recent_one() {
    let f = fixture();
    let p = acme(json!({}));
    assert!(admit(&f, &p, req("U1", "ack")).is_ok());
    assert!(admit(&f, &p, req("U1", "resolve")).is_ok());
    assert_eq!(f.people.calls(), 1, "within ten minutes the verification is reused");

    f.clock.advance(time::Duration::seconds(IDENTITY_FRESH_SECONDS));
    f.people.set(
        "U1",
        Person {
            active: false,
            ..active()
        },
    );
    assert!(
        admit(&f, &p, req("U1", "ack")).is_err(),
        "after ten minutes the platform is asked again"
    );
    assert_eq!(f.people.calls(), 2);
    assert!(admit(&f, &p, req("U1", "ack")).is_err(), "a refusal is cached too");
    assert_eq!(f.people.calls(), 2);

    // A verified person stays verified through an outage, for a day.
    f.people.set("U2", active());
    assert!(admit(&f, &p, req("U2", "ack")).is_ok());
    f.people.down(true);
    f.clock.advance(time::Duration::hours(23));
    assert!(
        admit(&f, &p, req("U2", "ack")).is_ok(),
        "a verification under 24 hours old stands"
    );
    f.clock.advance(time::Duration::hours(2));
    let denied = admit(&f, &p, req("U2", "ack")).expect_err("an older one does not");
    assert!(
        denied.to_string().contains("Slack did not answer the identity check")
            && denied.to_string().contains("try again"),
        "{denied}"
    );
    // Nor does a recent refusal become a pass in an outage.
    f.people.down(false);
    f.people.set(
        "U4",
        Person {
            guest: true,
            ..active()
        },
    );
    assert!(admit(&f, &p, req("U4", "ack")).is_err());
    f.people.down(true);
    f.clock.advance(time::Duration::seconds(IDENTITY_FRESH_SECONDS));
    let still = admit(&f, &p, req("U4", "ack")).expect_err("a refusal stays one");
    assert!(still.to_string().contains("did not answer"), "{still}");
    // Never verified and the platform down: refused, with why.
    assert!(
        admit(&f, &p, req("U3", "ack"))
            .unwrap_err()
            .to_string()
            .contains("did not answer")
    );
}

#[test]
fn platforms_without_a_directory_take_the_signature_word() {
    let f = fixture();
    let p = acme(json!({}));
    let user = UserRef::new("U_UNKNOWN", None);
    let granted = block_on(f.gate.admit(&Ask {
        provider: &p,
        secrets: &ProviderSecrets::default(),
        people: None,
        user: &user,
        channel: None,
        command: "ack",
        changes: true,
        incident: None,
        to_severity: None,
        preview: false,
    }));
    assert_eq!(granted.map(|g| g.role), Ok(Role::Responder));
}

#[test]
fn service_accounts_skip_identity_and_the_declare_limit() {
    let f = fixture();
    let p = acme(json!({
        "default_role": "viewer",
        "users": {"B_DEPLOY": {"role": "responder", "automation": "deploy-bot"}},
        "declare_limit": 1
    }));
    for _ in 0..3 {
        let granted = admit(&f, &p, req("B_DEPLOY", "declare")).expect("an automation declares");
        assert_eq!(granted.automation.as_deref(), Some("deploy-bot"));
    }
    assert_eq!(f.people.calls(), 0, "a service account is not a person to look up");
}

#[test]
fn declares_are_limited_per_person_and_window() {
    let f = fixture();
    f.people.set("U2", active());
    let p = acme(json!({}));
    for n in 1..=5 {
        assert!(admit(&f, &p, req("U1", "declare")).is_ok(), "declare {n}");
    }
    let form = Req {
        preview: true,
        ..req("U1", "declare")
    };
    assert!(admit(&f, &p, form).is_ok(), "opening the declare form counts nothing");
    let denied = admit(&f, &p, req("U1", "declare")).expect_err("the sixth in ten minutes");
    assert!(
        denied
            .to_string()
            .contains("declared 5 incidents in the last 10 minutes"),
        "{denied}"
    );
    assert!(
        admit(&f, &p, req("U2", "declare")).is_ok(),
        "another person has their own count"
    );
    assert!(
        admit(&f, &p, req("U1", "ack")).is_ok(),
        "other commands are not limited"
    );
    f.clock.advance(time::Duration::seconds(DECLARE_WINDOW_SECONDS));
    assert!(admit(&f, &p, req("U1", "declare")).is_ok(), "a new window");

    let unlimited = provider("open", "slack", json!({"rbac": {"declare_limit": 0}}));
    for _ in 0..8 {
        assert!(admit(&f, &unlimited, req("U1", "declare")).is_ok());
    }
    let two = provider("two", "slack", json!({"rbac": {"declare_limit": 2}}));
    assert!(admit(&f, &two, req("U1", "declare")).is_ok());
    assert!(admit(&f, &two, req("U1", "declare")).is_ok());
    assert_eq!(admit(&f, &two, req("U1", "declare")), Err(Denied::Limit { limit: 2 }));
}

#[test]
fn the_policy_endpoint_decides_and_the_mapping_stands_in_when_it_is_down() {
    let f = fixture();
    let p = acme(json!({
        "default_role": "viewer",
        "users": {"U1": {"role": "responder", "person": "ann"}},
        "commands": {"close": "commander"},
        "policy_url": "https://policy.example.com/v1/data/chatops"
    }));
    let secrets = ProviderSecrets::from_map([(POLICY_SECRET_KEY.to_string(), "s3cret".to_string())].into());
    *f.endpoint.answer.lock().unwrap() = Some(Ok(Some(Role::Commander)));
    assert!(
        admit_with(&f, &p, &secrets, req("U1", "close")).is_ok(),
        "the endpoint says commander"
    );
    {
        let asked = f.endpoint.asked.lock().unwrap();
        let (url, secret, input) = &asked[0];
        assert_eq!(url, "https://policy.example.com/v1/data/chatops");
        assert_eq!(secret.as_deref(), Some("s3cret"));
        assert_eq!(input["input"]["identity"], "acme:U1");
        assert_eq!(input["input"]["command"], "close");
        assert_eq!(input["input"]["user"]["person"], "ann");
        assert_eq!(input["input"]["local_role"], "responder");
        assert_eq!(input["input"]["channel"], "C1");
    }
    *f.endpoint.answer.lock().unwrap() = Some(Ok(Some(Role::Viewer)));
    assert!(
        admit_with(&f, &p, &secrets, req("U1", "ack")).is_err(),
        "the endpoint can also take a role away"
    );
    *f.endpoint.answer.lock().unwrap() = Some(Ok(None));
    assert!(
        admit_with(&f, &p, &secrets, req("U1", "ack")).is_ok(),
        "no role in the answer: the mapping"
    );
    *f.endpoint.answer.lock().unwrap() = None;
    assert!(
        admit_with(&f, &p, &secrets, req("U1", "ack")).is_ok(),
        "down: the mapping decides"
    );
    assert!(
        admit_with(&f, &p, &secrets, req("U1", "close")).is_err(),
        "and the mapping says responder"
    );
    let reads = f.endpoint.asked.lock().unwrap().len();
    assert!(admit_with(&f, &p, &secrets, req("U1", "list")).is_ok());
    assert_eq!(f.endpoint.asked.lock().unwrap().len(), reads, "reads ask no endpoint");
}

#[test]
fn policy_answers_are_read_strictly() {
    assert_eq!(
        read_policy_answer(br#"{"result": {"role": "commander"}}"#),
        Ok(Some(Role::Commander))
    );
    assert_eq!(read_policy_answer(br#"{"result": {"role": null}}"#), Ok(None));
    assert_eq!(read_policy_answer(br#"{"result": {}}"#), Ok(None));
    assert!(read_policy_answer(br#"{"result": {"role": "boss"}}"#).is_err());
    assert!(read_policy_answer(br#"{"result": {"role": 3}}"#).is_err());
    assert!(read_policy_answer(br#"{"allow": true}"#).is_err());
    assert!(read_policy_answer(b"<html>").is_err());
}

#[test]
fn signatures_are_githubs_hmac_sha256() {
    // HMAC-SHA256("It's a Secret to Everybody", "Hello, World!") from GitHub's webhook docs.
    let sig = signature("It's a Secret to Everybody", b"Hello, World!");
    assert_eq!(
        sig,
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
    assert!(signature_matches("It's a Secret to Everybody", b"Hello, World!", &sig));
    assert!(!signature_matches("It's a Secret to Everybody", b"Hello, World?", &sig));
    assert!(!signature_matches("another", b"Hello, World!", &sig));
    assert!(!signature_matches("It's a Secret to Everybody", b"Hello, World!", ""));
}

#[test]
fn the_origin_providers_policy_also_decides_closing_and_downgrading() {
    let f = fixture();
    f.providers.add(
        provider(
            "ops",
            "discord",
            json!({"rbac": {"default_role": "viewer", "users": {"111": {"role": "commander", "person": "ann"}}, "commands": {"close": "commander"}}}),
        ),
        &[],
    );
    let here = acme(
        json!({"users": {"U1": {"role": "responder", "person": "ann"}, "U2": "admin"},
                           "commands": {"close": "commander"}}),
    );
    // The acting provider is itself in the directory: its own incidents need only its policy.
    f.providers.add(here.clone(), &[]);
    let ann = acme(json!({"users": {"U1": {"role": "commander", "person": "ann"}}}));
    f.people.set("U1", active());
    f.people.set("U2", active());
    let theirs = incident("ops", Severity::Sev2);
    let ours = incident("acme", Severity::Sev2);

    assert!(
        admit(
            &f,
            &ann,
            Req {
                incident: Some(&theirs),
                ..req("U1", "close")
            }
        )
        .is_ok(),
        "ann is a commander there"
    );
    let denied = admit(
        &f,
        &here,
        Req {
            incident: Some(&theirs),
            ..req("U2", "close")
        },
    )
    .expect_err("an admin here is a viewer there");
    assert_eq!(
        denied.to_string(),
        "INC-2026-007 was declared through ops, whose policy needs the commander role to close it (you are viewer there)."
    );
    let down = Req {
        incident: Some(&theirs),
        to: Some(Severity::Sev3),
        ..req("U2", "escalate")
    };
    assert!(matches!(admit(&f, &here, down), Err(Denied::Origin { .. })));
    let up = Req {
        incident: Some(&theirs),
        to: Some(Severity::Sev1),
        ..req("U2", "escalate")
    };
    assert!(
        admit(&f, &here, up).is_ok(),
        "raising severity needs only the acting policy"
    );
    assert!(
        admit(
            &f,
            &here,
            Req {
                incident: Some(&theirs),
                ..req("U2", "resolve")
            }
        )
        .is_ok()
    );
    assert!(
        admit(
            &f,
            &here,
            Req {
                incident: Some(&ours),
                ..req("U2", "close")
            }
        )
        .is_ok()
    );
    let gone = incident("removed-provider", Severity::Sev2);
    assert!(
        admit(
            &f,
            &here,
            Req {
                incident: Some(&gone),
                ..req("U2", "close")
            }
        )
        .is_ok(),
        "a removed origin has no policy left"
    );
}

#[test]
fn refusals_are_recorded_a_limited_number_of_times() {
    let f = fixture();
    for n in 1..=DENIED_ENTRIES_PER_HOUR {
        assert!(block_on(f.gate.record_refusal("acme", "U1")), "refusal {n}");
    }
    assert!(!block_on(f.gate.record_refusal("acme", "U1")));
    assert!(block_on(f.gate.record_refusal("acme", "U2")));
    f.clock.advance(time::Duration::hours(1));
    assert!(block_on(f.gate.record_refusal("acme", "U1")), "a new hour");
    assert!(f.memo.keys().is_empty(), "counters are not memos");
}

#[test]
fn the_denied_entry_names_who_what_where_and_why() {
    let actor = crate::invocation::Actor {
        platform: "slack".into(),
        provider: "acme".into(),
        user: UserRef::new("U2", None),
        channel: Some("C1".into()),
    };
    let denied = Denied::Role {
        command: "close".into(),
        needed: Role::Commander,
        have: Role::Viewer,
    };
    let entry = denied_entry(
        &actor,
        "/im close INC-2026-007",
        &denied,
        datetime!(2026-12-02 10:00 UTC),
    );
    assert_eq!(entry.event_type, "chatops.denied");
    assert_eq!(entry.actor, "chatops:U2");
    assert_eq!(entry.source, "slack:acme");
    assert_eq!(
        Value::Object(entry.data),
        json!({"channel": "C1", "command": "/im close INC-2026-007", "policy": "close",
               "response": denied.to_string(), "needed": "commander"})
    );
    let limit = denied_entry(
        &actor,
        "/im declare x",
        &Denied::Limit { limit: 5 },
        datetime!(2026-12-02 10:00 UTC),
    );
    assert_eq!(limit.data["policy"], "declare");
    assert!(limit.data.get("needed").is_none());
}

#[test]
fn policies_name_their_problems() {
    let p: AccessPolicy = serde_json::from_value(json!({
        "commands": {"clsoe": "commander", "custom:deploy": "admin", "downgrade": "commander"},
        "channels": {"close": []},
        "email_domains": ["example.com"],
        "policy_url": "http://policy.example.com",
        "users": {"U1": {"role": "admin", "person": "ann", "automation": "bot"}}
    }))
    .expect("parses");
    let problems = p.problems(false);
    assert_eq!(problems.len(), 5, "{problems:#?}");
    assert!(problems[0].contains("`clsoe` is not a command"));
    assert!(problems.iter().any(|p| p.contains("rbac.channels.close")));
    assert!(problems.iter().any(|p| p.contains("does not share e-mail")));
    assert!(problems.iter().any(|p| p.contains("must be an https:// URL")));
    assert!(problems.iter().any(|p| p.contains("not both")));
    assert_eq!(p.problems(true).len(), 4);
    assert!(AccessPolicy::default().problems(false).is_empty());
    for local in [
        "http://localhost:8181/v1/data",
        "http://127.0.0.1:8181/v1/data",
        "https://opa.example.com",
    ] {
        let p: AccessPolicy = serde_json::from_value(json!({"policy_url": local})).expect("parses");
        assert!(p.problems(true).is_empty(), "{local}");
    }
}

#[test]
fn mappings_read_both_shapes_and_write_the_short_one() {
    let p: AccessPolicy = serde_json::from_value(json!({
        "users": {"U1": "commander", "U2": {"role": "responder", "person": "ann"}}
    }))
    .expect("parses");
    assert_eq!(p.users["U1"], Member::role(Role::Commander));
    assert_eq!(p.users["U2"].person.as_deref(), Some("ann"));
    let back = serde_json::to_value(&p).expect("serializes");
    assert_eq!(
        back["users"],
        json!({"U1": "commander", "U2": {"role": "responder", "person": "ann"}})
    );
    assert_eq!(back["declare_limit"], 5);
    assert!(back.get("allow_guests").is_none(), "false is left out");
    let guests: AccessPolicy = serde_json::from_value(json!({"allow_guests": true})).expect("parses");
    assert_eq!(serde_json::to_value(&guests).expect("serializes")["allow_guests"], true);
    assert_eq!(p.role_of_person(Some("ann")), Role::Responder);
    assert_eq!(p.role_of_person(Some("bob")), Role::Responder, "the default role");
    assert_eq!(p.role_of_person(None), p.default_role);
    assert_eq!(AccessPolicy::for_new_provider().default_role, Role::Viewer);
    assert_eq!("Commander".parse::<Role>(), Ok(Role::Commander));
    assert!("boss".parse::<Role>().is_err());
}
