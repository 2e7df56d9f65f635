//! Paging as the API and the pages both handle it: services, escalation policies, integration
//! keys, silences, alerts and their actions, one's contact methods and notification rules.

use axum::http::StatusCode;
use firebreak_core::Role;
use firebreak_core::paging::{AlertAction, AlertSeverity};
use firebreak_store::{Alert, PolicyDoc, Service, StepDoc, StoreError, TargetDoc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Caller;

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct AlertDto {
    pub id: String,
    pub service_id: String,
    pub dedup_key: String,
    /// triggered, acknowledged, resolved.
    pub status: String,
    pub summary: String,
    pub severity: String,
    pub source: String,
    pub details: Value,
    pub links: Value,
    /// How many triggers this alert took (repeats are counted, not paged).
    pub count: i64,
    pub created_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    /// The escalation step paged last (1-based) and when the next one is due.
    pub step: i64,
    pub next_escalation_at: Option<String>,
    /// The incident declared from this alert (its id), if any.
    pub incident_id: Option<String>,
    /// Every step: triggered, step, paged (who and why), would_page (a service in shadow mode:
    /// who would have been paged), not_paged (why not), escalated,
    /// acknowledged, resolved, exhausted. Only on `GET /alerts/{id}`.
    pub log: Option<Vec<Value>>,
}

/// The API and the alert page both come here.
pub async fn declare_from(
    state: &AppState,
    caller: &Caller,
    id: &str,
    severity: Option<String>,
) -> ApiResult<firebreak_core::Incident> {
    caller.require(Role::Responder)?;
    let alert = state.store.alert(id).await.map_err(not_found("alert"))?;
    if alert.incident_id.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "an incident was already declared from this alert",
        ));
    }
    let service = state.store.service(&alert.service_id).await?;
    let raw = firebreak_core::command::RawDeclare {
        title: Some(alert.summary.chars().take(200).collect()),
        summary: Some(format!(
            "Declared from alert {} ({}, seen {} time(s), source {}).",
            alert.id, alert.severity, alert.count, alert.source
        )),
        severity,
        services: Some(vec![service.name]),
        status: Some("triage".into()),
        ..Default::default()
    };
    let new = firebreak_core::command::parse_declare(raw, &state.store.catalog())
        .map_err(ApiError::validation)?;
    let declared = state
        .store
        .declare(new, &caller.actor(), caller.access(), None)
        .await?;
    state
        .store
        .link_alert_incident(
            &alert.id,
            &declared.incident.id.to_string(),
            &caller.actor(),
            firebreak_store::clock::now(),
        )
        .await?;
    Ok(declared.incident)
}

pub fn alert_dto(it: Alert) -> AlertDto {
    AlertDto {
        id: it.id,
        service_id: it.service_id,
        dedup_key: it.dedup_key,
        status: it.status.as_str().into(),
        summary: it.summary,
        severity: it.severity.as_str().into(),
        source: it.source,
        details: serde_json::from_str(&it.details).unwrap_or(Value::Null),
        links: serde_json::from_str(&it.links).unwrap_or(Value::Null),
        count: it.count,
        created_at: it.created_at.to_string(),
        acknowledged_at: it.acknowledged_at.map(|at| at.to_string()),
        acknowledged_by: it.acknowledged_by,
        resolved_at: it.resolved_at.map(|at| at.to_string()),
        resolved_by: it.resolved_by,
        step: it.step + 1,
        next_escalation_at: it.next_escalation_at.map(|at| at.to_string()),
        incident_id: it.incident_id,
        log: None,
    }
}

/// Acknowledge or resolve as a person: the API, the CLI and the pages come here.
/// Acknowledges or resolves an alert for `by`, acting with `role`: the API and the page link
/// share this one rule (a responder may, a viewer may not).
pub async fn respond(
    state: &AppState,
    id: &str,
    action: AlertAction,
    (by, role): (&str, Role),
) -> ApiResult<Alert> {
    if !role.allows(Role::Responder) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "acknowledging or resolving needs the responder role; {by} is a {}",
                role.as_str()
            ),
        ));
    }
    state
        .store
        .respond_to_alert(id, action, by, firebreak_store::clock::now())
        .await
        .map_err(|err| match err {
            StoreError::NotFound(_) => ApiError::not_found("alert"),
            StoreError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "invalid_transition", message)
            }
            other => other.into(),
        })
}

