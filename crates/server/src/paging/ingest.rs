//! Alert ingestion in the formats monitoring already speaks, each answering only after the
//! event is committed:
//! - PagerDuty Events API v2 (`super::pagerduty`): `POST /v2/enqueue` and change events,
//!   `POST /v2/change/enqueue`;
//! - Prometheus Alertmanager webhook v4: `POST /integrations/alertmanager/{key}`, each alert
//!   by its fingerprint, `resolved` resolves;
//! - Opsgenie: `POST /v2/alerts` (`Authorization: GenieKey …`, `alias` the dedup key) and
//!   `POST /v2/alerts/{alias}/close|acknowledge?identifierType=alias`, and heartbeat pings,
//!   `/v2/heartbeats/{name}/ping`;
//! - generic JSON: `POST /api/v1/alerts` with `integration_key` in the body.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use firebreak_core::paging::{AlertAction, AlertSeverity, Decision};
use firebreak_store::{IncomingAlert, Ingested, Service, StoreError};
use serde_json::{Value, json};

use crate::AppState;
use crate::paging::pager::PagerParts;

/// The most an event body may be (PagerDuty's limit).
pub const MAX_EVENT_BYTES: usize = 512 * 1024;

/// The ingestion routes, with room for bodies up to 2 MB (an Alertmanager group can be big).
pub fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/v2/enqueue", post(super::pagerduty::alert_event))
        .route("/v2/change/enqueue", post(super::pagerduty::change_event))
        .route(
            "/v2/heartbeats/{name}/ping",
            get(opsgenie_ping)
                .post(opsgenie_ping)
                .put(opsgenie_ping)
                .patch(opsgenie_ping),
        )
        .route("/v2/alerts", post(opsgenie_create))
        .route("/v2/alerts/{identifier}/{verb}", post(opsgenie_action))
        .route("/integrations/alertmanager/{key}", post(alertmanager))
        .route(
            "/integrations/heartbeat/{key}/{name}",
            post(heartbeat_ping).get(heartbeat_ping),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_EVENT_BYTES * 4))
}

