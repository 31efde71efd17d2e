//! The REST API, `/api/v1`: what `im chatops` does, for other systems (PRODUCT-SPEC "REST API
//! Endpoints"; `functions/api/openapi.yaml` describes every route and shape).
//!
//! Never open: in AWS every route is IAM-authorised by API Gateway; under `im serve` it sits
//! behind a bearer token ([`with_bearer`]). No response and no log line carries a secret: a
//! provider is shown with its secret key *names* only, and request bodies are never logged.
//! Bad input is a 400 (unreadable JSON) or 422 (a field, named) with `{"error", "field"}`; an
//! unknown provider or incident is 404; an existing name is 409.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use im_aws::providers::AdminError;
use im_aws::{AwsClients, DynamoStore, ProviderDirectory};
use im_core::ports::IncidentStore;
use im_core::provider::{Provider, ProviderStatus};
use im_core::{EventKind, IncidentId, Severity};
use im_platforms::ops::{self, Sender, TestCard};
use serde_json::{Map, Value, json};

/// Every route: method and path template, as `openapi.yaml` lists them.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/chatops/providers"),
    ("POST", "/api/v1/chatops/providers"),
    ("GET", "/api/v1/chatops/providers/{name}"),
    ("PATCH", "/api/v1/chatops/providers/{name}"),
    ("DELETE", "/api/v1/chatops/providers/{name}"),
    ("POST", "/api/v1/chatops/providers/{name}/test"),
    ("POST", "/api/v1/chatops/providers/{name}/notify"),
    ("POST", "/api/v1/chatops/providers/{name}/message"),
    ("POST", "/api/v1/chatops/broadcast"),
    ("GET", "/api/v1/incidents"),
    ("GET", "/api/v1/incidents/{id}"),
    ("GET", "/api/v1/incidents/{id}/timeline"),
    ("GET", "/api/v1/rbac"),
    ("PUT", "/api/v1/rbac/users/{identity}"),
    ("DELETE", "/api/v1/rbac/users/{identity}"),
    ("PUT", "/api/v1/rbac/providers/{name}/default"),
    ("POST", "/api/v1/rbac/check"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/privacy/users/{identity}"),
    ("DELETE", "/api/v1/privacy/users/{identity}"),
];

/// What the handlers share.
pub struct Api {
    clients: Arc<AwsClients>,
    sender: Sender,
    store: DynamoStore,
}

impl Api {
    pub fn new(clients: Arc<AwsClients>) -> Self {
        Self {
            sender: Sender::new(clients.clone()),
            store: DynamoStore::new(clients.clone()),
            clients,
        }
    }

    fn directory(&self) -> &ProviderDirectory {
        &self.sender.directory
    }
}

type Shared = State<Arc<Api>>;

/// An error answer: `{"error": message, "field": field?}`.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    message: String,
    field: Option<String>,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.message});
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        (self.status, axum::Json(body)).into_response()
    }
}

type Answer = Result<Response, Problem>;

fn error(status: StatusCode, message: impl Into<String>, field: Option<&str>) -> Problem {
    Problem {
        status,
        message: message.into(),
        field: field.map(str::to_string),
    }
}

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    error(StatusCode::UNPROCESSABLE_ENTITY, message, Some(field))
}

fn unavailable(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "storage unavailable");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage is temporarily unavailable; try again",
        None,
    )
}

fn admin(e: AdminError) -> Problem {
    match e {
        AdminError::Invalid(message) => invalid("config", message),
        AdminError::Exists(name) => error(
            StatusCode::CONFLICT,
            format!("provider `{name}` already exists"),
            Some("name"),
        ),
        AdminError::NotFound(name) => not_found(&name),
        other => unavailable(other),
    }
}

fn not_found(name: &str) -> Problem {
    error(StatusCode::NOT_FOUND, format!("provider `{name}` not found"), None)
}

/// The body as a JSON object, or the 400 that says why not.
fn object(body: &Bytes) -> Result<Map<String, Value>, Problem> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(error(StatusCode::BAD_REQUEST, "the body must be a JSON object", None)),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
            None,
        )),
    }
}

fn string_field<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, Problem> {
    match body.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(invalid(field, format!("`{field}` is required"))),
        Some(_) => Err(invalid(field, format!("`{field}` must be a string"))),
    }
}

/// A provider as the API shows it: configuration without secrets, and the secret's key names.
async fn shown(api: &Api, provider: &Provider) -> Result<Value, Problem> {
    let (keys, gaps) = api.directory().secret_summary(provider).await.map_err(admin)?;
    Ok(json!({
        "name": provider.name,
        "type": provider.platform.as_str(),
        "status": provider.status.as_str(),
        "config": provider.config,
        "secret_keys": keys,
        "inbound_ready": gaps.is_empty(),
        "created_at": im_core::message::rfc3339(provider.created_at),
        "updated_at": im_core::message::rfc3339(provider.updated_at),
    }))
}

