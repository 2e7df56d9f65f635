//! How you are paged: your contact methods and notification rules.

use super::*;
use crate::paging::service::person_of;
use crate::paging::service::{ContactBody, RuleBody, contact, rule};
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
