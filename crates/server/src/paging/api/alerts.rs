//! Alerts: generic ingestion, the list and one with its log, acknowledge / resolve, declare
//! an incident, and the one-click links in pages.

use super::*;
use crate::paging::service::redact;
use crate::paging::service::{AlertDto, alert_dto, declare_from, respond, with_log};

// ----- alerts -----

#[derive(Deserialize, Debug, Default)]
pub struct AlertsQuery {
    /// `all` to include resolved ones.
    #[serde(default)]
    pub status: String,
}

/// Alerts, newest first: open ones (or `?status=all`).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "paging",
    params(("status" = Option<String>, Query, description = "all: include resolved")),
    responses((status = 200, body = Vec<AlertDto>)), security(("bearer" = [])))]
pub async fn alerts(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<AlertsQuery>,
) -> ApiResult<Json<Vec<AlertDto>>> {
    caller.require(Role::Viewer)?;
    let mut alerts: Vec<AlertDto> = state
        .store
        .alerts(query.status != "all", 500)
        .await?
        .into_iter()
        .map(alert_dto)
        .collect();
    redact(&state, &caller.access(), &mut alerts).await?;
    Ok(Json(alerts))
}

/// One alert with its log: who was paged and why, and who was not and why not.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "paging",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, body = AlertDto), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn alert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertDto>> {
    caller.require(Role::Viewer)?;
    Ok(Json(with_log(&state, &caller.access(), &id).await?))
}

/// Acknowledge: escalation stops.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "paging",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, body = AlertDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn ack(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertDto>> {
    let by = caller.actor();
    let alert = respond(&state, &id, AlertAction::Acknowledge, (&by, caller.role)).await?;
    let mut alert = [alert_dto(alert)];
    redact(&state, &caller.access(), &mut alert).await?;
    let [alert] = alert;
    Ok(Json(alert))
}

/// Resolve: the alert closes; a new trigger with its key opens a new alert.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/resolve", tag = "paging",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, body = AlertDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertDto>> {
    let by = caller.actor();
    let alert = respond(&state, &id, AlertAction::Resolve, (&by, caller.role)).await?;
    let mut alert = [alert_dto(alert)];
    redact(&state, &caller.access(), &mut alert).await?;
    let [alert] = alert;
    Ok(Json(alert))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct AlertBody {
    /// The service's integration key (the credential: no API token needed).
    pub integration_key: String,
    /// trigger (default), acknowledge, resolve.
    pub action: Option<String>,
    /// Scoped to the service; a trigger without one opens a new alert every time.
    pub dedup_key: Option<String>,
    /// Required for a trigger (≤ 1024 characters).
    #[serde(default)]
    pub summary: String,
    /// critical, error (default), warning, info.
    pub severity: Option<String>,
    #[serde(default)]
    pub source: String,
    /// Any JSON.
    #[serde(default)]
    pub details: Value,
    /// `[{href, text}]`.
    #[serde(default)]
    pub links: Vec<Value>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct AlertAccepted {
    /// opened, counted, acknowledged, resolved, dropped.
    pub result: String,
    pub alert_id: Option<String>,
    pub dedup_key: String,
}

/// Send an alert event with an integration key (generic JSON). Answers once it is stored.
#[utoipa::path(post, path = "/api/v1/alerts", tag = "paging", request_body = AlertBody,
    responses((status = 202, body = AlertAccepted), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn ingest(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AlertBody>,
) -> ApiResult<(StatusCode, Json<AlertAccepted>)> {
    let action = match body.action.as_deref().unwrap_or("trigger") {
        "trigger" => AlertAction::Trigger,
        "acknowledge" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        _ => return Err(ApiError::field("action", "trigger, acknowledge or resolve")),
    };
    let severity = match body.severity.as_deref() {
        None => AlertSeverity::Error,
        Some(text) => AlertSeverity::parse(text)
            .ok_or_else(|| ApiError::field("severity", "critical, error, warning or info"))?,
    };
    let dedup_key = body.dedup_key.unwrap_or_default();
    if dedup_key.len() > 255 {
        return Err(ApiError::field("dedup_key", "at most 255 characters"));
    }
    if dedup_key.is_empty() && action != AlertAction::Trigger {
        return Err(ApiError::field(
            "dedup_key",
            "required to acknowledge or resolve",
        ));
    }
    let summary = body.summary.trim().to_string();
    if action == AlertAction::Trigger && (summary.is_empty() || summary.chars().count() > 1024) {
        return Err(ApiError::field("summary", "1 to 1024 characters"));
    }
    if !state.events.allow(
        &body.integration_key,
        state.settings.paging.events_per_minute_per_key,
    ) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many events for this integration key; retry in a minute",
        ));
    }
    let service = state
        .store
        .service_by_key(&firebreak_core::token::hash_token(
            body.integration_key.trim(),
        ))
        .await
        .map_err(|err| match err {
            StoreError::NotFound(_) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "unknown or revoked integration key",
            ),
            other => other.into(),
        })?;
    let dedup_key = if dedup_key.is_empty() {
        uuid::Uuid::now_v7().simple().to_string()
    } else {
        dedup_key
    };
    let incoming = IncomingAlert {
        action,
        dedup_key: dedup_key.clone(),
        summary,
        severity,
        source: body.source.chars().take(255).collect(),
        details: body.details.to_string(),
        links: Value::Array(body.links.into_iter().take(20).collect()).to_string(),
        via: "api",
    };
    let done = crate::paging::ingest::apply(&state, &service, &incoming).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AlertAccepted {
            result: crate::paging::ingest::decision_text(done.decision).into(),
            alert_id: done.alert_id,
            dedup_key,
        }),
    ))
}

