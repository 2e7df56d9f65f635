//! Sign-in and sign-out pages.
//!
//! The sign-in form is protected against login CSRF by a double-submit cookie: the form's
//! hidden token must equal a cookie only this site could have set.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Chrome, ClientIp, UiError, UiForm, UiResult, Viewer, render, see_other};
use crate::AppState;
use crate::auth::{SESSION_COOKIE, SESSION_LIFETIME, cookie, identify, verify_password};
use crate::error::ApiError;

const LOGIN_COOKIE: &str = "fb_login";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only local paths, so a link cannot bounce a fresh session to another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

fn secure(state: &AppState) -> &'static str {
    if state.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

fn random_token() -> UiResult<String> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(ApiError::internal)?;
    Ok(hex::encode(random))
}

fn login_page(
    state: &AppState,
    status: StatusCode,
    next: String,
    email: String,
    error: Option<String>,
) -> UiResult<Response> {
    let csrf = random_token()?;
    let mut response = render(&LoginPage {
        chrome: Chrome::anonymous("login"),
        csrf: csrf.clone(),
        next,
        email,
        error,
    });
    *response.status_mut() = status;
    let cookie = format!(
        "{LOGIN_COOKIE}={csrf}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        secure(state)
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> UiResult<Response> {
    let next = safe_next(query.next.as_deref());
    if identify(&state, &headers).await.ok().flatten().is_some() {
        return Ok(see_other(&next));
    }
    login_page(&state, StatusCode::OK, next, String::new(), None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    UiForm { csrf, fields: form }: UiForm<LoginForm>,
) -> UiResult<Response> {
    let next = safe_next(form.next.as_deref());
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if csrf.is_empty() || expected != csrf {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "the sign-in form expired; open the sign-in page again",
        )
        .into());
    }
    let email = form.email.trim().to_lowercase();
    let now = firebreak_store::clock::now();
    let mut keys = vec![format!("email:{email}")];
    if let Some(ip) = ip {
        keys.push(format!("ip:{ip}"));
    }
    if let Some(until) = state.logins.blocked_until(&keys, now) {
        let wait = firebreak_core::board::duration_in_words(until.duration_since(now));
        let mut response = login_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            email,
            Some(format!(
                "Too many failed sign-ins. Try again in {wait}, or ask an admin to reset your password."
            )),
        )?;
        let seconds = until.duration_since(now).as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&seconds) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let found = state.store.credentials(&email).await?;
    let password = form.password;
    let (user, verified) = match found {
        Some((user, hash)) => {
            let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .map_err(ApiError::internal)?;
            (Some(user), ok)
        }
        None => {
            // Spend the same time as a real check, so timing does not reveal who exists.
            let _ =
                tokio::task::spawn_blocking(move || verify_password(&password, dummy_hash())).await;
            (None, false)
        }
    };
    let user = match user {
        Some(user) if verified && user.disabled_at.is_none() => user,
        _ => {
            state.logins.failed(&keys, now);
            return login_page(
                &state,
                StatusCode::UNAUTHORIZED,
                next,
                email,
                Some("That email and password do not match an active account.".into()),
            );
        }
    };
    state.logins.succeeded(&keys[0]);
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|it| it.to_str().ok())
        .unwrap_or("");
    let session = state
        .store
        .create_session(user.id, agent, SESSION_LIFETIME, now)
        .await?;
    let mut response = see_other(&next);
    let cookies = [
        format!(
            "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
            session.secret,
            SESSION_LIFETIME.as_secs(),
            secure(&state)
        ),
        format!("{LOGIN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    ];
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// A real Argon2id hash of a throwaway password, so unknown emails cost a real verification.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        crate::auth::hash_password("no account has this password").unwrap_or_default()
    })
}

pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, .. }: UiForm<super::NoFields>,
) -> UiResult<Response> {
    viewer.may(&csrf, firebreak_core::Role::Viewer)?;
    if let Some(session) = viewer.0.session() {
        match state
            .store
            .revoke_session(session.id, firebreak_store::clock::now())
            .await
        {
            Ok(()) | Err(firebreak_store::StoreError::NotFound(_)) => {}
            Err(other) => return Err(UiError::from(other)),
        }
    }
    let mut response = see_other("/login");
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response.into_response())
}
