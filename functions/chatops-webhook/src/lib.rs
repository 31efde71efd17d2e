//! `POST /chatops/{provider}`: the documented generic endpoint. The provider is looked up by
//! name and the request handed to its platform's adapter, so `https://…/chatops/company-slack`
//! works for every platform. An unsigned `{"type": "ping"}` is answered with a pong naming the
//! provider and its platform (nothing written, no secret read); an unknown name is 404.

use std::sync::Arc;

use axum::Router;
use im_core::ports::{EventPublisher, IncidentStore};
use im_webhook::Gateway;

pub fn router<S: IncidentStore, P: EventPublisher>(gateway: Arc<Gateway<S, P>>) -> Router {
    im_webhook::generic_router(gateway)
}
