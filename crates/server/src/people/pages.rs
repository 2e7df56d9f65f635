//! Admin pages: people, API tokens, and the audit of private-incident reads.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use firebreak_core::Role;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::people::service::parse_new_token;
use crate::people::service::{CreateUser, PatchUser, create_person as create, patch_person};
use crate::ui::{Chrome, NoFields, UiForm, UiResult, Viewer, render, see_other};

pub struct PersonRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub time_zone: String,
    pub disabled: bool,
    pub n_sessions: usize,
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    chrome: Chrome,
    csrf: String,
    flash: Option<String>,
    people: Vec<PersonRow>,
    roles: Vec<String>,
}

fn admin(viewer: &Viewer) -> UiResult<()> {
    viewer.0.require(Role::Admin)?;
    Ok(())
}

pub async fn people(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    admin(&viewer)?;
    let now = firebreak_store::clock::now();
    let mut rows = Vec::new();
    for user in state.store.users().await? {
        let n_sessions = state.store.sessions(user.id, now).await?.len();
        rows.push(PersonRow {
            id: user.id.to_string(),
            name: user.name,
            email: user.email,
            role: user.role.as_str().to_string(),
            time_zone: user.time_zone,
            disabled: user.disabled_at.is_some(),
            n_sessions,
        });
    }
    Ok(render(&PeoplePage {
        chrome: viewer.chrome("people"),
        csrf: viewer.csrf(),
        flash: None,
        people: rows,
        roles: Role::ALL.iter().map(|it| it.as_str().to_string()).collect(),
    }))
}

#[derive(Deserialize)]
pub struct NewPersonForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    password: String,
}

pub async fn create_person(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields: form }: UiForm<NewPersonForm>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    create(
        &state,
        CreateUser {
            email: form.email,
            name: form.name,
            role: Some(form.role),
            time_zone: Some(form.time_zone),
            password: form.password,
        },
    )
    .await?;
    Ok(see_other("/people"))
}

#[derive(Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    disabled: String,
}

fn person_id(text: &str) -> UiResult<Uuid> {
    Ok(Uuid::parse_str(text).map_err(|_| ApiError::not_found("person"))?)
}

pub async fn update_person(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, fields: form }: UiForm<PersonForm>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let patch = PatchUser {
        role: Some(form.role),
        disabled: Some(form.disabled == "true"),
        ..Default::default()
    };
    patch_person(&state, &viewer.0, person_id(&id)?, patch).await?;
    Ok(see_other("/people"))
}

pub async fn sign_out_person(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, .. }: UiForm<NoFields>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    state
        .store
        .revoke_user_sessions(person_id(&id)?, firebreak_store::clock::now())
        .await?;
    Ok(see_other("/people"))
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub owner: String,
    pub scope: String,
    pub created: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    csrf: String,
    secret: Option<String>,
    tokens: Vec<TokenRow>,
    people: Vec<(String, String)>,
}

async fn tokens_page(
    state: &AppState,
    viewer: &Viewer,
    secret: Option<String>,
) -> UiResult<Response> {
    let lens = viewer.lens(state).await?;
    let tokens = state
        .store
        .tokens()
        .await?
        .into_iter()
        .map(|it| TokenRow {
            id: it.id.to_string(),
            name: it.name,
            owner: it
                .owner
                .map(|owner| format!("{} ({})", owner.name, owner.email))
                .unwrap_or_else(|| "— nobody (legacy)".into()),
            scope: it.scope.as_str().to_string(),
            created: lens.time(it.created_at),
            revoked: it.revoked_at.is_some(),
        })
        .collect();
    let mut people: Vec<(String, String)> = lens.names.clone().into_iter().collect();
    people.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(render(&TokensPage {
        chrome: viewer.chrome("tokens"),
        csrf: viewer.csrf(),
        secret,
        tokens,
        people,
    }))
}

pub async fn tokens(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    admin(&viewer)?;
    tokens_page(&state, &viewer, None).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    user: String,
}

/// Shows the new token on the answer page itself: it exists nowhere else in clear text.
pub async fn create_token(
    State(state): State<AppState>,
    viewer: Viewer,
    UiForm { csrf, fields: form }: UiForm<TokenForm>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let (name, scope) = parse_new_token(&form.name, &form.scope)?;
    let owner = state
        .store
        .user_by_email(&form.user)
        .await?
        .ok_or_else(|| ApiError::field("user", "no such person"))?;
    let created = state
        .store
        .create_token(&name, scope, Some(&owner), firebreak_store::clock::now())
        .await?;
    tokens_page(&state, &viewer, Some(created.secret)).await
}