/// The service an integration key belongs to, if the key is live.
pub(super) async fn service_for(
    state: &AppState,
    key: &str,
) -> Result<Option<Service>, StoreError> {
    match state
        .store
        .service_by_key(&firebreak_core::token::hash_token(key))
        .await
    {
        Ok(service) => Ok(Some(service)),
        Err(StoreError::NotFound(_)) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Applies one event, paging through the schedules as they are now; many events arriving
/// together share a transaction (`AlertBatcher`).
pub async fn apply(
    state: &AppState,
    service: &Service,
    incoming: &IncomingAlert,
) -> Result<Ingested, StoreError> {
    let done = state.alerts.apply(service, incoming).await?;
    auto_declare(&state.store, service, incoming, &done).await;
    Ok(done)
}

/// The service's auto-declare rule: a new alert of at least its severity opens an incident in
/// triage, linked to the alert. A failure is logged, and the escalation worker tries again
/// (`declare_owed`).
async fn auto_declare(
    store: &firebreak_store::Store,
    service: &Service,
    incoming: &IncomingAlert,
    done: &Ingested,
) {
    let (Decision::Open, Some(alert_id)) = (done.decision, &done.alert_id) else {
        return;
    };
    if !service.shadow
        && firebreak_core::paging::auto_declares(&service.auto_declare_severity, incoming.severity)
    {
        declare_for_alert(store, service, alert_id, &incoming.summary).await;
    }
}

/// Opens the incident an alert's service's auto-declare rule owes it, in triage, and links
/// it. Idempotent by the alert's id: a second try declares nothing new.
pub async fn declare_for_alert(
    store: &firebreak_store::Store,
    service: &Service,
    alert_id: &str,
    summary: &str,
) {
    let raw = firebreak_core::command::RawDeclare {
        title: Some(summary.chars().take(200).collect()),
        summary: Some(format!(
            "Declared by the auto-declare rule of {} from alert {alert_id}.",
            service.name
        )),
        services: Some(vec![service.name.clone()]),
        status: Some("triage".into()),
        ..Default::default()
    };
    let result = async {
        let new = firebreak_core::command::parse_declare(raw, &store.catalog())
            .map_err(|err| StoreError::Conflict(format!("{err:?}")))?;
        let declared = store
            .declare(
                new,
                "firebreak",
                firebreak_core::Access::All,
                Some(firebreak_store::Idempotency {
                    key: format!("alert:{alert_id}"),
                    fingerprint: "auto-declare".into(),
                }),
            )
            .await?;
        store
            .link_alert_incident(
                alert_id,
                &declared.incident.id.to_string(),
                "firebreak",
                firebreak_store::clock::now(),
            )
            .await
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(alert = %alert_id, error = %err, "auto-declare failed; the alert stands");
    }
}

/// As `apply`, for workers that have a store and settings rather than the app's state.
pub async fn apply_with(
    store: &firebreak_store::Store,
    settings: &crate::settings::Settings,
    service: &Service,
    incoming: &IncomingAlert,
) -> Result<Ingested, StoreError> {
    let parts = PagerParts::load(store, settings).await?;
    let on_call = |id: &str, at: jiff::Timestamp| parts.on_call(id, at);
    let pager = parts.pager(&on_call);
    store
        .ingest_alert(service, incoming, &pager, firebreak_store::clock::now())
        .await
}

/// The alert event of a heartbeat: raised when a ping is missed, resolved by the next one.
pub fn heartbeat_event(
    heartbeat: &firebreak_store::Heartbeat,
    action: AlertAction,
) -> IncomingAlert {
    IncomingAlert {
        action,
        dedup_key: format!("heartbeat/{}", heartbeat.name),
        summary: format!(
            "Heartbeat {} missed: no ping for {} minutes",
            heartbeat.name, heartbeat.interval_minutes
        ),
        severity: AlertSeverity::Critical,
        source: "heartbeat".into(),
        details:
            json!({"heartbeat": heartbeat.name, "interval_minutes": heartbeat.interval_minutes,
                        "last_ping_at": heartbeat.last_ping_at.map(|at| at.to_string())})
            .to_string(),
        links: "[]".into(),
        via: "heartbeat",
    }
}

/// How a ping went.
enum Ping {
    /// The next ping is due then.
    Received(jiff::Timestamp),
    NoSuchHeartbeat,
    Failed(StoreError),
}

/// A ping of the service's heartbeat `name`: resolves the alert of a missed ping, if one is
/// open, and sets when the next one is due.
async fn ping(state: &AppState, service: &Service, name: &str) -> Ping {
    let heartbeat = match state.store.heartbeat(&service.id, name).await {
        Ok(it) => it,
        Err(StoreError::NotFound(_)) => return Ping::NoSuchHeartbeat,
        Err(err) => return Ping::Failed(err),
    };
    // Resolve first: if the ping's own write fails, the next ping resolves it again.
    if heartbeat.missed
        && let Err(err) = apply(
            state,
            service,
            &heartbeat_event(&heartbeat, AlertAction::Resolve),
        )
        .await
    {
        return Ping::Failed(err);
    }
    match state
        .store
        .ping_heartbeat(&heartbeat.id, firebreak_store::clock::now())
        .await
    {
        Ok(it) => Ping::Received(it.due_at),
        Err(err) => Ping::Failed(err),
    }
}

/// `POST` (or `GET`) `/integrations/heartbeat/{key}/{name}`: a ping.
pub async fn heartbeat_ping(
    State(state): State<AppState>,
    Path((key, name)): Path<(String, String)>,
) -> Response {
    let not_found =
        |message: &str| (StatusCode::NOT_FOUND, Json(json!({"error": message}))).into_response();
    let service = match service_for(&state, &key).await {
        Ok(Some(service)) => service,
        Ok(None) => return not_found("unknown or revoked integration key"),
        Err(err) => return unavailable(err),
    };
    match ping(&state, &service, &name).await {
        Ping::Received(due) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "next_ping_due": due.to_string()})),
        )
            .into_response(),
        Ping::NoSuchHeartbeat => not_found("the service has no heartbeat of that name"),
        Ping::Failed(err) => unavailable(err),
    }
}

/// `GET`, `POST`, `PUT` or `PATCH` `/v2/heartbeats/{name}/ping` with `Authorization: GenieKey
/// <integration key>`: Opsgenie's heartbeat ping, answered as Opsgenie does (202, "PONG -
/// Heartbeat received"). Unlike Opsgenie, which answers PONG before it looks, an unknown name
/// is a 404, so a cron job pinging a heartbeat that was never made says so.
pub async fn opsgenie_ping(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let service = match genie_service(&state, &headers).await {
        Ok(service) => service,
        Err(response) => return response,
    };
    match ping(&state, &service, &name).await {
        Ping::Received(_) => genie_reply(
            StatusCode::ACCEPTED,
            json!({"result": "PONG - Heartbeat received"}),
        ),
        Ping::NoSuchHeartbeat => genie_reply(
            StatusCode::NOT_FOUND,
            json!({"message": format!("Heartbeat with name [{name}] does not exist.")}),
        ),
        Ping::Failed(err) => unavailable(err),
    }
}

pub(super) fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