/// One alert with its log, as `access` may see it.
pub async fn with_log(
    state: &AppState,
    access: &firebreak_core::Access,
    id: &str,
) -> ApiResult<AlertDto> {
    let found = state.store.alert(id).await.map_err(not_found("alert"))?;
    let log = state
        .store
        .alert_log(id)
        .await?
        .into_iter()
        .map(|it| {
            serde_json::json!({
                "at": it.at.to_string(),
                "kind": it.kind,
                "detail": serde_json::from_str::<Value>(&it.detail).unwrap_or(Value::Null),
            })
        })
        .collect();
    let mut alert = [AlertDto {
        log: Some(log),
        ..alert_dto(found)
    }];
    redact(state, access, &mut alert).await?;
    let [alert] = alert;
    Ok(alert)
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct SilenceBody {
    /// One service (id or name); without it, every service.
    pub service: Option<String>,
    /// Alerts whose summary or dedup key contains this (any case); empty: every alert — with
    /// a service, that is a maintenance window.
    #[serde(default)]
    pub matching: String,
    /// RFC 3339; default now.
    pub starts_at: Option<String>,
    /// How long (1 minute to 7 days).
    pub duration_minutes: i64,
    #[serde(default)]
    pub comment: String,
}

/// The API and the services page come here.
pub async fn silence(
    state: &AppState,
    caller: &Caller,
    body: &SilenceBody,
) -> ApiResult<SilenceDto> {
    caller.require(Role::Responder)?;
    let service_id = match body.service.as_deref().filter(|it| !it.is_empty()) {
        Some(service) => Some(
            state
                .store
                .service(service)
                .await
                .map_err(|_| ApiError::field("service", format!("no service {service:?}")))?
                .id,
        ),
        None => None,
    };
    if !(1..=7 * 1440).contains(&body.duration_minutes) {
        return Err(ApiError::field("duration_minutes", "1 minute to 7 days"));
    }
    let matching = body.matching.trim().to_string();
    if matching.chars().count() > 200 || body.comment.chars().count() > 500 {
        return Err(ApiError::field(
            "matching",
            "at most 200 characters (comment: 500)",
        ));
    }
    if service_id.is_none() && matching.is_empty() {
        return Err(ApiError::field(
            "matching",
            "silencing every alert of every service needs some text to match",
        ));
    }
    let now = firebreak_store::clock::now();
    let starts = match body.starts_at.as_deref().filter(|it| !it.is_empty()) {
        Some(text) => text
            .parse()
            .map_err(|_| ApiError::field("starts_at", "an RFC 3339 time"))?,
        None => now,
    };
    let wanted = firebreak_core::paging::Silence {
        id: String::new(),
        service_id,
        matching,
        starts,
        ends: starts + jiff::SignedDuration::from_mins(body.duration_minutes),
    };
    let created = state
        .store
        .create_silence(&wanted, body.comment.trim(), &caller.actor(), now)
        .await?;
    Ok(silence_dto(&created, body.comment.trim(), &caller.actor()))
}

pub(crate) fn not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |err| match err {
        StoreError::NotFound(_) => ApiError::not_found(what),
        other => other.into(),
    }
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: String,
    pub steps: Vec<StepBody>,
    /// How many more times the whole policy runs after the last step (0 to 9).
    #[serde(default)]
    pub repeat: i64,
}

