//! Your own account: name, time zone, password.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::AppState;
use crate::auth::verify_password;
use crate::error::ApiError;
use crate::people::service::{PatchUser, patch_person};
use crate::ui::{Chrome, UiForm, UiResult, Viewer, render, see_other};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    csrf: String,
    flash: Option<String>,
    email: String,
    role: String,
    name: String,
    time_zone: String,
    /// (id, kind, address, state in words, waits for a code).
    contacts: Vec<(String, String, String, String, bool)>,
    /// (id, "after 5 min by webhook https://…").
    rules: Vec<(String, String)>,
}

fn person(viewer: &Viewer) -> UiResult<&firebreak_store::User> {
    Ok(viewer
        .0
        .user
        .as_ref()
        .ok_or_else(|| ApiError::not_found("account for this token"))?)
}

pub async fn page(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    render_page(&state, &viewer, None).await
}

async fn render_page(
    state: &AppState,
    viewer: &Viewer,
    flash: Option<String>,
) -> UiResult<Response> {
    let user = person(viewer)?;
    let contacts = state
        .store
        .contact_methods(&user.email)
        .await?
        .into_iter()
        .map(|it| {
            let dto = crate::paging::service::contact_dto(it, None);
            let state = match (&dto.failure, dto.stopped, dto.verified) {
                (Some(failure), _, _) => format!("cannot be reached: {failure}"),
                (None, true, _) => "stopped: text START to the paging number".to_string(),
                (None, false, false) => "not verified yet".to_string(),
                (None, false, true) => String::new(),
            };
            let waits = !dto.verified || dto.failure.is_some();
            let phone = matches!(dto.kind.as_str(), "sms" | "voice" | "push");
            (dto.id, dto.kind, dto.address, state, waits && phone)
        })
        .collect();
    let rules = state
        .store
        .notification_rules(&user.email)
        .await?
        .into_iter()
        .map(|it| {
            let when = if it.delay_minutes == 0 {
                "at once".to_string()
            } else {
                format!("after {} min", it.delay_minutes)
            };
            (
                it.id,
                format!(
                    "{when} by {} {}",
                    it.contact_method.kind, it.contact_method.address
                ),
            )
        })
        .collect();
    Ok(render(&AccountPage {
        contacts,
        rules,
        chrome: viewer.chrome("account"),
        csrf: viewer.csrf(),
        flash,
        email: user.email.clone(),
        role: user.role.as_str().to_string(),
        name: user.name.clone(),
        time_zone: user.time_zone.clone(),
    }))
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    time_zone: String,
}

pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields: form }: UiForm<ProfileForm>,
) -> UiResult<Response> {
    viewer.may(&csrf, firebreak_core::Role::Viewer)?;
    let id = person(&viewer)?.id;
    let patch = PatchUser {
        name: Some(form.name),
        time_zone: Some(form.time_zone),
        ..Default::default()
    };
    patch_person(&state, &viewer.0, id, patch).await?;
    Ok(see_other("/account"))
}

/// Adds a contact method (and verifies a phone number), a rule, or removes one (`action`:
/// contact, send-code, verify, rule, delete-contact, delete-rule) — through the same functions as the API.
pub async fn paging(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields }: UiForm<std::collections::BTreeMap<String, String>>,
) -> UiResult<Response> {
    viewer.may(&csrf, firebreak_core::Role::Viewer)?;
    let field = |name: &str| {
        fields
            .get(name)
            .map(|it| it.trim().to_string())
            .unwrap_or_default()
    };
    let email = person(&viewer)?.email.clone();
    let flash = match field("action").as_str() {
        "contact" => {
            let body = crate::paging::service::ContactBody {
                kind: field("kind"),
                address: field("address"),
                secret: None,
            };
            let created = crate::paging::service::contact(&state, &viewer.0, &body).await?;
            match (created.secret, created.subscribe) {
                (Some(secret), _) => Some(format!(
                    "Your webhook's pages are signed with this secret (shown once): {secret}"
                )),
                (None, Some(subscribe)) => Some(format!(
                    "Subscribe to this topic in the ntfy app (shown once; anyone who knows it can read your pages): {subscribe} — then send a code to it and type it back below."
                )),
                (None, None) if !created.verified => Some(format!(
                    "Added {}. Send a code to it and type it back below to verify it.",
                    created.address
                )),
                (None, None) => None,
            }
        }
        "send-code" => {
            let sent = crate::paging::service::send_code(&state, &viewer.0, &field("id")).await?;
            Some(format!(
                "A code was sent to {}; it works for 15 minutes.",
                sent.address
            ))
        }
        "verify" => {
            let body = crate::paging::service::VerifyBody {
                code: field("code"),
            };
            let done =
                crate::paging::service::verify(&state, &viewer.0, &field("id"), &body).await?;
            Some(format!("{} {} is verified.", done.kind, done.address))
        }
        "rule" => {
            let body = crate::paging::service::RuleBody {
                contact_method: field("contact_method"),
                delay_minutes: field("delay_minutes")
                    .parse()
                    .map_err(|_| ApiError::field("delay_minutes", "a number of minutes"))?,
            };
            crate::paging::service::rule(&state, &viewer.0, &body).await?;
            None
        }
        "delete-contact" => {
            state
                .store
                .delete_contact_method(&email, &field("id"))
                .await
                .map_err(crate::paging::service::not_found("contact method"))?;
            None
        }
        "delete-rule" => {
            state
                .store
                .delete_notification_rule(&email, &field("id"))
                .await
                .map_err(crate::paging::service::not_found("notification rule"))?;
            None
        }
        _ => {
            return Err(ApiError::field(
                "action",
                "contact, send-code, verify, rule, delete-contact or delete-rule",
            )
            .into());
        }
    };
    match flash {
        Some(flash) => render_page(&state, &viewer, Some(flash)).await,
        None => Ok(see_other("/account#paging")),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields: form }: UiForm<PasswordForm>,
) -> UiResult<Response> {
    viewer.may(&csrf, firebreak_core::Role::Viewer)?;
    let user = person(&viewer)?;
    let (_, hash) = state
        .store
        .credentials(&user.email)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let current = form.current;
    let matches = tokio::task::spawn_blocking(move || verify_password(&current, &hash))
        .await
        .map_err(ApiError::internal)?;
    if !matches {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "your current password is not that; nothing was changed",
        )
        .into());
    }
    let patch = PatchUser {
        password: Some(form.password),
        ..Default::default()
    };
    patch_person(&state, &viewer.0, user.id, patch).await?;
    Ok(see_other("/login"))
}
