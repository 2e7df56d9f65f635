//! Your own account: name, time zone, password.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Chrome, UiForm, UiResult, Viewer, render, see_other};
use crate::AppState;
use crate::api::people::{PatchUser, patch_person};
use crate::auth::verify_password;
use crate::error::ApiError;

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
}

fn person(viewer: &Viewer) -> UiResult<&firebreak_store::User> {
    Ok(viewer
        .0
        .user
        .as_ref()
        .ok_or_else(|| ApiError::not_found("account for this token"))?)
}

pub async fn page(viewer: Viewer) -> UiResult<Response> {
    let user = person(&viewer)?;
    Ok(render(&AccountPage {
        chrome: viewer.chrome("account"),
        csrf: viewer.csrf(),
        flash: None,
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