pub(super) fn unavailable(err: StoreError) -> Response {
    tracing::error!(error = %err, "could not store an alert event");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "message": "The event could not be stored; retry."})),
    )
        .into_response()
}

// ----- Alertmanager webhook v4 -----

/// One event per alert of an Alertmanager webhook (by fingerprint).
pub fn parse_alertmanager(body: &Value) -> Result<Vec<IncomingAlert>, String> {
    let alerts = body["alerts"]
        .as_array()
        .ok_or("not an Alertmanager webhook: no \"alerts\" array")?;
    let mut out = Vec::with_capacity(alerts.len());
    for (i, alert) in alerts.iter().enumerate() {
        let fingerprint = alert["fingerprint"]
            .as_str()
            .filter(|it| !it.is_empty())
            .ok_or(format!("alerts[{i}] has no fingerprint"))?;
        let action = match alert["status"].as_str() {
            Some("firing") => AlertAction::Trigger,
            Some("resolved") => AlertAction::Resolve,
            _ => return Err(format!("alerts[{i}].status is neither firing nor resolved")),
        };
        let labels = &alert["labels"];
        let annotations = &alert["annotations"];
        let name = labels["alertname"].as_str().unwrap_or("alert");
        let summary = annotations["summary"]
            .as_str()
            .or(annotations["description"].as_str())
            .map(|it| format!("{name}: {it}"))
            .unwrap_or_else(|| {
                let instance = labels["instance"].as_str().unwrap_or("");
                format!("{name} {instance}").trim().to_string()
            });
        let severity = match labels["severity"].as_str().unwrap_or("") {
            "critical" | "page" => AlertSeverity::Critical,
            "warning" | "warn" => AlertSeverity::Warning,
            "info" | "none" => AlertSeverity::Info,
            _ => AlertSeverity::Error,
        };
        let mut links = Vec::new();
        if let Some(url) = alert["generatorURL"].as_str().filter(|it| !it.is_empty()) {
            links.push(json!({"href": url, "text": "Source"}));
        }
        if let Some(url) = annotations["runbook_url"]
            .as_str()
            .filter(|it| !it.is_empty())
        {
            links.push(json!({"href": url, "text": "Runbook"}));
        }
        out.push(IncomingAlert {
            action,
            dedup_key: fingerprint.to_string(),
            summary: truncate(&summary, 1024),
            severity,
            source: truncate(
                labels["instance"]
                    .as_str()
                    .or(body["externalURL"].as_str())
                    .unwrap_or("alertmanager"),
                255,
            ),
            details: json!({
                "labels": labels, "annotations": annotations, "startsAt": alert["startsAt"],
                "groupKey": body["groupKey"], "receiver": body["receiver"],
            })
            .to_string(),
            links: Value::Array(links).to_string(),
            via: "alertmanager",
        });
    }
    Ok(out)
}

/// `POST /integrations/alertmanager/{key}`.
pub async fn alertmanager(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let bad = |message: String| {
        (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
    };
    if body.len() > MAX_EVENT_BYTES * 4 {
        return bad("the webhook is larger than 2 MB".into());
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return bad("the body is not JSON".into());
    };
    let events = match parse_alertmanager(&value) {
        Ok(it) => it,
        Err(message) => return bad(message),
    };
    let service = match service_for(&state, &key).await {
        Ok(Some(service)) => service,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "unknown or revoked integration key"})),
            )
                .into_response();
        }
        Err(err) => return unavailable(err),
    };
    let mut results = Vec::new();
    for event in &events {
        match apply(&state, &service, event).await {
            Ok(done) => results.push(json!({
                "fingerprint": event.dedup_key,
                "result": decision_text(done.decision),
                "alert": done.alert_id,
            })),
            Err(err) => return unavailable(err),
        }
    }
    (
        StatusCode::OK,
        Json(json!({"status": "success", "alerts": results})),
    )
        .into_response()
}

pub fn decision_text(decision: Decision) -> &'static str {
    match decision {
        Decision::Open => "opened",
        Decision::Count => "counted",
        Decision::Acknowledge => "acknowledged",
        Decision::Resolve => "resolved",
        Decision::Drop => "dropped",
    }
}

// ----- Opsgenie -----

fn genie_reply(status: StatusCode, body: Value) -> Response {
    let mut body = body;
    body["took"] = json!(0.001);
    body["requestId"] = json!(uuid::Uuid::now_v7().to_string());
    (status, Json(body)).into_response()
}

fn genie_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("GenieKey")
        .then(|| key.trim().to_string())
}