/// Checks and stores a policy: a new one, or (with `replace`) the one of that name (admins).
/// The API and the services page come here.
pub async fn save_policy(
    state: &AppState,
    caller: &Caller,
    body: &PolicyBody,
    replace: bool,
) -> ApiResult<firebreak_store::EscalationPolicy> {
    caller.require(Role::Admin)?;
    let name = name_of("name", &body.name)?;
    let doc = policy_doc(state, body).await?;
    let now = firebreak_store::clock::now();
    match state.store.policy(&name).await {
        Ok(current) if replace => {
            state.store.update_policy(&current.id, &doc, now).await?;
            Ok(state.store.policy(&current.id).await?)
        }
        _ => Ok(state.store.create_policy(&name, &doc, now).await?),
    }
}

/// Checks and replaces a service's settings (admins); the API and the services page come here.
pub async fn save_service(
    state: &AppState,
    caller: &Caller,
    id_or_name: &str,
    body: &ServiceBody,
) -> ApiResult<Service> {
    caller.require(Role::Admin)?;
    let existing = state
        .store
        .service(id_or_name)
        .await
        .map_err(not_found("service"))?;
    let service = Service {
        id: existing.id.clone(),
        ..checked_service(state, body).await?
    };
    if service.depends_on.contains(&service.id) {
        return Err(ApiError::field(
            "depends_on",
            "a service cannot depend on itself",
        ));
    }
    state
        .store
        .replace_service(&service, firebreak_store::clock::now())
        .await
        .map_err(not_found("service"))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    pub name: String,
    /// The owner team (id or name).
    pub team: Option<String>,
    /// The escalation policy (id or name); without one, alerts are kept but page nobody.
    pub escalation_policy: Option<String>,
    /// Services this one depends on (ids or names).
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub runbook_url: String,
    /// Alert-storm grouping: alerts opened within this many minutes of an open alert join it
    /// and page nobody more (0 to 1440; 0, the default: off).
    #[serde(default)]
    pub group_window_minutes: i64,
    /// Open an incident (in triage) for every new alert of at least this severity: critical,
    /// error, warning, info. Empty: never.
    #[serde(default)]
    pub auto_declare_severity: String,
    /// Shadow mode, for running beside the system a team is moving from: alerts are ingested,
    /// deduplicated and escalated on paper — each alert's log says whom Firebreak would have
    /// paged (`would_page`) — and nobody is paged, no incident declared. Default false.
    #[serde(default)]
    pub shadow: bool,
}

/// Checks and stores a new service (admins); the API and the services page come here.
pub async fn add_service(
    state: &AppState,
    caller: &Caller,
    body: &ServiceBody,
) -> ApiResult<Service> {
    caller.require(Role::Admin)?;
    let service = checked_service(state, body).await?;
    Ok(state
        .store
        .create_service(&service, firebreak_store::clock::now())
        .await?)
}

/// Makes an integration key (admins): the stored record and the key, which is not kept.
/// A key kept from the system a team moves from: a PagerDuty integration key (32 letters and
/// digits) or an Opsgenie API integration's key (a UUID) — 20 to 64 ASCII letters, digits,
/// `-` and `_`.
pub(crate) fn kept_key(key: &str) -> ApiResult<String> {
    let key = key.trim();
    let fits = (20..=64).contains(&key.len())
        && key
            .bytes()
            .all(|it| it.is_ascii_alphanumeric() || it == b'-' || it == b'_');
    if !fits {
        return Err(ApiError::field(
            "key",
            "20 to 64 letters, digits, - or _ (a PagerDuty integration key or an Opsgenie API key)",
        ));
    }
    Ok(key.to_string())
}

