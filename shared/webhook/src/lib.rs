//! im-webhook: the generic webhook library. One [`Gateway`] serves every platform: it reads the
//! body (bounded), looks the provider up, has the platform's adapter verify the signature
//! (re-reading a rotated secret once), parse the request and render the answer, and does the
//! rest once for all of them: redaction of what people type, tenant binding, status gates,
//! deduplication by the platform's request id, the access gate (roles, identity, channels,
//! limits; `gate.rs`), the platform's deadline, and handing slow work to the interaction worker.
//!
//! Routes: `POST /chatops/<platform>/{instance}` per platform ([`platform_router`]) and the
//! generic `POST /chatops/{provider}` ([`generic_router`]), which also answers an unsigned
//! `{"type": "ping"}` with the provider's name and platform.

pub mod aws;
mod converse;
mod gate;
mod gateway;
mod rejections;
pub mod worker;
mod workflow;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use im_core::inbound::HttpAnswer;
use im_core::ports::{EventPublisher, IncidentStore};

pub use gateway::{Gateway, Parts, SEEN_TTL_SECONDS, Via};

/// Largest webhook body we read. Chat platforms send a few KiB; anything bigger is refused
/// before it is buffered.
pub const MAX_BODY_BYTES: usize = im_aws::web::MAX_BODY_BYTES;

/// Header names lowercased (as API Gateway's v2 events carry them), values that are text.
pub fn headers(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_ascii_lowercase(), v.to_string()))
        })
        .collect()
}

/// An adapter's answer as an HTTP response.
pub fn response(answer: HttpAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    if let Some(ct) = answer.content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    response
}

async fn serve<S: IncidentStore, P: EventPublisher>(
    gateway: Arc<Gateway<S, P>>,
    via: Via,
    name: String,
    map: HeaderMap,
    body: Body,
) -> Response {
    let body = match im_aws::web::read_body(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let headers = headers(&map);
    // Boxed: the handling future is large, and worker threads have small stacks.
    response(Box::pin(gateway.handle(via, &name, &headers, &body)).await)
}

/// `POST /chatops/<platform>/{instance}`: one platform's endpoint.
pub fn platform_router<S: IncidentStore, P: EventPublisher>(
    gateway: Arc<Gateway<S, P>>,
    platform: &'static str,
) -> Router {
    Router::new()
        .route(
            &format!("/chatops/{platform}/{{instance}}"),
            post(
                move |State(gw): State<Arc<Gateway<S, P>>>,
                      Path(instance): Path<String>,
                      map: HeaderMap,
                      body: Body| { serve(gw, Via::Platform(platform), instance, map, body) },
            ),
        )
        .with_state(gateway)
}

/// `POST /chatops/{provider}`: any provider by name, handed to its platform.
pub fn generic_router<S: IncidentStore, P: EventPublisher>(gateway: Arc<Gateway<S, P>>) -> Router {
    Router::new()
        .route(
            "/chatops/{provider}",
            post(
                |State(gw): State<Arc<Gateway<S, P>>>, Path(provider): Path<String>, map: HeaderMap, body: Body| {
                    serve(gw, Via::Generic, provider, map, body)
                },
            ),
        )
        .with_state(gateway)
}
