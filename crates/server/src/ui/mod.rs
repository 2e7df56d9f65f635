//! The web UI: server-rendered pages (askama) whose forms all work without JavaScript, and
//! one small script for the live timeline and countdowns.
//!
//! Pages authenticate with the session cookie (or a bearer token); every POST checks the
//! session's CSRF token. Errors are pages, not JSON: 401 sends the browser to sign in,
//! 404 and 403 say what happened in words.

mod login;
pub(crate) mod views;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use firebreak_core::Role;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::auth::{Caller, identify};
use crate::error::ApiError;
use crate::followups::pages as followups;
use crate::incidents::{pages as incidents, room};
use crate::insights::pages as insights;
use crate::oncall::pages as oncall;
use crate::paging::{alert_pages as alerts, service_pages as services};
use crate::people::{account, pages as admin};
use crate::postmortems::pages as postmortem;
use crate::status_page::admin as status_admin;
use crate::workflow::pages as workflow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(incidents::dashboard))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/incidents", get(incidents::list).post(incidents::declare))
        .route("/incidents/new", get(incidents::declare_form))
        .route("/incidents/{key}", get(room::room))
        .route("/incidents/{key}/head", get(room::head))
        .route("/incidents/{key}/live", get(room::live))
        .route("/incidents/{key}/print", get(room::print))
        .route("/incidents/{key}/export.md", get(room::export_markdown))
        .route("/incidents/{key}/export.json", get(room::export_json))
        .route("/incidents/{key}/update", post(room::post_update))
        .route("/incidents/{key}/note", post(room::post_note))
        .route("/incidents/{key}/take-lead", post(room::take_lead))
        .route("/incidents/{key}/role", post(room::assign_role))
        .route("/incidents/{key}/change", post(room::change))
        .route("/incidents/{key}/member", post(room::add_member))
        .route("/incidents/{key}/freeze", post(room::freeze))
        .route("/incidents/{key}/channel", post(room::open_channel))
        .route("/incidents/{key}/call", post(room::set_call))
        .route("/incidents/{key}/chat/retry", post(room::retry_chat))
        .route("/incidents/{key}/presence", post(room::presence))
        .route("/incidents/{key}/stakeholders", post(room::stakeholder))
        .route(
            "/incidents/{key}/postmortem",
            get(postmortem::page).post(postmortem::save),
        )
        .route("/incidents/{key}/postmortem/draft", post(postmortem::draft))
        .route(
            "/incidents/{key}/retrospective",
            post(postmortem::retrospective),
        )
        .route("/incidents/{key}/postmortem/share", post(postmortem::share))
        .route("/incidents/{key}/followups", post(followups::add))
        .route("/followups", get(followups::page))
        .route("/postmortems", get(crate::postmortems::pages::list))
        .route(
            "/services",
            get(services::page).post(services::create_service),
        )
        .route("/services/policies", post(services::save_policy_form))
        .route("/services/policies/form", post(services::save_policy_steps))
        .route("/services/teams", post(services::create_team))
        .route("/services/silences", post(services::create_silence))
        .route("/services/silences/{id}/end", post(services::end_silence))
        .route("/services/{id}/keys", post(services::create_key))
        .route("/services/{id}/edit", post(services::edit_service))
        .route(
            "/services/{id}/keys/{key_id}/revoke",
            post(services::revoke_key),
        )
        .route("/alerts", get(alerts::page))
        .route("/alerts/{id}", get(alerts::show).post(alerts::act))
        .route("/oncall", get(oncall::page))
        // The API and the CLI call them schedules; the page is On call.
        .route(
            "/schedules",
            get(|| async { axum::response::Redirect::permanent("/oncall") }),
        )
        .route("/oncall/schedules", post(oncall::apply))
        .route("/oncall/form", post(oncall::save_form))
        .route("/oncall/feed", post(oncall::feed))
        .route("/oncall/{id}/overrides", post(oncall::add_override))
        .route(
            "/oncall/{id}/overrides/{override_id}/delete",
            post(oncall::delete_override),
        )
        .route("/insights", get(insights::page))
        .route("/followups/{id}", post(followups::set_status))
        .route(
            "/incidents/{key}/postmortem/status",
            post(postmortem::set_status),
        )
        .route(
            "/incidents/{key}/postmortem/revisions/{n}",
            get(postmortem::revision),
        )
        .route("/incidents/{key}/tasks", post(room::add_task))
        .route("/incidents/{key}/tasks/{number}", post(room::task_step))
        .route("/incidents/{key}/actions", post(room::propose_action))
        .route("/incidents/{key}/actions/{number}", post(room::action_step))
        .route("/people", get(admin::people).post(admin::create_person))
        .route(
            "/import",
            get(crate::imports::pages::page)
                .post(crate::imports::pages::submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::imports::MAX_ACCOUNT_BYTES,
                )),
        )
        .route("/people/{id}", post(admin::update_person))
        .route("/people/{id}/sign-out", post(admin::sign_out_person))
        .route("/tokens", get(admin::tokens).post(admin::create_token))
        .route("/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/audit", get(admin::audit))
        .route("/settings", get(admin::settings))
        .route("/status-page", get(status_admin::page))
        .route("/status-page/components", post(status_admin::add_component))
        .route(
            "/status-page/components/{id}",
            post(status_admin::set_component),
        )
        .route("/status-page/incidents", post(status_admin::publish))
        .route(
            "/status-page/incidents/{id}/updates",
            post(status_admin::update),
        )
        .route("/workflow", get(workflow::page))
        .route("/workflow/rules", post(workflow::save_rule))
        .route("/workflow/playbooks", post(workflow::save_playbook))
        .route("/workflow/{kind}/{name}/delete", post(workflow::delete))
        .route("/account", get(account::page).post(account::save))
        .route("/account/password", post(account::change_password))
        .route("/account/paging", post(account::paging))
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
}

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        CSS,
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        JS,
    )
}