/// Makes a service's integration key: a new random one, or (`keep`) the one its senders
/// already use, so moving in changes only the host name they send to.
pub async fn new_key(
    state: &AppState,
    caller: &Caller,
    service: &str,
    name: &str,
    keep: Option<&str>,
) -> ApiResult<(firebreak_store::IntegrationKey, String)> {
    caller.require(Role::Admin)?;
    let service = state
        .store
        .service(service)
        .await
        .map_err(not_found("service"))?;
    let key = match keep.filter(|it| !it.trim().is_empty()) {
        Some(kept) => kept_key(kept)?,
        None => {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
            bytes.iter().map(|it| format!("{it:02x}")).collect()
        }
    };
    let name = if name.trim().is_empty() {
        "integration".to_string()
    } else {
        name_of("name", name)?
    };
    let created = state
        .store
        .create_integration_key(
            &service.id,
            &name,
            &firebreak_core::token::hash_token(&key),
            firebreak_store::clock::now(),
        )
        .await?;
    Ok((created, key))
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// `email`, `webhook`, `slack`, `matrix`, `sms`, `voice` or `push`.
    pub kind: String,
    /// An email address, an http(s) URL for a webhook, a Slack member id (`U…`), a Matrix
    /// user id (`@ana:example.org`), or a phone number with its country code for `sms` and
    /// `voice` (`+1 415 555 0100`; verified with a code before it is paged). Empty for
    /// `push`: the topic is made for you and shown once.
    #[serde(default)]
    pub address: String,
    /// A webhook's signing secret (16+ characters); made for you when absent.
    pub secret: Option<String>,
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
#[schema(as = NotificationRuleBody)]
pub struct RuleBody {
    /// One of your contact methods.
    pub contact_method: String,
    /// Minutes after the page (0: at once; at most 60).
    pub delay_minutes: i64,
}

/// The API and the account page come here.
pub async fn contact(
    state: &AppState,
    caller: &Caller,
    body: &ContactBody,
) -> ApiResult<ContactDto> {
    let person = person_changing(caller)?;
    let (address, secret) = match body.kind.as_str() {
        "email" => (
            firebreak_core::person::parse_email(&body.address)
                .ok_or_else(|| ApiError::field("address", "an email address"))?,
            None,
        ),
        "webhook" => {
            let url = crate::webhooks::outbound_url(state, "address", body.address.trim())?;
            let secret = match body.secret.as_deref() {
                Some(secret) if secret.len() >= 16 && secret.len() <= 200 => secret.to_string(),
                Some(_) => return Err(ApiError::field("secret", "16 to 200 characters")),
                None => crate::webhooks::random_secret()?,
            };
            (url, Some(secret))
        }
        // A Slack member id (`U…`, profile → Copy member ID); the page is a direct message
        // with Acknowledge and Resolve buttons.
        "slack" => {
            let id = body.address.trim();
            let ok = id.len() >= 3
                && id.len() <= 32
                && (id.starts_with('U') || id.starts_with('W'))
                && id
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !ok {
                return Err(ApiError::field(
                    "address",
                    "a Slack member id such as U012AB3CD (in Slack: your profile, ⋮, Copy member ID)",
                ));
            }
            (id.to_string(), None)
        }
        // A Matrix user id; the page arrives in a direct-message room.
        "matrix" => {
            let id = body.address.trim();
            let ok = id.len() <= 255
                && id.starts_with('@')
                && id[1..].split_once(':').is_some_and(|(local, server)| {
                    !local.is_empty() && !server.is_empty() && !id.contains(char::is_whitespace)
                });
            if !ok {
                return Err(ApiError::field(
                    "address",
                    "a Matrix user id such as @ana:example.org",
                ));
            }
            (id.to_string(), None)
        }
        // A phone number, in E.164; paged only once a code sent to it comes back.
        "sms" | "voice" => (
            firebreak_core::wake::parse_phone(&body.address)
                .map_err(|reason| ApiError::field("address", reason))?,
            None,
        ),
        // A random topic on the ntfy server: on an open server the topic is the password.
        "push" => {
            if !body.address.trim().is_empty() {
                return Err(ApiError::field(
                    "address",
                    "leave it empty: a push topic is made for you",
                ));
            }
            if state.phones.ntfy.is_none() {
                return Err(ApiError::field(
                    "kind",
                    "push needs [paging.ntfy] server_url on this server",
                ));
            }
            (crate::paging::wake::new_topic()?, None)
        }
        _ => {
            return Err(ApiError::field(
                "kind",
                "email, webhook, slack, matrix, sms, voice or push",
            ));
        }
    };
    // Phones and push topics are paged only once a code sent to them came back (for push:
    // proof that the phone is subscribed to the topic).
    let verified = !matches!(body.kind.as_str(), "sms" | "voice" | "push");
    let created = state
        .store
        .create_contact_method(
            &person,
            (&body.kind, &address, secret.as_deref()),
            verified,
            firebreak_store::clock::now(),
        )
        .await?;
    let mut shown = contact_dto(created, secret);
    if body.kind == "push" {
        shown.address = address.clone();
        shown.subscribe =
            state.phones.ntfy.as_ref().map(|(config, _)| {
                format!("{}/{address}", config.server_url.trim_end_matches('/'))
            });
    }
    Ok(shown)
}

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The 6-digit code sent to the number.
    pub code: String,
}

