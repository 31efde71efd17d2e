//! im-core: the incident domain, the `/im` command grammar, use cases and ports, the neutral
//! message model, the incident card and its actions, routing and the delivery algorithm, and the
//! platform seam (inbound and outbound). No platform syntax, no AWS, no HTTP client, no async
//! runtime: `cargo tree -p im-core -e normal` shows it.

pub mod access;
pub mod action;
pub mod card;
pub mod chat;
pub mod command;
pub mod conversation;
pub mod custom;
pub mod delivery;
pub mod directory;
pub mod inbound;
pub mod incident;
pub mod invocation;
pub mod message;
pub mod nlu;
pub mod notify;
pub mod oncall;
pub mod ports;
pub mod privacy;
pub mod probe;
pub mod provider;
pub mod rbac;
pub mod redact;
pub mod reply;
pub mod service;
pub mod sla;
pub mod team;
pub mod template;
pub mod timeline;
pub mod usage;
pub mod work;
pub mod workflow;

#[cfg(any(test, feature = "testing"))]
pub mod memory;

#[cfg(any(test, feature = "testing"))]
pub mod block_on;

pub use command::{Command, UsageError, Verb, parse};
pub use incident::{Action, Incident, IncidentId, Origin, Refusal, Severity, Status, UserRef};
pub use invocation::{Actor, Interface, Invocation};
pub use ports::{Change, Clock, CommitError, EventPublisher, IncidentStore, PublishError, StoreError, SystemClock};
pub use provider::{Platform, Provider, ProviderConfig, ProviderStatus};
pub use rbac::{AccessPolicy, Role};
pub use reply::{CardKind, Reply};
pub use service::{CustomCommand, IncidentService, Outcome, Settings};
pub use timeline::{EventKind, IncidentEvent, TimelineEntry};
