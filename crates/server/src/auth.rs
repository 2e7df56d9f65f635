//! Who is calling — an API token or a browser session — and what they may do; passwords,
//! CSRF tokens and sign-in throttling.
//!
//! A token acts as the person who owns it, never beyond its own scope. A browser session is
//! a random cookie stored hashed in the database; every state-changing request made with it
//! must also carry the session's CSRF token (a hidden form field, or `X-CSRF-Token`).

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use firebreak_core::throttle::Throttle;
use firebreak_core::{Access, Role};
use firebreak_store::{Session, User};
use jiff::{SignedDuration, Timestamp};

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "fb_session";
/// A session ends a week after sign-in (or earlier, at sign-out or revocation).
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(7 * 24);
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// How the caller proved who they are.
#[derive(Clone, Debug)]
pub enum Via {
    Token {
        name: String,
    },
    Session(Session),
    /// A chat user (`platform`, their id there) linked to a person; a signed chat request or
    /// the platform's own authenticated stream vouches for it.
    Chat {
        platform: String,
        user: String,
    },
}

#[derive(Clone, Debug)]
pub struct Caller {
    /// The person; `None` only for a token made before people existed.
    pub user: Option<User>,
    pub role: Role,
    pub via: Via,
}

impl Caller {
    /// 403 unless the caller's role covers `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "this needs the {} role; you act as {}",
                    needed.as_str(),
                    self.role.as_str()
                ),
            ))
        }
    }

    pub fn access(&self) -> Access {
        Access::for_caller(self.role, self.user.as_ref().map(|it| it.email.as_str()))
    }

    /// How the caller appears in timelines, roles and memberships: the person's email.
    pub fn actor(&self) -> String {
        match (&self.user, &self.via) {
            (Some(user), _) => user.email.clone(),
            (None, Via::Token { name }) => format!("token:{name}"),
            (None, Via::Session(_)) => "unknown".to_string(),
            (None, Via::Chat { platform, user }) => format!("{platform}:{user}"),
        }
    }

    pub fn session(&self) -> Option<&Session> {
        match &self.via {
            Via::Session(session) => Some(session),
            Via::Token { .. } | Via::Chat { .. } => None,
        }
    }

    /// 403 unless `sent` is this session's CSRF token. Token callers have nothing to check:
    /// a browser never sends an `Authorization` header on its own.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), ApiError> {
        match &self.via {
            Via::Token { .. } | Via::Chat { .. } => Ok(()),
            Via::Session(session) => {
                if sent.is_some_and(|it| constant_time_eq(it, &session.csrf_token)) {
                    Ok(())
                } else {
                    Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "csrf_failed",
                        "this form has expired or did not come from Firebreak; reload the page and try again",
                    ))
                }
            }
        }
    }

    pub fn display_name(&self) -> String {
        match &self.user {
            Some(user) => user.name.clone(),
            None => self.actor(),
        }
    }
}

fn constant_time_eq(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|it| it.to_str().ok())
        .flat_map(|it| it.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(header) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    header
        .to_str()
        .ok()
        .and_then(|it| {
            it.strip_prefix("Bearer ")
                .or_else(|| it.strip_prefix("bearer "))
        })
        .map(|it| Some(it.trim()))
        .ok_or_else(|| unauthorized("the Authorization header must be: Bearer fbk_…"))
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The caller behind a request: a bearer token, else a session cookie; `None` for nobody.
pub async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, ApiError> {
    if let Some(secret) = bearer(headers)? {
        let token = state
            .tokens
            .authenticate(&state.store, secret)
            .await?
            .ok_or_else(|| unauthorized("this token is unknown or revoked"))?;
        let role = Role::effective(token.owner.as_ref().map(|it| it.role), Some(token.scope));
        return Ok(Some(Caller {
            user: token.owner,
            role,
            via: Via::Token { name: token.name },
        }));
    }
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let now = firebreak_store::clock::now();
    Ok(state
        .store
        .session(secret, now)
        .await?
        .map(|(session, user)| Caller {
            role: user.role,
            user: Some(user),
            via: Via::Session(session),
        }))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = identify(state, &parts.headers).await?.ok_or_else(|| {
            unauthorized("send an API token (Authorization: Bearer fbk_…) or sign in")
        })?;
        // A session may call the API from the browser, but a change needs the CSRF header.
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|it| it.to_str().ok());
            caller.check_csrf(sent)?;
        }
        Ok(caller)
    }
}

/// Argon2id with the crate's default (OWASP) parameters, in the PHC string format.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(ApiError::internal)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// Runs the CPU-heavy hash off the async workers.
pub async fn hash_password_blocking(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
}

/// Failed sign-ins per email and per client address, in memory. A restart forgets them,
/// which is fine: the limit is there to make guessing slow, not to keep a record.
pub struct LoginThrottle {
    throttle: Throttle,
    failures: Mutex<HashMap<String, Vec<Timestamp>>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            throttle: Throttle {
                max_failures: 5,
                window: SignedDuration::from_mins(15),
            },
            failures: Mutex::default(),
        }
    }
}

impl LoginThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Timestamp>>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Some(when)` if any of `keys` must wait.
    pub fn blocked_until(&self, keys: &[String], now: Timestamp) -> Option<Timestamp> {
        let mut failures = self.lock();
        keys.iter()
            .filter_map(|key| {
                let entry = failures.get_mut(key)?;
                // An address may try a few accounts: four times the per-email allowance.
                let throttle = if key.starts_with("ip:") {
                    Throttle {
                        max_failures: self.throttle.max_failures * 4,
                        ..self.throttle
                    }
                } else {
                    self.throttle
                };
                throttle.check(entry, now)
            })
            .max()
    }

    pub fn failed(&self, keys: &[String], now: Timestamp) {
        let mut failures = self.lock();
        if failures.len() > 100_000 {
            failures.clear();
        }
        for key in keys {
            failures.entry(key.clone()).or_default().push(now);
        }
    }

    pub fn succeeded(&self, email_key: &str) {
        self.lock().remove(email_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; fb_session=abc; fb_session_x=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn csrf_comparison() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