/// Sends a 6-digit code to one of your phone numbers (by SMS for `sms`, by a call that reads
/// it for `voice`) or push topics (a push to it); it works for 15 minutes, one a minute.
pub async fn send_code(state: &AppState, caller: &Caller, id: &str) -> ApiResult<ContactDto> {
    let person = person_changing(caller)?;
    let method = state
        .store
        .contact_method(&person, id)
        .await
        .map_err(not_found("contact method"))?;
    let (configured, what) = match method.kind.as_str() {
        "sms" => (state.phones.sms.is_some(), "SMS ([paging.sms])"),
        "voice" => (state.phones.voice.is_some(), "voice ([paging.voice])"),
        "push" => (state.phones.ntfy.is_some(), "push ([paging.ntfy])"),
        _ => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_a_phone",
                "only sms, voice and push contact methods are verified with a code",
            ));
        }
    };
    if !configured {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_configured",
            format!("{what} is not configured on this server"),
        ));
    }
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(ApiError::internal)?;
    let code = firebreak_core::wake::verification_code(u32::from_le_bytes(random));
    state
        .store
        .start_verification(
            &method,
            &firebreak_core::token::hash_token(&code),
            firebreak_store::clock::now(),
        )
        .await?;
    use crate::paging::wake::SendCodeError;
    let sent =
        crate::paging::wake::send_code(&state.phones, &method.kind, &method.address, &code).await;
    if sent.is_err() {
        // Not sent: no code waits, and another may be asked for at once.
        state.store.cancel_verification(&method.id).await?;
    }
    match sent {
        Ok(()) => Ok(contact_dto(method, None)),
        Err(err @ SendCodeError::Refused(_)) => Err(ApiError::field("address", err.to_string())),
        Err(err @ SendCodeError::NotConfigured(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_configured",
            err.to_string(),
        )),
        Err(err @ SendCodeError::Unavailable(_)) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "provider_unavailable",
            err.to_string(),
        )),
    }
}

/// Checks the code typed back; the right one verifies the number.
pub async fn verify(
    state: &AppState,
    caller: &Caller,
    id: &str,
    body: &VerifyBody,
) -> ApiResult<ContactDto> {
    let person = person_changing(caller)?;
    let code = body.code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::field("code", "the 6 digits sent to the number"));
    }
    state
        .store
        .finish_verification(
            &person,
            id,
            &firebreak_core::token::hash_token(code),
            firebreak_store::clock::now(),
        )
        .await
        .map(|it| contact_dto(it, None))
        .map_err(|err| match err {
            StoreError::NotFound(_) => ApiError::not_found("contact method"),
            StoreError::Conflict(message) => ApiError::field("code", message),
            other => other.into(),
        })
}

/// The API and the account page come here.
pub async fn rule(state: &AppState, caller: &Caller, body: &RuleBody) -> ApiResult<RuleDto> {
    let person = person_changing(caller)?;
    if !(0..=60).contains(&body.delay_minutes) {
        return Err(ApiError::field("delay_minutes", "0 to 60"));
    }
    let created = state
        .store
        .create_notification_rule(
            &person,
            &body.contact_method,
            body.delay_minutes,
            firebreak_store::clock::now(),
        )
        .await
        .map_err(|err| match err {
            StoreError::NotFound(_) => {
                ApiError::field("contact_method", "not one of your contact methods")
            }
            StoreError::Conflict(message) if message.starts_with("verify") => {
                ApiError::field("contact_method", message)
            }
            other => other.into(),
        })?;
    Ok(RuleDto {
        id: created.id,
        contact_method: contact_dto(created.contact_method, None),
        delay_minutes: created.delay_minutes,
    })
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    pub targets: Vec<TargetBody>,
    /// Minutes to wait for an acknowledgement before the next step (1 to 1440).
    pub delay_minutes: i64,
}

