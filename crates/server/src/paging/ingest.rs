//! Alert ingestion in the formats monitoring already speaks, each answering only after the
//! event is committed:
//! - PagerDuty Events API v2: `POST /v2/enqueue` (`routing_key` = an integration key), with
//!   PagerDuty's own 202 / 400 / 429 bodies — Alertmanager's `pagerduty_configs` with `url:`
//!   pointed here just works; and its change events, `POST /v2/change/enqueue`, recorded as
//!   the service's deploys for the change failure rate;
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
use firebreak_core::paging::{AlertAction, AlertSeverity, Decision, parse_time};
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
        .route("/v2/enqueue", post(pagerduty))
        .route("/v2/change/enqueue", post(pagerduty_change))
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
async fn service_for(state: &AppState, key: &str) -> Result<Option<Service>, StoreError> {
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

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn unavailable(err: StoreError) -> Response {
    tracing::error!(error = %err, "could not store an alert event");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "message": "The event could not be stored; retry."})),
    )
        .into_response()
}

// ----- PagerDuty Events API v2 -----

fn pd_invalid(errors: Vec<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors})),
    )
        .into_response()
}

/// Checks a PagerDuty event as the Events API does and answers it in our terms.
pub fn parse_pagerduty(event: &Value) -> Result<(String, IncomingAlert), Vec<String>> {
    let mut errors = Vec::new();
    let routing_key = event["routing_key"].as_str().unwrap_or("");
    if routing_key.is_empty() {
        errors.push("'routing_key' is missing or blank".to_string());
    } else if routing_key.len() != 32 {
        errors.push("Length of 'routing_key' is incorrect (should be 32 characters)".to_string());
    }
    let action = match event["event_action"].as_str() {
        Some("trigger") => Some(AlertAction::Trigger),
        Some("acknowledge") => Some(AlertAction::Acknowledge),
        Some("resolve") => Some(AlertAction::Resolve),
        Some(_) => {
            errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')".into());
            None
        }
        None => {
            errors.push("'event_action' is missing or blank".into());
            None
        }
    };
    let dedup_key = match event.get("dedup_key") {
        Some(Value::String(key)) if key.len() > 255 => {
            errors.push("'dedup_key' is too long (must be 255 characters or fewer)".into());
            String::new()
        }
        Some(Value::String(key)) if !key.is_empty() => key.clone(),
        Some(Value::Null) | None => String::new(),
        Some(Value::String(_)) => String::new(),
        Some(_) => {
            errors.push("'dedup_key' must be a string".into());
            String::new()
        }
    };
    if dedup_key.is_empty()
        && matches!(
            action,
            Some(AlertAction::Acknowledge | AlertAction::Resolve)
        )
    {
        errors
            .push("'dedup_key' is missing or blank (required for acknowledge and resolve)".into());
    }
    let payload = &event["payload"];
    let mut summary = String::new();
    let mut severity = AlertSeverity::Error;
    let mut source = String::new();
    if action == Some(AlertAction::Trigger) {
        if !payload.is_object() {
            errors.push("'payload' is missing or not an object".into());
        } else {
            match payload["summary"].as_str() {
                Some(text) if !text.trim().is_empty() => summary = truncate(text, 1024),
                _ => errors.push("'payload.summary' is missing or blank".into()),
            }
            match payload["source"].as_str() {
                Some(text) if !text.trim().is_empty() => source = truncate(text, 255),
                _ => errors.push("'payload.source' is missing or blank".into()),
            }
            match payload["severity"].as_str().and_then(AlertSeverity::parse) {
                Some(it) => severity = it,
                None => errors.push("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')".into()),
            }
            let timestamp = payload.get("timestamp").filter(|it| !it.is_null());
            if timestamp.is_some_and(|at| at.as_str().and_then(parse_time).is_none()) {
                errors.push("'payload.timestamp' is not a valid ISO 8601 date-time".into());
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut details = json!({});
    if action == Some(AlertAction::Trigger) {
        for field in ["component", "group", "class", "timestamp", "custom_details"] {
            if let Some(value) = payload.get(field).filter(|it| !it.is_null()) {
                details[field] = value.clone();
            }
        }
        for field in ["client", "client_url"] {
            if let Some(value) = event.get(field).filter(|it| !it.is_null()) {
                details[field] = value.clone();
            }
        }
    }
    let links = event
        .get("links")
        .and_then(Value::as_array)
        .map(|it| {
            it.iter()
                .filter(|link| link["href"].is_string())
                .take(20)
                .map(|link| json!({"href": link["href"], "text": link["text"]}))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let dedup_key = if dedup_key.is_empty() {
        uuid::Uuid::now_v7().simple().to_string()
    } else {
        dedup_key
    };
    Ok((
        routing_key.to_string(),
        IncomingAlert {
            action: action.unwrap_or(AlertAction::Trigger),
            dedup_key,
            summary,
            severity,
            source,
            details: details.to_string(),
            links: Value::Array(links).to_string(),
            via: "pagerduty",
        },
    ))
}

/// `POST /v2/enqueue`.
pub async fn pagerduty(State(state): State<AppState>, body: Bytes) -> Response {
    if body.len() > MAX_EVENT_BYTES {
        return pd_invalid(vec![
            "Event object is too large (must be 512 KB or smaller)".into(),
        ]);
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"status": "Unrecognized object", "message": "Event object format is unrecognized", "errors": ["JSON parse error"]})),
        )
            .into_response();
    };
    if !event.is_object() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"status": "Unrecognized object", "message": "Event object format is unrecognized", "errors": ["Event object must be a JSON object"]})),
        )
            .into_response();
    }
    let (key, incoming) = match parse_pagerduty(&event) {
        Ok(it) => it,
        Err(errors) => return pd_invalid(errors),
    };
    if !state
        .events
        .allow(&key, state.settings.paging.events_per_minute_per_key)
    {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"status": "throttle event", "message": "Request Limit Exceeded", "errors": ["Too many events for this routing key; retry later"]})),
        )
            .into_response();
    }
    let service = match service_for(&state, &key).await {
        Ok(Some(service)) => service,
        Ok(None) => return pd_invalid(vec!["Invalid routing key".into()]),
        Err(err) => return unavailable(err),
    };
    match apply(&state, &service, &incoming).await {
        Ok(_) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "success", "message": "Event processed", "dedup_key": incoming.dedup_key})),
        )
            .into_response(),
        Err(err) => unavailable(err),
    }
}