async fn genie_service(state: &AppState, headers: &HeaderMap) -> Result<Service, Response> {
    let unauthorized = || {
        genie_reply(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Could not authenticate"}),
        )
    };
    let key = genie_key(headers).ok_or_else(unauthorized)?;
    if !state
        .events
        .allow(&key, state.settings.paging.events_per_minute_per_key)
    {
        return Err(genie_reply(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"message": "Request limit exceeded; retry later"}),
        ));
    }
    match service_for(state, &key).await {
        Ok(Some(service)) => Ok(service),
        Ok(None) => Err(unauthorized()),
        Err(err) => Err(unavailable(err)),
    }
}

/// Checks an Opsgenie create-alert body: `message` is required (≤ 130), `alias` ≤ 512.
pub fn parse_opsgenie(body: &Value) -> Result<IncomingAlert, (String, String)> {
    let message = body["message"].as_str().unwrap_or("").trim();
    if message.is_empty() {
        return Err(("message".into(), "Message can not be empty.".into()));
    }
    if message.chars().count() > 130 {
        return Err((
            "message".into(),
            "Message can not be longer than 130 characters.".into(),
        ));
    }
    let alias = match body.get("alias") {
        Some(Value::String(alias)) if alias.chars().count() > 512 => {
            return Err((
                "alias".into(),
                "Alias can not be longer than 512 characters.".into(),
            ));
        }
        Some(Value::String(alias)) if !alias.is_empty() => alias.clone(),
        // Opsgenie makes one from the message when none is given.
        _ => firebreak_core::token::hash_token(message),
    };
    let severity = match body["priority"].as_str().unwrap_or("P3") {
        "P1" => AlertSeverity::Critical,
        "P2" => AlertSeverity::Error,
        "P3" => AlertSeverity::Warning,
        "P4" | "P5" => AlertSeverity::Info,
        _ => {
            return Err((
                "priority".into(),
                "Priority should be one of [P1, P2, P3, P4, P5]".into(),
            ));
        }
    };
    let mut details = json!({});
    for field in [
        "description",
        "details",
        "tags",
        "entity",
        "priority",
        "responders",
        "note",
    ] {
        if let Some(value) = body.get(field).filter(|it| !it.is_null()) {
            details[field] = value.clone();
        }
    }
    Ok(IncomingAlert {
        action: AlertAction::Trigger,
        dedup_key: alias,
        summary: message.to_string(),
        severity,
        source: truncate(body["source"].as_str().unwrap_or("opsgenie"), 100),
        details: details.to_string(),
        links: "[]".into(),
        via: "opsgenie",
    })
}

/// `POST /v2/alerts`.
pub async fn opsgenie_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let service = match genie_service(&state, &headers).await {
        Ok(service) => service,
        Err(response) => return response,
    };
    let not_processable = |field: String, message: String| {
        let mut errors = serde_json::Map::new();
        errors.insert(field, json!(message));
        genie_reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Request body is not processable. Please check the errors.", "errors": errors}),
        )
    };
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return not_processable(
            "body".into(),
            "Could not parse the request body as JSON.".into(),
        );
    };
    let incoming = match parse_opsgenie(&value) {
        Ok(it) => it,
        Err((field, message)) => return not_processable(field, message),
    };
    match apply(&state, &service, &incoming).await {
        Ok(_) => genie_reply(
            StatusCode::ACCEPTED,
            json!({"result": "Request will be processed"}),
        ),
        Err(err) => unavailable(err),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct IdentifierQuery {
    #[serde(rename = "identifierType")]
    identifier_type: Option<String>,
}

/// `POST /v2/alerts/{alias}/close` and `…/acknowledge` (by alias only).
pub async fn opsgenie_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((identifier, verb)): Path<(String, String)>,
    Query(query): Query<IdentifierQuery>,
) -> Response {
    let service = match genie_service(&state, &headers).await {
        Ok(service) => service,
        Err(response) => return response,
    };
    let action = match verb.as_str() {
        "close" => AlertAction::Resolve,
        "acknowledge" => AlertAction::Acknowledge,
        _ => {
            return genie_reply(
                StatusCode::NOT_FOUND,
                json!({"message": "No such action; use close or acknowledge"}),
            );
        }
    };
    if query.identifier_type.as_deref().unwrap_or("id") != "alias" {
        return genie_reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Request body is not processable. Please check the errors.",
                   "errors": {"identifierType": "Only identifierType=alias is supported"}}),
        );
    }
    let incoming = IncomingAlert {
        action,
        dedup_key: identifier,
        summary: String::new(),
        severity: AlertSeverity::Info,
        source: String::new(),
        details: "{}".into(),
        links: "[]".into(),
        via: "opsgenie",
    };
    match apply(&state, &service, &incoming).await {
        Ok(_) => genie_reply(
            StatusCode::ACCEPTED,
            json!({"result": "Request will be processed"}),
        ),
        Err(err) => unavailable(err),
    }
}