pub(crate) fn name_of(field: &str, text: &str) -> ApiResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 100 {
        return Err(ApiError::field(field, "1 to 100 characters"));
    }
    Ok(text.to_string())
}

/// Checks a policy: people are emails, schedules exist (stored by id), steps and repeats
/// within bounds.
pub(crate) async fn policy_doc(state: &AppState, body: &PolicyBody) -> ApiResult<PolicyDoc> {
    let mut steps = Vec::new();
    for (i, step) in body.steps.iter().enumerate() {
        let field = format!("steps[{i}].targets");
        let mut targets = Vec::new();
        for target in &step.targets {
            match target.kind.as_str() {
                "person" => targets.push(TargetDoc {
                    kind: "person".into(),
                    id: firebreak_core::person::parse_email(&target.id).ok_or_else(|| {
                        ApiError::field(&field, format!("{:?} is not an email address", target.id))
                    })?,
                }),
                "schedule" => {
                    let schedule = state.store.schedule(&target.id).await.map_err(|_| {
                        ApiError::field(&field, format!("no schedule {:?}", target.id))
                    })?;
                    targets.push(TargetDoc {
                        kind: "schedule".into(),
                        id: schedule.id,
                    });
                }
                other => {
                    return Err(ApiError::field(
                        &field,
                        format!("a target is a person or a schedule, not {other:?}"),
                    ));
                }
            }
        }
        steps.push(StepDoc {
            targets,
            delay_minutes: step.delay_minutes,
        });
    }
    let doc = PolicyDoc {
        steps,
        repeat: body.repeat,
    };
    doc.to_core()
        .check()
        .map_err(|err| ApiError::field("steps", err.to_string()))?;
    Ok(doc)
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// `person` (an email) or `schedule` (a schedule's id or name).
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// Removes what the caller may not see from alerts: the id of a linked private incident they
/// are not a member of (in the alert and in its log), as if none were linked.
pub async fn redact(
    state: &AppState,
    access: &firebreak_core::Access,
    alerts: &mut [AlertDto],
) -> ApiResult<()> {
    let mut seen: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    for alert in alerts.iter_mut() {
        let Some(id) = alert.incident_id.clone() else {
            continue;
        };
        let visible = match seen.get(&id) {
            Some(visible) => *visible,
            None => {
                let key = uuid::Uuid::parse_str(&id).map(firebreak_store::IncidentKey::Id);
                let visible = match key {
                    Ok(key) => match state.store.visible_incident(key, access).await {
                        Ok(_) => true,
                        Err(StoreError::NotFound(_)) => false,
                        Err(err) => return Err(err.into()),
                    },
                    Err(_) => false,
                };
                seen.insert(id.clone(), visible);
                visible
            }
        };
        if visible {
            continue;
        }
        alert.incident_id = None;
        for entry in alert.log.iter_mut().flatten() {
            if entry["detail"]["incident"] == Value::String(id.clone()) {
                entry["detail"]["incident"] = Value::Null;
            }
        }
    }
    Ok(())
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct SilenceDto {
    pub id: String,
    pub service_id: Option<String>,
    pub matching: String,
    pub starts_at: String,
    pub ends_at: String,
    pub comment: String,
    pub created_by: String,
}

pub(crate) fn silence_dto(
    it: &firebreak_core::paging::Silence,
    comment: &str,
    by: &str,
) -> SilenceDto {
    SilenceDto {
        id: it.id.clone(),
        service_id: it.service_id.clone(),
        matching: it.matching.clone(),
        starts_at: it.starts.to_string(),
        ends_at: it.ends.to_string(),
        comment: comment.into(),
        created_by: by.into(),
    }
}

/// A service as the body describes it (without an id), names resolved to ids.
pub(crate) async fn checked_service(state: &AppState, body: &ServiceBody) -> ApiResult<Service> {
    let name = name_of("name", &body.name)?;
    let team_id = match body.team.as_deref().filter(|it| !it.is_empty()) {
        Some(team) => Some(
            state
                .store
                .team(team)
                .await
                .map_err(|_| ApiError::field("team", format!("no team {team:?}")))?
                .id,
        ),
        None => None,
    };
    let policy_id = match body
        .escalation_policy
        .as_deref()
        .filter(|it| !it.is_empty())
    {
        Some(policy) => Some(
            state
                .store
                .policy(policy)
                .await
                .map_err(|_| ApiError::field("escalation_policy", format!("no policy {policy:?}")))?
                .id,
        ),
        None => None,
    };
    let mut depends_on = Vec::new();
    for other in &body.depends_on {
        depends_on.push(
            state
                .store
                .service(other)
                .await
                .map_err(|_| ApiError::field("depends_on", format!("no service {other:?}")))?
                .id,
        );
    }
    let runbook_url = body.runbook_url.trim().to_string();
    if !(0..=1440).contains(&body.group_window_minutes) {
        return Err(ApiError::field("group_window_minutes", "0 (off) to 1440"));
    }
    let auto_declare_severity = body.auto_declare_severity.trim().to_string();
    if !auto_declare_severity.is_empty() && AlertSeverity::parse(&auto_declare_severity).is_none() {
        return Err(ApiError::field(
            "auto_declare_severity",
            "critical, error, warning, info, or empty for never",
        ));
    }
    let web = runbook_url.starts_with("https://") || runbook_url.starts_with("http://");
    if !(runbook_url.is_empty() || web) {
        return Err(ApiError::field("runbook_url", "an http(s) address"));
    }
    Ok(Service {
        id: String::new(),
        name,
        team_id,
        policy_id,
        depends_on,
        runbook_url,
        group_window_minutes: body.group_window_minutes,
        auto_declare_severity,
        shadow: body.shadow,
    })
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ContactDto {
    pub id: String,
    pub kind: String,
    /// A push topic is shown whole only when it is made (`firebreak-…` after that).
    pub address: String,
    /// Only when a webhook is created: the secret its pages are signed with
    /// (`Firebreak-Signature`, as outgoing webhooks).
    pub secret: Option<String>,
    /// A phone number is paged only once verified.
    pub verified: bool,
    /// The number replied STOP (texts resume when it replies START).
    pub stopped: bool,
    /// Why the provider can never deliver to it (a landline for SMS, a blocked number);
    /// pages skip it until it is verified again.
    pub failure: Option<String>,
    /// Only when a push method is made: the topic's address to subscribe to in the ntfy app.
    pub subscribe: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct RuleDto {
    pub id: String,
    pub contact_method: ContactDto,
    pub delay_minutes: i64,
}

pub(crate) fn contact_dto(
    it: firebreak_store::ContactMethod,
    secret: Option<String>,
) -> ContactDto {
    let address = if it.kind == "push" {
        format!("{}…", it.address.chars().take(14).collect::<String>())
    } else {
        it.address
    };
    ContactDto {
        id: it.id,
        kind: it.kind,
        address,
        secret,
        verified: it.verified,
        stopped: it.stopped,
        failure: it.failure,
        subscribe: None,
    }
}

/// The person whose own paging setup the caller changes: a change needs the responder role
/// (a read-scope token or a viewer only reads it).
pub(crate) fn person_changing(caller: &Caller) -> ApiResult<String> {
    caller.require(Role::Responder)?;
    person_of(caller)
}

pub(crate) fn person_of(caller: &Caller) -> ApiResult<String> {
    caller
        .user
        .as_ref()
        .map(|it| it.email.clone())
        .ok_or_else(|| ApiError::not_found("person for this token"))
}
