//! What comes back from phones: SMS replies (`1a`, `ack <id>`, `a`, STOP / START), a call's
//! words and its key press (4 acknowledge, 5 escalate, 6 close, * repeat), the provider's
//! delivery reports, and ntfy's push buttons. Every provider callback is checked against its
//! signature over the public URL it was sent to before anything is read from it (403, nothing
//! changes); a button carries its own single-use token. Acting on an alert goes through
//! `paging::service::respond`, as the API's acknowledge, as the person the page was for.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use firebreak_core::paging::AlertAction;
use firebreak_core::wake::{self, Key, PhoneAction, Reply};
use firebreak_store::StoreError;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;

pub fn router() -> axum::Router<AppState> {
    use axum::routing::post;
    axum::Router::new()
        .route("/integrations/twilio/sms", post(inbound_sms))
        .route("/integrations/twilio/status", post(status_callback))
        .route("/integrations/twilio/voice", post(voice))
        .route("/integrations/ntfy/{token}", post(push_button))
}

/// The form parameters of a provider's callback, if its signature holds over the public URL
/// this server gave out (`public_url` + the path and query it was called at).
fn signed_params(
    state: &AppState,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, ApiError> {
    let paging = &state.settings.paging;
    let providers: Vec<&crate::settings::PhoneSettings> = [&paging.sms, &paging.voice]
        .into_iter()
        .filter(|it| it.enabled())
        .collect();
    if providers.is_empty() {
        return Err(ApiError::not_found("route"));
    }
    let params = firebreak_integrations::twilio::form_params(body);
    let path = uri.path_and_query().map(|it| it.as_str()).unwrap_or("/");
    let url = format!("{}{path}", state.settings.base_url());
    let signed = providers.iter().any(|provider| {
        let Some(sent) = headers
            .get(provider.signature_header.trim())
            .and_then(|it| it.to_str().ok())
        else {
            return false;
        };
        let secrets = provider.webhook_secrets();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        firebreak_integrations::twilio::verify(&secrets, &url, &params, sent)
    });
    if !signed {
        tracing::warn!(%url, "a provider callback with a missing or wrong signature was refused");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_signature",
            "the request's signature does not match (the provider signs the public URL: check public_url)",
        ));
    }
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn twiml(xml: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

/// An SMS answer: one message back, or nothing (an empty `<Response>`, which providers log
/// as a success, unlike an empty body).
fn sms_answer(text: Option<&str>) -> Response {
    let inner = text
        .map(|it| format!("<Message>{}</Message>", wake::xml_escape(&wake::gsm7(it))))
        .unwrap_or_default();
    twiml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>{inner}</Response>"
    ))
}

/// Acts on one alert as `person`; a sentence for the phone either way.
async fn act(state: &AppState, alert: &str, action: PhoneAction, person: &str) -> String {
    // A disabled person's phone does nothing, as their sign-in and tokens do nothing.
    let user = match state.store.user_by_email(person).await {
        Ok(Some(user)) if user.disabled_at.is_none() => user,
        Ok(Some(_)) => return format!("Not done: {person} is disabled in Firebreak"),
        _ => return format!("Not done: {person} is not a Firebreak user"),
    };
    let summary = state
        .store
        .alert(alert)
        .await
        .map(|it| it.summary)
        .unwrap_or_default();
    let done = match action {
        PhoneAction::Acknowledge | PhoneAction::Close => {
            let action = if action == PhoneAction::Acknowledge {
                AlertAction::Acknowledge
            } else {
                AlertAction::Resolve
            };
            crate::paging::service::respond(state, alert, action, (&user.email, user.role))
                .await
                .map(|_| ())
                .map_err(|err| err.message)
        }
        PhoneAction::Escalate => {
            if !user.role.allows(firebreak_core::Role::Responder) {
                Err(format!(
                    "escalating needs the responder role; you are a {}",
                    user.role.as_str()
                ))
            } else {
                state
                    .store
                    .escalate_now(alert, &user.email, firebreak_store::clock::now())
                    .await
                    .map(|_| ())
                    .map_err(|err| match err {
                        StoreError::Conflict(message) => message,
                        other => other.to_string(),
                    })
            }
        }
    };
    match done {
        Ok(()) => format!("{}: {summary}", action.past()),
        Err(message) => format!("Not done ({summary}): {message}"),
    }
}

/// Acts on every alert a page covered; one sentence.
async fn act_on_page(state: &AppState, page: &str, action: PhoneAction, person: &str) -> String {
    let alerts = state.store.page_alerts(page).await.unwrap_or_default();
    let mut said = Vec::new();
    for alert in &alerts {
        said.push(act(state, alert, action, person).await);
    }
    if said.is_empty() {
        "Not done: that page is not known".into()
    } else {
        said.join("\n")
    }
}