async fn list_providers(State(api): Shared) -> Answer {
    let providers = api.directory().list().await.map_err(unavailable)?;
    let mut out = Vec::new();
    for p in &providers {
        out.push(shown(&api, p).await?);
    }
    Ok(axum::Json(json!({"providers": out})).into_response())
}

async fn add_provider(State(api): Shared, body: Bytes) -> Answer {
    let body = object(&body)?;
    let name = string_field(&body, "name")?;
    let platform = string_field(&body, "type")?;
    im_core::provider::validate_name(name).map_err(|why| invalid("name", why))?;
    if im_core::provider::Platform::parse(platform).is_err() {
        return Err(invalid(
            "type",
            format!("`{platform}` is not a platform: slack, teams, discord or mattermost"),
        ));
    }
    let config = match body.get("config") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(c)) => Value::Object(c.clone()),
        Some(_) => return Err(invalid("config", "`config` must be an object")),
    };
    let added = match api.directory().add(name, platform, config).await {
        Ok(p) => p,
        Err(AdminError::Invalid(message)) if message.contains("is not a platform") => {
            return Err(invalid("type", message));
        }
        Err(e) => return Err(admin(e)),
    };
    let mut setup = Vec::new();
    match added.platform.as_str() {
        "slack" => setup.push(ops::bind_slack(api.clients.config(), api.directory(), &added).await),
        "discord" => setup.push(ops::register_discord(api.clients.config(), api.directory(), &added, None).await),
        _ => {}
    }
    let current = api
        .directory()
        .store()
        .get_provider(name)
        .await
        .map_err(unavailable)?
        .unwrap_or(added);
    let mut v = shown(&api, &current).await?;
    v["setup"] = json!(setup.iter().map(|l| l.trim()).collect::<Vec<_>>());
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

async fn get_provider(State(api): Shared, Path(name): Path<String>) -> Answer {
    let provider = api
        .directory()
        .store()
        .get_provider(&name)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| not_found(&name))?;
    Ok(axum::Json(shown(&api, &provider).await?).into_response())
}

async fn update_provider(State(api): Shared, Path(name): Path<String>, body: Bytes) -> Answer {
    let body = object(&body)?;
    let patch = match body.get("config") {
        None | Some(Value::Null) => None,
        Some(Value::Object(c)) => Some(Value::Object(c.clone())),
        Some(_) => return Err(invalid("config", "`config` must be an object (a JSON merge patch)")),
    };
    let status = match body.get("status") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "active" => Some(ProviderStatus::Active),
        Some(Value::String(s)) if s == "inactive" => Some(ProviderStatus::Inactive),
        Some(_) => return Err(invalid("status", "`status` is `active` or `inactive`")),
    };
    if patch.is_none() && status.is_none() {
        return Err(invalid("config", "nothing to update: send `config` and/or `status`"));
    }
    let updated = api.directory().update(&name, patch, status).await.map_err(admin)?;
    Ok(axum::Json(shown(&api, &updated).await?).into_response())
}

async fn remove_provider(State(api): Shared, Path(name): Path<String>) -> Answer {
    api.directory().remove(&name).await.map_err(admin)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `Failure` from an operator action: "not found" is a 404, anything else a 422 naming the cause.
fn failure(e: ops::Failure) -> Problem {
    if e.0.contains("not found") {
        error(StatusCode::NOT_FOUND, e.0, None)
    } else {
        error(StatusCode::UNPROCESSABLE_ENTITY, e.0, None)
    }
}

fn sent(s: &ops::Sent) -> Value {
    match &s.result {
        Ok(()) => json!({"provider": s.provider, "channel": s.channel, "ok": true}),
        Err(why) => json!({"provider": s.provider, "channel": s.channel, "ok": false, "error": why}),
    }
}

async fn test_provider(State(api): Shared, Path(name): Path<String>) -> Answer {
    let checks = api.sender.test(&name).await.map_err(failure)?;
    let ok = checks.iter().all(|c| c.verdict != im_core::probe::Verdict::Fail);
    Ok(axum::Json(json!({"provider": name, "ok": ok, "checks": checks})).into_response())
}

/// The event types a notification may be sent as: the incident event kinds.
use im_core::template::EVENT_TYPES;

async fn notify(State(api): Shared, Path(name): Path<String>, body: Bytes) -> Answer {
    let body = object(&body)?;
    let kind = string_field(&body, "type")?;
    if !EVENT_TYPES.contains(&kind) {
        return Err(invalid(
            "type",
            format!("`{kind}` is not an event type: one of {}", EVENT_TYPES.join(", ")),
        ));
    }
    let kind = serde_json::from_value::<EventKind>(json!(kind)).ok();
    let incident = string_field(&body, "incident_id")?;
    let data = match body.get("data") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(d)) => d.clone(),
        Some(_) => return Err(invalid("data", "`data` must be an object")),
    };
    let text = |key: &str| -> Result<Option<String>, Problem> {
        match data.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(
                &format!("data.{key}"),
                format!("`data.{key}` must be a string"),
            )),
        }
    };
    let title = text("title")?;
    let message = text("message")?;
    let severity = text("severity")?
        .map(|s| {
            Severity::parse(&s).map_err(|_| invalid("data.severity", format!("`{s}` is not a severity: SEV-1 … SEV-4")))
        })
        .transpose()?;
    let test = TestCard {
        title,
        severity,
        message,
    };
    let (results, stored) = api
        .sender
        .notify_as(&name, incident, kind, &test)
        .await
        .map_err(failure)?;
    let ok = results.iter().all(|s| s.result.is_ok());
    Ok(axum::Json(json!({
        "provider": name,
        "incident_id": incident,
        "stored": stored,
        "test": !stored,
        "ok": ok,
        "sent": results.iter().map(sent).collect::<Vec<_>>(),
    }))
    .into_response())
}

