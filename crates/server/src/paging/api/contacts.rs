//! How you are paged: your contact methods and notification rules.

use super::*;
use crate::paging::service::person_of;
use crate::paging::service::{ContactBody, RuleBody, VerifyBody, contact, rule};
use crate::paging::service::{ContactDto, RuleDto, contact_dto, person_changing};

// ----- how you are paged -----

/// Add a way to reach you when you are paged (email or a signed webhook).
#[utoipa::path(post, path = "/api/v1/me/contact-methods", tag = "paging", request_body = ContactBody,
    responses((status = 201, body = ContactDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_contact(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ContactBody>,
) -> ApiResult<(StatusCode, Json<ContactDto>)> {
    let created = contact(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/me/contact-methods", tag = "paging",
    responses((status = 200, body = Vec<ContactDto>)), security(("bearer" = [])))]
pub async fn contacts(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ContactDto>>> {
    let person = person_of(&caller)?;
    Ok(Json(
        state
            .store
            .contact_methods(&person)
            .await?
            .into_iter()
            .map(|it| contact_dto(it, None))
            .collect(),
    ))
}

/// Remove one of your contact methods (and the rules that use it).
#[utoipa::path(delete, path = "/api/v1/me/contact-methods/{id}", tag = "paging",
    params(("id" = String, Path, description = "Contact method id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let person = person_changing(&caller)?;
    state
        .store
        .delete_contact_method(&person, &id)
        .await
        .map_err(not_found("contact method"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a 6-digit code to one of your phone numbers (SMS, or a call that reads it) or push
/// topics (a push to it: proof your phone is subscribed); it works for 15 minutes. One a minute.
#[utoipa::path(post, path = "/api/v1/me/contact-methods/{id}/send-code", tag = "paging",
    params(("id" = String, Path, description = "Contact method id")),
    responses((status = 202, body = ContactDto), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a code went less than a minute ago, the method is not a phone or push topic, or the provider is not configured"),
        (status = 422, body = ErrorBody, description = "the provider refused the number"),
        (status = 502, body = ErrorBody, description = "the provider could not be reached")),
    security(("bearer" = [])))]
pub async fn send_code(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<ContactDto>)> {
    let method = crate::paging::service::send_code(&state, &caller, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(method)))
}

/// Verify a phone number or push topic with the code sent to it; pages use it from then on.
#[utoipa::path(post, path = "/api/v1/me/contact-methods/{id}/verify", tag = "paging", request_body = VerifyBody,
    params(("id" = String, Path, description = "Contact method id")),
    responses((status = 200, body = ContactDto), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "wrong, expired or too often tried code")),
    security(("bearer" = [])))]
pub async fn verify_contact(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> ApiResult<Json<ContactDto>> {
    Ok(Json(
        crate::paging::service::verify(&state, &caller, &id, &body).await?,
    ))
}

/// Add a rule: when you are paged, use this contact method after this many minutes (a method
/// may be used again later: "email now, and again after 10 minutes"). With no rules, a page
/// is an email to your address at once. At most 10 rules.
#[utoipa::path(post, path = "/api/v1/me/notification-rules", tag = "paging", request_body = RuleBody,
    responses((status = 201, body = RuleDto), (status = 409, body = ErrorBody, description = "the same rule exists, or 10 rules do"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn add_rule(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<(StatusCode, Json<RuleDto>)> {
    let created = rule(&state, &caller, &body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/me/notification-rules", tag = "paging",
    responses((status = 200, body = Vec<RuleDto>)), security(("bearer" = [])))]
pub async fn rules(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<RuleDto>>> {
    let person = person_of(&caller)?;
    Ok(Json(
        state
            .store
            .notification_rules(&person)
            .await?
            .into_iter()
            .map(|it| RuleDto {
                id: it.id,
                contact_method: contact_dto(it.contact_method, None),
                delay_minutes: it.delay_minutes,
            })
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/me/notification-rules/{id}", tag = "paging",
    params(("id" = String, Path, description = "Rule id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let person = person_changing(&caller)?;
    state
        .store
        .delete_notification_rule(&person, &id)
        .await
        .map_err(not_found("notification rule"))?;
    Ok(StatusCode::NO_CONTENT)
}