/// An SMS to the paging number: a reply to a page, STOP or START. A number that belongs to
/// nobody gets no answer.
async fn inbound_sms(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = signed_params(&state, &uri, &headers, &body)?;
    let from = param(&params, "From").unwrap_or_default().to_string();
    let text = param(&params, "Body").unwrap_or_default().to_string();
    let people = state.store.contacts_by_phone(&from, "sms").await?;
    let Some(person) = people.first().map(|it| it.person.clone()) else {
        return Ok(sms_answer(None));
    };
    let now = firebreak_store::clock::now();
    // What to say, and whether it did something (a page acted on, STOP or START).
    let acted = |said: String| {
        let done = !said.starts_with("Not done");
        (said, done)
    };
    let (answer, did) = match wake::parse_reply(&text) {
        Reply::Stop => {
            state.store.set_sms_stopped(&from, true, now).await?;
            tracing::info!(person = %person, "a number replied STOP: no more pages by SMS to it");
            ("Firebreak will not text this number until you reply START. Calls and other ways you are paged go on.".to_string(), true)
        }
        Reply::Start => {
            state.store.set_sms_stopped(&from, false, now).await?;
            ("Firebreak will text pages to this number again.".to_string(), true)
        }
        Reply::Latest(action) => match state.store.sms_code_page(&from, None).await? {
            Some(page) => acted(act_on_page(&state, &page, action, &person).await),
            None => ("No page was sent to this number yet.".to_string(), false),
        },
        Reply::Code(code, action) => match state.store.sms_code_page(&from, Some(code)).await? {
            Some(page) => acted(act_on_page(&state, &page, action, &person).await),
            None => (
                format!("Unknown reply code {code}: use the number from the page, e.g. 1a."),
                false,
            ),
        },
        Reply::Alert(prefix, action) => match state.store.alert_by_prefix(&prefix).await? {
            Some(alert) => acted(act(&state, &alert, action, &person).await),
            None => (format!("No alert has the id {prefix}."), false),
        },
        Reply::Unknown => ("Firebreak did not understand that. Reply with the code from the page and a for acknowledge, e for escalate or c for close (e.g. 1a), or STOP to stop texts.".to_string(), false),
    };
    if did {
        state.store.reset_passive_replies(&from).await?;
    } else if !state.store.passive_reply(&from).await? {
        tracing::info!(person = %person, "reply not answered: too many replies that did nothing");
        return Ok(sms_answer(None));
    }
    Ok(sms_answer(Some(&answer)))
}

/// A provider's delivery report for a message or a call.
async fn status_callback(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = signed_params(&state, &uri, &headers, &body)?;
    let Some((sid, delivery, code)) = crate::paging::wake::callback_delivery(&params) else {
        return Err(ApiError::field(
            "MessageStatus",
            "a MessageSid and MessageStatus, or a CallSid and CallStatus",
        ));
    };
    let error = code.map(|code| match wake::permanent_error(code) {
        Some(reason) => format!("{reason} ({code})"),
        None => format!("provider error {code}"),
    });
    match state
        .store
        .page_delivery(&sid, delivery, error, firebreak_store::clock::now())
        .await
    {
        // A report for something this server did not send (a verification code, say).
        Ok(()) | Err(StoreError::NotFound(_)) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct VoiceQuery {
    page: String,
}

/// A page call: answered (no `Digits`: the alert and the menu) or a key pressed.
async fn voice(
    State(state): State<AppState>,
    uri: Uri,
    Query(query): Query<VoiceQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = signed_params(&state, &uri, &headers, &body)?;
    let page = match state.store.page(&query.page).await {
        Ok(page) => page,
        Err(StoreError::NotFound(_)) => {
            return Ok(twiml(wake::voice_said(
                "This page is no longer known to Firebreak.",
            )));
        }
        Err(other) => return Err(other.into()),
    };
    let alerts = state.store.page_alerts(&query.page).await?;
    let Some(first) = alerts.first() else {
        return Ok(twiml(wake::voice_said("This page has no alert.")));
    };
    let alert = state.store.alert(first).await?;
    let action_url = format!(
        "{}{}",
        state.settings.base_url(),
        uri.path_and_query().map(|it| it.as_str()).unwrap_or("/")
    );
    let digits = param(&params, "Digits").unwrap_or_default();
    let menu = || {
        let more = alerts.len() - 1;
        let message = if more == 0 {
            alert.summary.clone()
        } else {
            format!(
                "{} And {more} more alert{}; your key acts on all of them.",
                alert.summary,
                if more == 1 { "" } else { "s" }
            )
        };
        twiml(wake::voice_page(&message, &action_url))
    };
    if digits.is_empty() {
        if alert.status.as_str() != "triggered" && alerts.len() == 1 {
            let already = format!(
                "This alert was already {}. {}",
                alert.status.as_str(),
                alert.summary
            );
            return Ok(twiml(wake::voice_said(&already)));
        }
        return Ok(menu());
    }
    Ok(match wake::voice_key(digits) {
        Key::Repeat => menu(),
        Key::Act(action) => {
            let said = act_on_page(&state, &query.page, action, &page.target).await;
            twiml(wake::voice_said(&said.replace('\n', ". ")))
        }
        Key::Other => {
            let xml = wake::voice_page(
                &format!("Sorry, that key is not in the menu. {}", alert.summary),
                &action_url,
            );
            twiml(xml)
        }
    })
}

/// A push button pressed on a phone: its token (single-use, for one alert and one action)
/// says what and as whom.
async fn push_button(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let now = firebreak_store::clock::now();
    let taken = match state
        .store
        .take_action_token(&firebreak_core::token::hash_token(&token), now)
        .await
    {
        Ok(taken) => taken,
        Err(StoreError::NotFound(_)) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "this button was used already or has expired",
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let action = match taken.action.as_str() {
        "acknowledge" => PhoneAction::Acknowledge,
        _ => PhoneAction::Close,
    };
    let said = act(&state, &taken.alert_id, action, &taken.person).await;
    let ok = !said.starts_with("Not done");
    Ok((
        if ok {
            StatusCode::OK
        } else {
            StatusCode::CONFLICT
        },
        axum::Json(serde_json::json!({"ok": ok, "message": said})),
    )
        .into_response())
}