pub async fn revoke_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    UiForm { csrf, .. }: UiForm<NoFields>,
) -> UiResult<Response> {
    viewer.may(&csrf, Role::Admin)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("token"))?;
    match state
        .store
        .revoke_token(id, firebreak_store::clock::now())
        .await
    {
        Ok(()) | Err(firebreak_store::StoreError::NotFound(_)) => {}
        Err(other) => return Err(other.into()),
    }
    state.tokens.clear();
    Ok(see_other("/tokens"))
}

pub struct ReadRow {
    pub when: String,
    pub actor: String,
    pub reference: String,
    pub what: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    reads: Vec<ReadRow>,
}

pub async fn audit(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    admin(&viewer)?;
    let lens = viewer.lens(&state).await?;
    let reads = state
        .store
        .private_reads(None, 500)
        .await?
        .into_iter()
        .map(|it| ReadRow {
            when: lens.time_with_seconds(it.at),
            actor: lens.person(&it.actor),
            reference: it.reference.to_string(),
            what: it.what,
        })
        .collect();
    Ok(render(&AuditPage {
        chrome: viewer.chrome("audit"),
        reads,
    }))
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    /// Each chat platform and whether it is connected (never its secrets).
    chat: Vec<(&'static str, String)>,
    /// SMS, voice and push: configured or not, and where the provider must call back.
    wake: Vec<(&'static str, String)>,
    rows: Vec<(String, String)>,
}

/// What the settings page says about each wake-up channel (never its secrets).
fn wake_state(settings: &crate::settings::Settings) -> Vec<(&'static str, String)> {
    let base = settings.base_url();
    let paging = &settings.paging;
    let phone = |it: &crate::settings::PhoneSettings, callback: String| {
        if it.enabled() {
            format!(
                "on, account {} at {}, from {}; {callback}",
                it.account_sid,
                it.api_base_url,
                if it.from.is_empty() {
                    &it.messaging_service_sid
                } else {
                    &it.from
                }
            )
        } else {
            "off ([paging.{}] account_sid is not set)".to_string()
        }
    };
    vec![
        (
            "SMS",
            phone(
                &paging.sms,
                format!("set the number's incoming-message webhook to POST {base}/integrations/twilio/sms"),
            )
            .replace("[paging.{}]", "[paging.sms]"),
        ),
        (
            "Phone calls",
            phone(
                &paging.voice,
                format!("calls fetch their words from {base}/integrations/twilio/voice (must be reachable)"),
            )
            .replace("[paging.{}]", "[paging.voice]"),
        ),
        (
            "Push (ntfy)",
            if paging.ntfy.server_url.is_empty() {
                "off ([paging.ntfy] server_url is not set)".to_string()
            } else {
                format!(
                    "on, {}; buttons call {base}/integrations/ntfy/…",
                    paging.ntfy.server_url
                )
            },
        ),
    ]
}

/// `key.path = value` rows of a settings tree.
fn flatten(prefix: &str, value: &serde_json::Value, rows: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, child, rows);
            }
        }
        serde_json::Value::Array(items) => {
            let text: Vec<String> = items
                .iter()
                .map(|it| it.as_str().map_or_else(|| it.to_string(), String::from))
                .collect();
            rows.push((prefix.to_string(), text.join(", ")));
        }
        serde_json::Value::String(text) => rows.push((prefix.to_string(), text.clone())),
        other => rows.push((prefix.to_string(), other.to_string())),
    }
}

pub async fn settings(State(state): State<AppState>, viewer: Viewer) -> UiResult<Response> {
    admin(&viewer)?;
    // Secrets (passwords, tokens, signing keys, the database password) serialize as `•••`.
    let settings = &*state.settings;
    let tree = serde_json::to_value(settings).map_err(ApiError::internal)?;
    let mut rows = Vec::new();
    flatten("", &tree, &mut rows);
    Ok(render(&SettingsPage {
        chrome: viewer.chrome("settings"),
        chat: crate::chat::service::connections(&state).await,
        wake: wake_state(settings),
        rows,
    }))
}
