//! How you are paged: your contact methods and notification rules.

use super::*;

// ----- how you are paged -----

#[derive(Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// `email` or `webhook`.
    pub kind: String,
    /// An email address, or an http(s) URL for a webhook.
    pub address: String,
    /// A webhook's signing secret (16+ characters); made for you when absent.
    pub secret: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct ContactDto {
    pub id: String,
    pub kind: String,
    pub address: String,
    /// Only when a webhook is created: the secret its pages are signed with
    /// (`Firebreak-Signature`, as outgoing webhooks).
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

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct RuleDto {
    pub id: String,
    pub contact_method: ContactDto,
    pub delay_minutes: i64,
}

pub(crate) fn person_of(caller: &Caller) -> ApiResult<String> {
    caller
        .user
        .as_ref()
        .map(|it| it.email.clone())
        .ok_or_else(|| ApiError::not_found("person for this token"))
}

/// The person whose own paging setup the caller changes: a change needs the responder role
/// (a read-scope token or a viewer only reads it).
pub(crate) fn person_changing(caller: &Caller) -> ApiResult<String> {
    caller.require(Role::Responder)?;
    person_of(caller)
}

pub(crate) fn contact_dto(
    it: firebreak_store::ContactMethod,
    secret: Option<String>,
) -> ContactDto {
    ContactDto {
        id: it.id,
        kind: it.kind,
        address: it.address,
        secret,
    }
}

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
        _ => return Err(ApiError::field("kind", "email or webhook")),
    };
    let created = state
        .store
        .create_contact_method(
            &person,
            (&body.kind, &address, secret.as_deref()),
            firebreak_store::clock::now(),
        )
        .await?;
    Ok(contact_dto(created, secret))
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
            other => other.into(),
        })?;
    Ok(RuleDto {
        id: created.id,
        contact_method: contact_dto(created.contact_method, None),
        delay_minutes: created.delay_minutes,
    })
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