/// A page's answer when something is wrong.
pub enum UiError {
    /// Not signed in: go to the sign-in page, then come back.
    SignIn {
        next: String,
    },
    Api(ApiError),
}

impl<E: Into<ApiError>> From<E> for UiError {
    fn from(err: E) -> Self {
        UiError::Api(err.into())
    }
}

pub type UiResult<T> = Result<T, UiError>;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    heading: String,
    message: String,
    fields: Vec<(String, String)>,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn { next } => {
                let target = format!("/login?next={}", encode_component(&next));
                Redirect::to(&target).into_response()
            }
            UiError::Api(err) => {
                if err.status == StatusCode::UNAUTHORIZED {
                    return Redirect::to("/login").into_response();
                }
                if let Some(internal) = &err.internal {
                    tracing::error!(error = %internal, "page failed");
                }
                let heading = match err.status {
                    StatusCode::NOT_FOUND => "Not found".to_string(),
                    StatusCode::FORBIDDEN => "Not allowed".to_string(),
                    StatusCode::TOO_MANY_REQUESTS => "Too many attempts".to_string(),
                    status if status.is_client_error() => "That did not work".to_string(),
                    _ => "Something went wrong".to_string(),
                };
                let page = ErrorPage {
                    chrome: Chrome::anonymous(""),
                    heading,
                    message: err.message.clone(),
                    fields: err.fields.into_iter().collect(),
                };
                (err.status, render(&page)).into_response()
            }
        }
    }
}

/// Percent-encodes a path for a query parameter.
pub(crate) fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// The signed-in person on a page.
pub struct Me {
    pub name: String,
    pub role: String,
    pub csrf: String,
    pub can_act: bool,
    pub is_admin: bool,
}

/// What every page's frame needs: who is signed in and which section is open.
pub struct Chrome {
    pub me: Option<Me>,
    pub section: &'static str,
}

impl Chrome {
    pub fn anonymous(section: &'static str) -> Chrome {
        Chrome { me: None, section }
    }
}

/// A signed-in caller of a page; anyone else is sent to sign in.
pub struct Viewer(pub Caller);

impl Viewer {
    pub fn chrome(&self, section: &'static str) -> Chrome {
        let caller = &self.0;
        Chrome {
            me: Some(Me {
                name: caller.display_name(),
                role: caller.role.as_str().to_string(),
                csrf: self.csrf(),
                can_act: caller.role.allows(Role::Responder),
                is_admin: caller.role.allows(Role::Admin),
            }),
            section,
        }
    }

    /// A page form may act: its CSRF token is this session's, and the caller has `role`.
    /// The CSRF check comes first, so a forged form learns nothing about roles.
    pub fn may(&self, csrf: &str, role: Role) -> UiResult<()> {
        self.0.check_csrf(Some(csrf))?;
        self.0.require(role)?;
        Ok(())
    }

    pub fn csrf(&self) -> String {
        self.0
            .session()
            .map(|it| it.csrf_token.clone())
            .unwrap_or_default()
    }

    pub fn zone(&self) -> String {
        self.0
            .user
            .as_ref()
            .map(|it| it.time_zone.clone())
            .unwrap_or_else(|| "UTC".to_string())
    }

    /// The reader's lens: their time zone and everyone's names.
    pub async fn lens(&self, state: &AppState) -> UiResult<views::Lens> {
        let names: HashMap<String, String> = state
            .store
            .users()
            .await?
            .into_iter()
            .map(|it| (it.email, it.name))
            .collect();
        Ok(views::Lens::new(&self.zone(), names))
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> UiResult<Self> {
        match identify(state, &parts.headers).await {
            Ok(Some(caller)) => Ok(Viewer(caller)),
            Ok(None) => Err(UiError::SignIn {
                next: parts
                    .uri
                    .path_and_query()
                    .map(|it| it.as_str().to_string())
                    .unwrap_or_else(|| "/".into()),
            }),
            Err(err) => Err(err.into()),
        }
    }
}

/// A page form: the CSRF token every page form carries, and its other fields.
pub struct UiForm<T> {
    pub csrf: String,
    pub fields: T,
}

#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

/// A form with nothing but its CSRF token (a button).
#[derive(Deserialize)]
pub struct NoFields {}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for UiForm<T> {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &S) -> UiResult<Self> {
        match axum::Form::<WithCsrf<T>>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(UiForm {
                csrf: value.csrf,
                fields: value.fields,
            }),
            Err(rejection) => Err(UiError::Api(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_form",
                format!("the form could not be read: {}", rejection.body_text()),
            ))),
        }
    }
}

/// The client's address, when the server knows it (for sign-in throttling).
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|it| it.0.ip()),
        ))
    }
}

/// After a successful POST: back to a page with GET (so reload does not resubmit).
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}