async fn message(State(api): Shared, Path(name): Path<String>, body: Bytes) -> Answer {
    let body = object(&body)?;
    let text = string_field(&body, "text")?;
    let s = api.sender.message(&name, text).await.map_err(failure)?;
    Ok(axum::Json(json!({"provider": name, "ok": s.result.is_ok(), "sent": [sent(&s)]})).into_response())
}

async fn broadcast(State(api): Shared, body: Bytes) -> Answer {
    let body = object(&body)?;
    let text = string_field(&body, "text")?;
    let results = api.sender.broadcast(text, |_| {}).await.map_err(failure)?;
    let ok = results.iter().all(|s| s.result.is_ok());
    Ok(axum::Json(json!({"ok": ok, "sent": results.iter().map(sent).collect::<Vec<_>>()})).into_response())
}

#[derive(serde::Deserialize)]
struct Limit {
    limit: Option<usize>,
}

fn incident_id(text: &str) -> Result<IncidentId, Problem> {
    IncidentId::parse(text).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            format!("`{text}` is not an incident id (INC-YYYY-NNN)"),
            Some("id"),
        )
    })
}

async fn list_incidents(State(api): Shared, Query(q): Query<Limit>) -> Answer {
    let list = api
        .store
        .list_active(q.limit.unwrap_or(50).clamp(1, 200))
        .await
        .map_err(unavailable)?;
    Ok(axum::Json(json!({"incidents": list})).into_response())
}

async fn stored(api: &Api, id: &IncidentId) -> Result<im_core::Incident, Problem> {
    api.store
        .get(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("{id} not found"), None))
}

async fn get_incident(State(api): Shared, Path(id): Path<String>) -> Answer {
    let incident = stored(&api, &incident_id(&id)?).await?;
    Ok(axum::Json(json!(incident)).into_response())
}

async fn timeline(State(api): Shared, Path(id): Path<String>, Query(q): Query<Limit>) -> Answer {
    let id = incident_id(&id)?;
    stored(&api, &id).await?;
    let entries = api
        .store
        .timeline(&id, q.limit.unwrap_or(100).clamp(1, 1000))
        .await
        .map_err(unavailable)?;
    Ok(axum::Json(json!({"incident_id": id.to_string(), "entries": entries})).into_response())
}

#[derive(serde::Deserialize)]
struct RbacQuery {
    provider: Option<String>,
}

async fn rbac_list(State(api): Shared, Query(q): Query<RbacQuery>) -> Answer {
    let listed = api.sender.rbac_list(q.provider.as_deref()).await.map_err(failure)?;
    Ok(axum::Json(listed).into_response())
}

fn role_field(body: &Map<String, Value>) -> Result<im_core::Role, Problem> {
    string_field(body, "role")?
        .parse::<im_core::Role>()
        .map_err(|why| invalid("role", why))
}

fn optional_string(body: &Map<String, Value>, field: &str) -> Result<Option<String>, Problem> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(field, format!("`{field}` must be a string"))),
    }
}

