//! PagerDuty's Events API v2, with PagerDuty's own 202 / 400 / 429 bodies: alert events,
//! `POST /v2/enqueue` (`routing_key` = an integration key; Alertmanager's `pagerduty_configs`
//! with `url:` pointed here just works), and change events, `POST /v2/change/enqueue`,
//! recorded as the service's deploys for the change failure rate (nobody is paged).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use firebreak_core::paging::{AlertAction, AlertSeverity, parse_time};
use firebreak_store::{IncomingAlert, Service};
use serde_json::{Value, json};

use crate::AppState;
use crate::paging::ingest::{MAX_EVENT_BYTES, apply, service_for, truncate, unavailable};

fn pd_invalid(errors: Vec<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors})),
    )
        .into_response()
}

/// An event checked as the Events API checks it: its routing key and what it says, or every
/// error in PagerDuty's words.
pub type Checked<T> = Result<(String, T), Vec<String>>;

/// The event's `routing_key`, checked as the Events API does (present, 32 characters).
fn routing_key<'a>(event: &'a Value, errors: &mut Vec<String>) -> &'a str {
    let key = event["routing_key"].as_str().unwrap_or("");
    if key.is_empty() {
        errors.push("'routing_key' is missing or blank".to_string());
    } else if key.len() != 32 {
        errors.push("Length of 'routing_key' is incorrect (should be 32 characters)".to_string());
    }
    key
}

/// Checks a PagerDuty event as the Events API does and answers it in our terms.
pub fn parse_pagerduty(event: &Value) -> Checked<IncomingAlert> {
    let mut errors = Vec::new();
    let routing_key = routing_key(event, &mut errors);
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

/// An Events API body checked as PagerDuty checks it, up to the service it is for: its size,
/// a JSON object, the event's own fields (`parse`), the routing key's rate and the key itself.
/// Alert and change events share it; each answers in PagerDuty's words.
async fn envelope<T>(
    state: &AppState,
    body: &[u8],
    parse: fn(&Value) -> Checked<T>,
) -> Result<(Service, T), Response> {
    if body.len() > MAX_EVENT_BYTES {
        return Err(pd_invalid(vec![
            "Event object is too large (must be 512 KB or smaller)".into(),
        ]));
    }
    let unrecognized = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"status": "Unrecognized object", "message": "Event object format is unrecognized", "errors": [why]})),
        )
            .into_response()
    };
    let event = match serde_json::from_slice::<Value>(body) {
        Ok(event) if event.is_object() => event,
        Ok(_) => return Err(unrecognized("Event object must be a JSON object")),
        Err(_) => return Err(unrecognized("JSON parse error")),
    };
    let (key, parsed) = parse(&event).map_err(pd_invalid)?;
    if !state
        .events
        .allow(&key, state.settings.paging.events_per_minute_per_key)
    {
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"status": "throttle event", "message": "Request Limit Exceeded", "errors": ["Too many events for this routing key; retry later"]})),
        )
            .into_response());
    }
    match service_for(state, &key).await {
        Ok(Some(service)) => Ok((service, parsed)),
        Ok(None) => Err(pd_invalid(vec!["Invalid routing key".into()])),
        Err(err) => Err(unavailable(err)),
    }
}

/// `POST /v2/enqueue`.
pub async fn alert_event(State(state): State<AppState>, body: Bytes) -> Response {
    let (service, incoming) = match envelope(&state, &body, parse_pagerduty).await {
        Ok(it) => it,
        Err(response) => return response,
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
pub fn parse_change(event: &Value) -> Checked<ChangeEvent> {
    let mut errors = Vec::new();
    let routing_key = routing_key(event, &mut errors);
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
pub async fn change_event(State(state): State<AppState>, body: Bytes) -> Response {
    let (service, change) = match envelope(&state, &body, parse_change).await {
        Ok(it) => it,
        Err(response) => return response,
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

#[cfg(test)]
mod tests {
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
