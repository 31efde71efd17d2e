//! `POST /chatops/discord/{instance}`: Discord interactions (PING, `/im` commands, buttons and
//! selects, autocomplete, modals). The Discord adapter (`im-discord`) verifies, parses and
//! renders; the generic webhook library (`im-webhook`) does everything else. The same
//! [`router`] runs in Lambda (`main.rs`) and in `im serve`.

use std::sync::Arc;

use axum::Router;
use im_core::ports::{EventPublisher, IncidentStore};
use im_webhook::Gateway;

pub fn router<S: IncidentStore, P: EventPublisher>(gateway: Arc<Gateway<S, P>>) -> Router {
    im_webhook::platform_router(gateway, "discord")
}