#[derive(Deserialize, ToSchema, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct DeclareFromAlert {
    /// Default: the catalog's default severity.
    pub severity: Option<String>,
}

/// Declare an incident from an alert: in `triage`, titled by the alert, on its service, the
/// alert linked (once).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/incident", tag = "paging", request_body = DeclareFromAlert,
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 201, body = crate::incidents::dto::IncidentDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn declare_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeclareFromAlert>,
) -> ApiResult<(StatusCode, Json<crate::incidents::dto::IncidentDto>)> {
    let incident = declare_from(&state, &caller, &id, body.severity).await?;
    Ok((
        StatusCode::CREATED,
        Json(crate::incidents::dto::IncidentDto::from_incident(
            &incident,
            firebreak_store::clock::now(),
        )),
    ))
}

// ----- the links in pages -----

#[derive(Deserialize, Debug, Default)]
pub struct LinkQuery {
    #[serde(default)]
    t: String,
}

pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{}</title><link rel=\"stylesheet\" \
         href=\"/assets/app.css\"></head><body><main id=\"main\"><h1>{}</h1>{body}</main></body></html>",
        escape(title),
        escape(title)
    ))
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /alerts/{id}/respond?t=…`: the page a page's link opens. It changes nothing (mail
/// scanners open links); its buttons do.
pub async fn link_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<LinkQuery>,
) -> Response {
    let now = firebreak_store::clock::now();
    let person = match state
        .store
        .alert_link(&id, &firebreak_core::token::hash_token(&query.t), now)
        .await
    {
        Ok(person) => person,
        Err(_) => {
            return (
                StatusCode::NOT_FOUND,
                page("This link does not work", "<p>It has expired or was never valid. Sign in to Firebreak to act on the alert.</p>"),
            )
                .into_response();
        }
    };
    let Ok(alert) = state.store.alert(&id).await else {
        return (StatusCode::NOT_FOUND, page("No such alert", "")).into_response();
    };
    let form = |action: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"/alerts/{}/respond\" style=\"display:inline\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
             <input type=\"hidden\" name=\"action\" value=\"{action}\"><button type=\"submit\">{label}</button></form> ",
            escape(&alert.id),
            escape(&query.t)
        )
    };
    let buttons = match alert.status {
        firebreak_core::paging::AlertStatus::Triggered => {
            format!(
                "{}{}",
                form("acknowledge", "Acknowledge"),
                form("resolve", "Resolve")
            )
        }
        firebreak_core::paging::AlertStatus::Acknowledged => form("resolve", "Resolve"),
        firebreak_core::paging::AlertStatus::Resolved => String::new(),
    };
    page(
        &alert.summary,
        &format!(
            "<p>Status: <strong>{}</strong> · {} · for {}</p><p>{buttons}</p>",
            alert.status.as_str(),
            escape(&alert.severity.to_string()),
            escape(&person)
        ),
    )
    .into_response()
}

#[derive(Deserialize, Debug)]
pub struct LinkForm {
    t: String,
    action: String,
}

/// `POST /alerts/{id}/respond`: acknowledge or resolve as the person the page was for.
pub async fn link_action(
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<LinkForm>,
) -> Response {
    let now = firebreak_store::clock::now();
    let Ok(person) = state
        .store
        .alert_link(&id, &firebreak_core::token::hash_token(&form.t), now)
        .await
    else {
        return (
            StatusCode::NOT_FOUND,
            page(
                "This link does not work",
                "<p>It has expired or was never valid.</p>",
            ),
        )
            .into_response();
    };
    let action = match form.action.as_str() {
        "acknowledge" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        _ => return (StatusCode::UNPROCESSABLE_ENTITY, page("Unknown action", "")).into_response(),
    };
    // The link stands in for signing in, not for the role: a person who may not acknowledge
    // through the API (a viewer, a disabled account) may not through a link either. Someone
    // paged who has no account was put on call by an admin's policy: they respond as such.
    let role = match state.store.user_by_email(&person).await {
        Ok(Some(user)) if user.disabled_at.is_none() => user.role,
        Ok(Some(_)) => Role::Viewer,
        Ok(None) => Role::Responder,
        Err(err) => return ApiError::from(err).into_response(),
    };
    match respond(&state, &id, action, (&person, role)).await {
        Ok(alert) => page(
            &format!("{} by {person}", alert.status.as_str().replace('_', " ")),
            &format!("<p>{}</p>", escape(&alert.summary)),
        )
        .into_response(),
        Err(err) if err.status == StatusCode::FORBIDDEN => (
            StatusCode::FORBIDDEN,
            page("Not allowed", &format!("<p>{}</p>", escape(&err.message))),
        )
            .into_response(),
        Err(err) if err.status == StatusCode::CONFLICT => (
            StatusCode::CONFLICT,
            page("Already done", &format!("<p>{}</p>", escape(&err.message))),
        )
            .into_response(),
        Err(err) => err.into_response(),
    }
}