async fn rbac_set(State(api): Shared, Path(identity): Path<String>, body: Bytes) -> Answer {
    let body = object(&body)?;
    let role = role_field(&body)?;
    let person = optional_string(&body, "person")?;
    let automation = optional_string(&body, "automation")?;
    if person.is_some() && automation.is_some() {
        return Err(invalid(
            "automation",
            "an identity is a person or an automation, not both",
        ));
    }
    let row = api
        .sender
        .rbac_set(&identity, role, person, automation)
        .await
        .map_err(failure)?;
    Ok(axum::Json(row).into_response())
}

async fn rbac_remove(State(api): Shared, Path(identity): Path<String>) -> Answer {
    match api.sender.rbac_remove(&identity).await.map_err(failure)? {
        true => Ok(StatusCode::NO_CONTENT.into_response()),
        false => Err(error(
            StatusCode::NOT_FOUND,
            format!("`{identity}` has no mapping"),
            None,
        )),
    }
}

async fn rbac_default(State(api): Shared, Path(name): Path<String>, body: Bytes) -> Answer {
    let body = object(&body)?;
    let role = role_field(&body)?;
    api.sender.rbac_default(&name, role).await.map_err(failure)?;
    Ok(axum::Json(json!({"provider": name, "default_role": role})).into_response())
}

async fn rbac_check(State(api): Shared, body: Bytes) -> Answer {
    let body = object(&body)?;
    let identity = string_field(&body, "identity")?;
    let command = string_field(&body, "command")?;
    let channel = optional_string(&body, "channel")?;
    let incident = optional_string(&body, "incident")?;
    let verdict = api
        .sender
        .rbac_check(identity, command, channel.as_deref(), incident.as_deref())
        .await
        .map_err(failure)?;
    Ok(axum::Json(verdict).into_response())
}

#[derive(serde::Deserialize)]
struct AuditQuery {
    date: Option<String>,
}

async fn audit(State(api): Shared, Query(q): Query<AuditQuery>) -> Answer {
    let day = match &q.date {
        Some(d) => time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| invalid("date", format!("`{d}` is not a date like 2026-12-02")))?,
        None => time::OffsetDateTime::now_utc().date(),
    };
    let entries = api.store.audit_day(day).await.map_err(unavailable)?;
    Ok(axum::Json(json!({"date": day.to_string(), "entries": entries})).into_response())
}

async fn privacy_export(State(api): Shared, Path(identity): Path<String>) -> Answer {
    let export = api.sender.privacy_export(&identity).await.map_err(failure)?;
    Ok(axum::Json(export).into_response())
}

async fn privacy_forget(State(api): Shared, Path(identity): Path<String>) -> Answer {
    let done = api.sender.privacy_forget(&identity).await.map_err(failure)?;
    Ok(axum::Json(done).into_response())
}

/// Every route of [`ROUTES`] (the API's own 404 for anything else under `/api/v1`).
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/api/v1/chatops/providers", get(list_providers).post(add_provider))
        .route(
            "/api/v1/chatops/providers/{name}",
            get(get_provider).patch(update_provider).delete(remove_provider),
        )
        .route("/api/v1/chatops/providers/{name}/test", post(test_provider))
        .route("/api/v1/chatops/providers/{name}/notify", post(notify))
        .route("/api/v1/chatops/providers/{name}/message", post(message))
        .route("/api/v1/chatops/broadcast", post(broadcast))
        .route("/api/v1/incidents", get(list_incidents))
        .route("/api/v1/incidents/{id}", get(get_incident))
        .route("/api/v1/incidents/{id}/timeline", get(timeline))
        .route("/api/v1/rbac", get(rbac_list))
        .route(
            "/api/v1/rbac/users/{identity}",
            axum::routing::put(rbac_set).delete(rbac_remove),
        )
        .route(
            "/api/v1/rbac/providers/{name}/default",
            axum::routing::put(rbac_default),
        )
        .route("/api/v1/rbac/check", post(rbac_check))
        .route("/api/v1/audit", get(audit))
        .route(
            "/api/v1/privacy/users/{identity}",
            get(privacy_export).delete(privacy_forget),
        )
        .with_state(api)
}

/// The API behind `Authorization: Bearer <token>` (constant-time comparison): `im serve`.
pub fn with_bearer(router: Router, token: String) -> Router {
    let token = Arc::new(token);
    router.layer(axum::middleware::from_fn(
        move |headers: HeaderMap, request, next: axum::middleware::Next| {
            let token = token.clone();
            async move {
                let given = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or("");
                let ok: bool = subtle::ConstantTimeEq::ct_eq(given.as_bytes(), token.as_bytes()).into();
                if ok {
                    next.run(request).await
                } else {
                    let mut response = error(
                        StatusCode::UNAUTHORIZED,
                        "missing or wrong bearer token (im serve printed it at start, or set IM_API_TOKEN)",
                        None,
                    )
                    .into_response();
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
                    response
                }
            }
        },
    ))
}