// ----- PagerDuty change events -----

/// A change event as a deploy: what to record.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeEvent {
    pub version: String,
    pub summary: String,
    /// `payload.timestamp`, when sent.
    pub deployed_at: Option<jiff::Timestamp>,
    /// `source`, `links` and `custom_details` as sent.
    pub details: Value,
}

/// The deploy's version: the first of `custom_details`' `version`, `revision`, `sha`,
/// `commit`, `build_number` and `tag` that is a non-empty string or a number, else the
/// summary; at most 100 characters.
pub fn change_version(custom_details: &Value, summary: &str) -> String {
    [
        "version",
        "revision",
        "sha",
        "commit",
        "build_number",
        "tag",
    ]
    .iter()
    .find_map(|field| match &custom_details[*field] {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    })
    .map_or_else(|| truncate(summary.trim(), 100), |it| truncate(&it, 100))
}

/// Checks a change event as the Events API does: `routing_key` (32 characters) and
/// `payload.summary` are required; `payload.timestamp` must be a date-time when sent;
/// `custom_details` an object and `links` a list of `{href, text}` when sent.
pub fn parse_change(event: &Value) -> Result<(String, ChangeEvent), Vec<String>> {
    let mut errors = Vec::new();
    let routing_key = event["routing_key"].as_str().unwrap_or("");
    if routing_key.is_empty() {
        errors.push("'routing_key' is missing or blank".to_string());
    } else if routing_key.len() != 32 {
        errors.push("Length of 'routing_key' is incorrect (should be 32 characters)".to_string());
    }
    let payload = &event["payload"];
    let mut summary = String::new();
    let mut deployed_at = None;
    if !payload.is_object() {
        errors.push("'payload' is missing or not an object".into());
    } else {
        match payload["summary"].as_str() {
            Some(text) if !text.trim().is_empty() => summary = truncate(text, 1024),
            _ => errors.push("'payload.summary' is missing or blank".into()),
        }
        match payload.get("timestamp").filter(|it| !it.is_null()) {
            None => {}
            Some(at) => match at.as_str().and_then(parse_time) {
                Some(at) => deployed_at = Some(at),
                None => errors.push("'payload.timestamp' is not a valid ISO 8601 date-time".into()),
            },
        }
        if payload
            .get("source")
            .is_some_and(|it| !it.is_null() && !it.is_string())
        {
            errors.push("'payload.source' must be a string".into());
        }
        if payload
            .get("custom_details")
            .is_some_and(|it| !it.is_null() && !it.is_object())
        {
            errors.push("'payload.custom_details' must be an object".into());
        }
    }
    let links = match event.get("links").filter(|it| !it.is_null()) {
        None => Vec::new(),
        Some(Value::Array(links)) => {
            if links.iter().any(|link| !link["href"].is_string()) {
                errors.push("'links' must each have an 'href'".into());
            }
            links
                .iter()
                .filter(|link| link["href"].is_string())
                .take(20)
                .map(|link| json!({"href": link["href"], "text": link["text"]}))
                .collect()
        }
        Some(_) => {
            errors.push("'links' must be a list".into());
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let custom = payload
        .get("custom_details")
        .filter(|it| it.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    let source = truncate(payload["source"].as_str().unwrap_or(""), 255);
    Ok((
        routing_key.to_string(),
        ChangeEvent {
            version: change_version(&custom, &summary),
            summary,
            deployed_at,
            details: json!({"source": source, "links": links, "custom_details": custom}),
        },
    ))
}

/// `POST /v2/change/enqueue`: a PagerDuty change event, recorded as a deploy of the service
/// whose integration key is its `routing_key`. Nobody is paged.
pub async fn pagerduty_change(State(state): State<AppState>, body: Bytes) -> Response {
    if body.len() > MAX_EVENT_BYTES {
        return pd_invalid(vec![
            "Event object is too large (must be 512 KB or smaller)".into(),
        ]);
    }
    let event = match serde_json::from_slice::<Value>(&body) {
        Ok(event) if event.is_object() => event,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"status": "Unrecognized object", "message": "Event object format is unrecognized", "errors": ["JSON parse error"]})),
            )
                .into_response();
        }
    };
    let (key, change) = match parse_change(&event) {
        Ok(it) => it,
        Err(errors) => return pd_invalid(errors),
    };
    if !state
        .events
        .allow(&key, state.settings.paging.events_per_minute_per_key)
    {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"status": "throttle event", "message": "Request Limit Exceeded", "errors": ["Too many events for this routing key; retry later"]})),
        )
            .into_response();
    }
    let service = match service_for(&state, &key).await {
        Ok(Some(service)) => service,
        Ok(None) => return pd_invalid(vec!["Invalid routing key".into()]),
        Err(err) => return unavailable(err),
    };
    let now = firebreak_store::clock::now();
    let details = change.details.to_string();
    let new = firebreak_store::NewDeploy {
        service: &service.name,
        version: &change.version,
        deployed_at: change.deployed_at.unwrap_or(now),
        summary: &change.summary,
        details: &details,
        via: "pagerduty",
    };
    match state
        .store
        .create_deploy(&new, "integration:pagerduty", now)
        .await
    {
        Ok(_) => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "success", "message": "Event processed"})),
        )
            .into_response(),
        Err(err) => unavailable(err),
    }
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

