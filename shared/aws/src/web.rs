//! HTTP glue shared by the webhook functions: bounded body reading, clear error responses.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};

/// Largest webhook body we read. Chat platforms send a few KiB; anything bigger is refused
/// before it is buffered.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A 4xx/5xx with a JSON message a person understands: `{"error": "…"}`.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() });
    (status, axum::Json(body)).into_response()
}

/// 401 with an empty body: a bad signature learns nothing.
pub fn unauthorized() -> Response {
    StatusCode::UNAUTHORIZED.into_response()
}

pub fn json(value: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "could not encode the response"),
    }
}

/// Reads the whole body, refusing more than `limit` bytes with 413.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, Response> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {} KiB", limit / 1024),
        )),
        Err(_) => Err(error(StatusCode::BAD_REQUEST, "the request body could not be read")),
    }
}

/// A header as text; absent, empty or not UTF-8 is `None`.
pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}
