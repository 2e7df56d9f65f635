//! Subscribing to the status page: an email form on the page (double opt-in: the
//! confirmation link leads to a button, so mail scanners that follow links confirm nothing),
//! and one-click unsubscribe from every message.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use firebreak_store::{NewSubscription, StoreError};
use serde::Deserialize;

use crate::AppState;

#[derive(Template)]
#[template(path = "status_message.html")]
struct MessagePage<'a> {
    title: &'a str,
    heading: &'a str,
    message: String,
    form: Option<(&'a str, String, &'a str)>,
}

fn page(state: &AppState, status: StatusCode, heading: &str, message: String) -> Response {
    page_with_form(state, status, heading, message, None)
}

fn page_with_form(
    state: &AppState,
    status: StatusCode,
    heading: &str,
    message: String,
    form: Option<(&str, String, &str)>,
) -> Response {
    let html = MessagePage {
        title: &state.settings.status_page.title,
        heading,
        message,
        form,
    }
    .render()
    .unwrap_or_default();
    (status, Html(html)).into_response()
}

/// `POST /status/subscribe`: `email`, and `component:<id>` for each chosen component (none:
/// all of them).
pub async fn subscribe(
    State(state): State<AppState>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Response {
    let Some(email) = fields
        .get("email")
        .and_then(|it| firebreak_core::person::parse_email(it))
    else {
        return page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "That is not an email address",
            "Go back and check the address.".into(),
        );
    };
    let components: Vec<String> = fields
        .keys()
        .filter_map(|key| key.strip_prefix("component:").map(String::from))
        .collect();
    let new = NewSubscription {
        kind: "email".into(),
        address: email.clone(),
        components,
        secret: None,
        confirmed: false,
    };
    match state
        .store
        .add_subscriber(new, firebreak_store::clock::now())
        .await
    {
        Ok(_) => page(
            &state,
            StatusCode::OK,
            "Check your inbox",
            format!(
                "We sent a confirmation link to {email}. Nothing else is sent until you follow it."
            ),
        ),
        Err(StoreError::Conflict(_)) => page(
            &state,
            StatusCode::OK,
            "Already subscribed",
            format!("{email} already gets our updates."),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "subscribe failed");
            page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again later",
                "We could not record the subscription just now.".into(),
            )
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The confirmation link: a button, so that only a person confirms.
pub async fn confirm_form(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> Response {
    page_with_form(
        &state,
        StatusCode::OK,
        "Confirm your subscription",
        "One more step: press the button to start getting updates.".into(),
        Some(("/status/subscriptions/confirm", query.token, "Confirm")),
    )
}

pub async fn confirm(State(state): State<AppState>, Form(form): Form<TokenQuery>) -> Response {
    match state
        .store
        .confirm_subscription(&form.token, firebreak_store::clock::now())
        .await
    {
        Ok(email) => page(
            &state,
            StatusCode::OK,
            "Subscribed",
            format!(
                "{email} will get our updates. Every message has a one-click unsubscribe link."
            ),
        ),
        Err(StoreError::NotFound(_)) => page(
            &state,
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "It may have been used already. Subscribe again from the status page.".into(),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "confirm failed");
            page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again later",
                String::new(),
            )
        }
    }
}

/// The unsubscribe link shows a button; the button (or a one-click POST from a mail client)
/// unsubscribes.
pub async fn unsubscribe_form(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> Response {
    page_with_form(
        &state,
        StatusCode::OK,
        "Unsubscribe",
        "Press the button to stop getting updates.".into(),
        Some(("/status/unsubscribe", query.token, "Unsubscribe")),
    )
}

pub async fn unsubscribe(State(state): State<AppState>, Form(form): Form<TokenQuery>) -> Response {
    match state
        .store
        .unsubscribe(&form.token, firebreak_store::clock::now())
        .await
    {
        Ok(email) => page(
            &state,
            StatusCode::OK,
            "Unsubscribed",
            format!("{email} will get no more updates."),
        ),
        Err(StoreError::NotFound(_)) => page(
            &state,
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Nothing was changed.".into(),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "unsubscribe failed");
            page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again later",
                String::new(),
            )
        }
    }
}