#[cfg(test)]
mod change_tests {
    use serde_json::json;

    use super::{change_version, parse_change};

    #[test]
    fn the_version_comes_from_the_details_else_the_summary() {
        let long = "x".repeat(150);
        for (details, summary, expected) in [
            (json!({"version": "1.4.2", "sha": "abc"}), "Deploy", "1.4.2"),
            (json!({"sha": "9f3c2e1"}), "Deploy", "9f3c2e1"),
            (json!({"build_number": 812}), "Deploy", "812"),
            (json!({"version": "  ", "tag": "v7"}), "Deploy", "v7"),
            (
                json!({"version": true}),
                "Deployed checkout 42",
                "Deployed checkout 42",
            ),
            (json!({}), &long, &long[..100]),
        ] {
            assert_eq!(change_version(&details, summary), expected, "{details}");
        }
    }

    #[test]
    fn change_events_are_checked_as_pagerduty_does() {
        let key = "a".repeat(32);
        let ok = parse_change(&json!({
            "routing_key": key,
            "payload": {"summary": "Deployed checkout v42", "timestamp": "2026-12-01T08:42:58.315+0000",
                        "source": "ci", "custom_details": {"version": "v42"}},
            "links": [{"href": "https://ci.example.com/42", "text": "build"}]
        }))
        .unwrap();
        assert_eq!(ok.0, key);
        assert_eq!(ok.1.version, "v42");
        assert_eq!(
            ok.1.deployed_at.unwrap().to_string(),
            "2026-12-01T08:42:58.315Z"
        );
        assert_eq!(ok.1.details["links"][0]["text"], "build");
        for (event, error) in [
            (
                json!({"payload": {"summary": "x"}}),
                "'routing_key' is missing or blank",
            ),
            (
                json!({"routing_key": "short", "payload": {"summary": "x"}}),
                "Length of 'routing_key'",
            ),
            (json!({"routing_key": key}), "'payload' is missing"),
            (
                json!({"routing_key": key, "payload": {"summary": " "}}),
                "'payload.summary' is missing",
            ),
            (
                json!({"routing_key": key, "payload": {"summary": "x", "timestamp": "yesterday"}}),
                "'payload.timestamp'",
            ),
            (
                json!({"routing_key": key, "payload": {"summary": "x", "custom_details": "v1"}}),
                "custom_details",
            ),
            (
                json!({"routing_key": key, "payload": {"summary": "x"}, "links": [{"text": "no href"}]}),
                "'href'",
            ),
        ] {
            let errors = parse_change(&event).unwrap_err();
            assert!(
                errors
                    .iter()
                    .any(|it| it.starts_with(error) || it.contains(error)),
                "{event}: {errors:?}"
            );
        }
    }
}
