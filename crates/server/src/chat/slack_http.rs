//! Slack's HTTP transport: `/chat/slack/commands`, `/chat/slack/events` and
//! `/chat/slack/interactions`. Every request is verified on its raw body (HMAC with the
//! signing secret, five-minute window) before it is parsed; events are deduplicated by
//! `event_id` (Slack retries a slow answer) and answered at once, the work done after; a slash
//! command or a button answers within Slack's three seconds, the person hearing back by an
//! ephemeral message.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use firebreak_core::chat::{self, ChatCommand};
use firebreak_core::command::Entry;
use firebreak_core::{Command, Incident, Reference};
use firebreak_integrations::chat::slack::{self, Slack};
use firebreak_integrations::chat::slack_in::{
    self, Event, Inbound, Interaction, Pin, Reaction, SlashCommand,
};
use firebreak_store::IncidentKey;
use serde_json::{Value, json};

use super::service::{self, Typed};
use crate::AppState;
use crate::auth::{Caller, Via};

const PLATFORM: &str = "slack";

pub fn router() -> axum::Router<AppState> {
    use axum::routing::post;
    axum::Router::new()
        .route("/chat/slack/commands", post(commands))
        .route("/chat/slack/events", post(events))
        .route("/chat/slack/interactions", post(interactions))
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// The Slack client, after checking the request's signature; `Err` is the answer to give.
fn verified<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<&'a Arc<Slack>, (StatusCode, String)> {
    let Some(slack) = &state.chat.slack else {
        return Err((StatusCode::NOT_FOUND, "Slack is not configured here".into()));
    };
    let secret = state.settings.chat.slack.signing_secret.expose();
    if secret.is_empty() {
        return Err((
            StatusCode::UNAUTHORIZED,
            "[chat.slack] signing_secret is not set, so no request from Slack can be trusted"
                .into(),
        ));
    }
    let header = |name: &str| headers.get(name).and_then(|it| it.to_str().ok());
    slack::verify(
        secret,
        header("X-Slack-Request-Timestamp"),
        header("X-Slack-Signature"),
        body,
        firebreak_store::clock::now().as_second(),
    )
    .map_err(|err| (StatusCode::UNAUTHORIZED, err.to_string()))?;
    Ok(slack)
}

async fn person(state: &AppState, slack: &Slack, user: &str) -> Option<firebreak_store::User> {
    let email = slack.email_of(user).await.ok()??;
    service::person_by_email(state, &email).await
}

async fn incident_of_channel(state: &AppState, channel: &str) -> Option<Incident> {
    let found = state
        .store
        .chat_channel_by_remote(PLATFORM, channel)
        .await
        .ok()??;
    let id = uuid::Uuid::parse_str(&found.incident_id).ok()?;
    state.store.incident(IncidentKey::Id(id)).await.ok()
}

async fn incident_by_reference(state: &AppState, text: &str) -> Option<Incident> {
    let reference = Reference::parse(text)?;
    state
        .store
        .incident(IncidentKey::Reference(reference))
        .await
        .ok()
}

fn ephemeral(text: &str) -> Response {
    Json(json!({"response_type": "ephemeral", "text": text})).into_response()
}

/// Runs a chat command for `user`, answering within Slack's three seconds: the answer
/// itself, or "working on it" and the answer later as an ephemeral message.
async fn answer(
    state: &AppState,
    slack: &Arc<Slack>,
    (user, channel): (&str, &str),
    incident: Option<Incident>,
    command: ChatCommand,
) -> String {
    let (state, slack) = (state.clone(), slack.clone());
    let (user, channel) = (user.to_string(), channel.to_string());
    let (tell, told) = tokio::sync::oneshot::channel::<String>();
    tokio::spawn(async move {
        let typed = Typed {
            platform: PLATFORM,
            user: &user,
            person: person(&state, &slack, &user).await,
            incident,
        };
        let said = match service::run(&state, typed, command).await {
            Ok(text) => text,
            Err(why) => format!("Not done: {why}"),
        };
        // Nobody waits any more (past the three seconds): say it in the channel, to them.
        if let Err(said) = tell.send(said)
            && !channel.is_empty()
            && let Err(err) = slack.ephemeral(&channel, &user, &said).await
        {
            tracing::info!(error = %err, "could not answer late in Slack");
        }
    });
    match tokio::time::timeout(Duration::from_millis(2_500), told).await {
        Ok(Ok(said)) => said,
        Ok(Err(_)) => "Not done: Firebreak failed while doing it; try again.".into(),
        Err(_) => "Working on it; you will hear back here.".into(),
    }
}

async fn commands(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let slack = match verified(&state, &headers, &body) {
        Ok(slack) => slack.clone(),
        Err((status, why)) => return refuse(status, &why),
    };
    let Some(slash) = slack_in::parse_slash(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "not a slash command");
    };
    slash_command(&state, &slack, slash).await
}

/// A slash command from either transport; the answer Slack shows the person.
pub(crate) async fn slash_command(
    state: &AppState,
    slack: &Arc<Slack>,
    slash: SlashCommand,
) -> Response {
    let SlashCommand {
        text,
        user_id,
        channel_id,
        trigger_id,
        ..
    } = slash;
    let catalog = state.store.catalog();
    let command = match chat::parse_command(&text, &catalog.severities) {
        Ok(command) => command,
        Err(why) => return ephemeral(&why),
    };
    if let ChatCommand::Declare { title, .. } = &command
        && title.is_empty()
    {
        return match slack
            .call(
                "views.open",
                json!({"trigger_id": trigger_id, "view": declare_modal(&catalog.severities)}),
            )
            .await
        {
            Ok(_) => StatusCode::OK.into_response(),
            Err(err) => ephemeral(&format!("Could not open the declare form: {err}")),
        };
    }
    let incident = match command {
        ChatCommand::Declare { .. } | ChatCommand::Help | ChatCommand::Ack { .. } => None,
        _ => incident_of_channel(state, &channel_id).await,
    };
    ephemeral(&answer(state, slack, (&user_id, &channel_id), incident, command).await)
}

/// The declare form `/inc declare` opens.
fn declare_modal(severities: &[String]) -> Value {
    json!({
        "type": "modal",
        "callback_id": "declare",
        "title": {"type": "plain_text", "text": "Declare an incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "blocks": [
            {"type": "input", "block_id": "title", "label": {"type": "plain_text", "text": "What is wrong?"},
             "element": {"type": "plain_text_input", "action_id": "title"}},
            {"type": "input", "block_id": "severity", "label": {"type": "plain_text", "text": "Severity"},
             "element": {"type": "static_select", "action_id": "severity",
                 "options": severities.iter().map(|it| json!({"text": {"type": "plain_text", "text": it}, "value": it})).collect::<Vec<_>>()}},
        ],
    })
}

/// The update form a card's Post update button opens.
fn update_modal(reference: &str) -> Value {
    json!({
        "type": "modal",
        "callback_id": "update",
        "private_metadata": reference,
        "title": {"type": "plain_text", "text": format!("Update {reference}")},
        "submit": {"type": "plain_text", "text": "Post"},
        "blocks": [
            {"type": "input", "block_id": "message", "label": {"type": "plain_text", "text": "What is the status?"},
             "element": {"type": "plain_text_input", "action_id": "message", "multiline": true}},
        ],
    })
}

async fn interactions(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let slack = match verified(&state, &headers, &body) {
        Ok(slack) => slack.clone(),
        Err((status, why)) => return refuse(status, &why),
    };
    let Some(interaction) = slack_in::parse_interaction(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "not an interaction Firebreak uses");
    };
    interaction_done(&state, &slack, interaction).await
}

/// A button or a submitted form from either transport.
pub(crate) async fn interaction_done(
    state: &AppState,
    slack: &Arc<Slack>,
    interaction: Interaction,
) -> Response {
    let state = state.clone();
    let slack = slack.clone();
    match interaction {
        Interaction::Button {
            user_id,
            channel_id,
            action_id,
            value,
            trigger_id,
        } => {
            let incident = incident_by_reference(&state, &value).await;
            let command = match action_id.as_str() {
                "inc:lead" => ChatCommand::Role {
                    role: "lead".into(),
                    who: None,
                },
                "inc:resolve" => ChatCommand::Resolve { message: None },
                "inc:update" => {
                    if let Err(err) = slack
                        .call(
                            "views.open",
                            json!({"trigger_id": trigger_id, "view": update_modal(&value)}),
                        )
                        .await
                    {
                        tracing::info!(error = %err, "could not open the update form");
                    }
                    return StatusCode::OK.into_response();
                }
                "page:ack" | "page:resolve" => {
                    let action = if action_id == "page:ack" {
                        firebreak_core::paging::AlertAction::Acknowledge
                    } else {
                        firebreak_core::paging::AlertAction::Resolve
                    };
                    let who = person(&state, &slack, &user_id).await;
                    let said = super::pages::respond(
                        &state,
                        who.as_ref(),
                        (PLATFORM, &user_id),
                        &value,
                        action,
                    )
                    .await;
                    if let Err(err) = slack.ephemeral(&channel_id, &user_id, &said).await {
                        tracing::info!(error = %err, "could not answer a page button in Slack");
                    }
                    return StatusCode::OK.into_response();
                }
                _ => return StatusCode::OK.into_response(),
            };
            let said = answer(&state, &slack, (&user_id, &channel_id), incident, command).await;
            if let Err(err) = slack.ephemeral(&channel_id, &user_id, &said).await {
                tracing::info!(error = %err, "could not answer a button in Slack");
            }
            StatusCode::OK.into_response()
        }
        Interaction::Submission {
            user_id,
            callback_id,
            private_metadata,
            values,
        } => {
            let value = |name: &str| {
                values
                    .iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone())
                    .unwrap_or_default()
            };
            let (incident, command) = match callback_id.as_str() {
                "declare" => (
                    None,
                    ChatCommand::Declare {
                        severity: Some(value("severity")).filter(|it| !it.is_empty()),
                        title: value("title"),
                    },
                ),
                "update" => (
                    incident_by_reference(&state, &private_metadata).await,
                    ChatCommand::Update {
                        message: value("message"),
                    },
                ),
                _ => return StatusCode::OK.into_response(),
            };
            let said = answer(&state, &slack, (&user_id, ""), incident, command).await;
            if said.starts_with("Not done") {
                let block = if callback_id == "declare" {
                    "title"
                } else {
                    "message"
                };
                return Json(json!({"response_action": "errors", "errors": {block: said}}))
                    .into_response();
            }
            StatusCode::OK.into_response()
        }
    }
}

async fn events(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let slack = match verified(&state, &headers, &body) {
        Ok(slack) => slack.clone(),
        Err((status, why)) => return refuse(status, &why),
    };
    match slack_in::parse_event(&body) {
        None => StatusCode::OK.into_response(),
        Some(inbound) => event_received(&state, &slack, inbound).await,
    }
}

/// An Events API delivery from either transport: applied once per `event_id`, after the
/// answer (the work runs on its own task).
pub(crate) async fn event_received(
    state: &AppState,
    slack: &Arc<Slack>,
    inbound: Inbound,
) -> Response {
    let (state, slack) = (state.clone(), slack.clone());
    match inbound {
        Inbound::UrlVerification { challenge } => {
            Json(json!({ "challenge": challenge })).into_response()
        }
        Inbound::Event { event_id, event } => {
            let now = firebreak_store::clock::now();
            match state.store.chat_first_sight(PLATFORM, &event_id, now).await {
                // A retry of one already applied: acknowledged, not applied again.
                Ok(false) => StatusCode::OK.into_response(),
                Ok(true) => {
                    tokio::spawn(async move { handle(&state, &slack, event).await });
                    StatusCode::OK.into_response()
                }
                // Not recorded: let Slack retry later.
                Err(err) => crate::error::ApiError::from(err).into_response(),
            }
        }
    }
}

/// Applies one event from Slack (a pin, an unpin, an edit of a pinned message).
pub async fn handle(state: &AppState, slack: &Slack, event: Event) {
    let Ok(me) = slack.me().await.cloned() else {
        return;
    };
    match event {
        Event::ReactionAdded(Reaction {
            user,
            reaction,
            channel,
            ts,
        }) if chat::is_pin_reaction(&reaction) && user != me.user_id => {
            let Some((author, text)) = slack.message(&channel, &ts).await.ok().flatten() else {
                return;
            };
            let pin_id = format!("reaction:{user}:{channel}:{ts}");
            pin(
                state,
                slack,
                (&user, &channel, &ts),
                (&author, &text),
                &pin_id,
            )
            .await;
        }
        Event::ReactionRemoved(Reaction {
            user,
            reaction,
            channel,
            ts,
        }) if chat::is_pin_reaction(&reaction) => {
            unpin(
                state,
                slack,
                &user,
                &format!("reaction:{user}:{channel}:{ts}"),
            )
            .await;
        }
        Event::PinAdded(Pin {
            user,
            channel,
            ts,
            text,
            author,
        }) if user != me.user_id => {
            let pin_id = format!("pin:{channel}:{ts}");
            pin(
                state,
                slack,
                (&user, &channel, &ts),
                (&author, &text),
                &pin_id,
            )
            .await;
        }
        Event::PinRemoved(Pin {
            user, channel, ts, ..
        }) => {
            unpin(state, slack, &user, &format!("pin:{channel}:{ts}")).await;
        }
        Event::MessageChanged { channel, ts, text } => {
            let message = format!("{channel}/{ts}");
            if let Ok(Some((incident_id, seq))) =
                state.store.chat_pin_of_message(PLATFORM, &message).await
            {
                correct(
                    state,
                    slack,
                    None,
                    &incident_id,
                    (seq, format!("Edited in chat: {text}")),
                )
                .await;
            }
        }
        Event::ReactionAdded(_)
        | Event::ReactionRemoved(_)
        | Event::PinAdded(_)
        | Event::Other { .. } => {}
    }
}

/// Catches up with the live incidents' channels after Firebreak could not hear Slack (the
/// process stopped, the socket dropped, Slack's retries ran out): a 📌 on a message since the
/// last one seen is pinned now — once, as any pin (`chat_pins` knows the message). Runs when
/// the process starts and whenever a Socket Mode connection opens. Each channel's last seen
/// message is kept as the cursor named `slack:<channel>`.
pub(crate) async fn catch_up(state: &AppState, slack: &Slack) {
    let Ok(me) = slack.me().await.cloned() else {
        return;
    };
    let Ok(channels) = state.store.live_chat_channels(PLATFORM).await else {
        return;
    };
    for channel in channels {
        let Some(id) = channel.remote_id else {
            continue;
        };
        let cursor = format!("slack:{id}");
        let since = match state.store.chat_cursor(&cursor).await {
            Ok(since) => since.unwrap_or_default(),
            Err(_) => continue,
        };
        let messages = match slack.history_since(&id, &since).await {
            Ok(messages) => messages,
            Err(err) => {
                tracing::info!(error = %err, channel = %id, "could not catch up with a Slack channel");
                continue;
            }
        };
        for message in &messages {
            if message.user.is_empty() || message.user == me.user_id {
                continue;
            }
            let pinner = message
                .reactions
                .iter()
                .filter(|(name, _)| chat::is_pin_reaction(name))
                .flat_map(|(_, users)| users)
                .find(|user| **user != me.user_id);
            if let Some(user) = pinner {
                let pin_id = format!("reaction:{user}:{id}:{}", message.ts);
                pin(
                    state,
                    slack,
                    (user, &id, &message.ts),
                    (&message.user, &message.text),
                    &pin_id,
                )
                .await;
            }
        }
        if let Some(last) = messages.last()
            && let Err(err) = state.store.set_chat_cursor(&cursor, &last.ts).await
        {
            tracing::info!(error = %err, "could not remember where a Slack channel was read to");
        }
    }
}

async fn caller_of(state: &AppState, slack: &Slack, user: &str) -> Option<Caller> {
    let person = person(state, slack, user).await?;
    Some(Caller {
        role: person.role,
        user: Some(person),
        via: Via::Chat {
            platform: PLATFORM.into(),
            user: user.to_string(),
        },
    })
}

async fn pin(
    state: &AppState,
    slack: &Slack,
    (user, channel, ts): (&str, &str, &str),
    (author, text): (&str, &str),
    pin_id: &str,
) {
    let Some(incident) = incident_of_channel(state, channel).await else {
        return;
    };
    let message = format!("{channel}/{ts}");
    if let Ok(Some(_)) = state.store.chat_pin_of_message(PLATFORM, &message).await {
        return; // pinned already (📌 and a native pin on the same message)
    }
    let Some(caller) = caller_of(state, slack, user).await else {
        let _ = slack
            .ephemeral(channel, user, &service::not_linked(PLATFORM, user))
            .await;
        return;
    };
    let author = match person(state, slack, author).await {
        Some(person) => person.email,
        None => author.to_string(),
    };
    let occurred_at = ts
        .split('.')
        .next()
        .and_then(|it| it.parse::<i64>().ok())
        .and_then(|it| jiff::Timestamp::from_second(it).ok())
        .filter(|at| *at <= firebreak_store::clock::now());
    let command = Command::Append {
        entry: Entry::Pinned {
            text: text.to_string(),
            author: Some(author),
            link: slack.permalink(channel, ts).await,
        },
        occurred_at,
    };
    let id = incident.id.0.to_string();
    match crate::incidents::service::run_command(state, &caller, &id, command).await {
        Ok(outcome) => {
            if let Some(pinned) = outcome.events.first()
                && let Err(err) = state
                    .store
                    .record_chat_pin((PLATFORM, &message), &id, pin_id, pinned.seq)
                    .await
            {
                tracing::warn!(error = %err, "could not remember a Slack pin");
            }
        }
        Err(err) => {
            let _ = slack
                .ephemeral(channel, user, &format!("Not pinned: {}", err.message))
                .await;
        }
    }
}

async fn unpin(state: &AppState, slack: &Slack, user: &str, pin_id: &str) {
    let Ok(Some((_, incident_id, seq))) = state.store.take_chat_unpin(PLATFORM, pin_id).await
    else {
        return;
    };
    correct(
        state,
        slack,
        Some(user),
        &incident_id,
        (seq, "Unpinned in chat".to_string()),
    )
    .await;
}

/// Appends a correction of timeline event `seq`, as the person who acted when Slack names
/// one, else as the person who pinned it.
async fn correct(
    state: &AppState,
    slack: &Slack,
    user: Option<&str>,
    incident_id: &str,
    (seq, text): (i64, String),
) {
    let caller = match user {
        Some(user) => caller_of(state, slack, user).await,
        None => None,
    };
    let caller = match caller {
        Some(caller) => caller,
        // An edit comes without who made it: Firebreak records it for the chat.
        None => Caller {
            role: firebreak_core::Role::Responder,
            user: None,
            via: Via::Chat {
                platform: PLATFORM.into(),
                user: "edit".into(),
            },
        },
    };
    let command = Command::Append {
        entry: Entry::Correction {
            text,
            corrects: Some(seq),
        },
        occurred_at: None,
    };
    if let Err(err) =
        crate::incidents::service::run_command(state, &caller, incident_id, command).await
    {
        tracing::info!(error = %err.message, "could not record a Slack correction");
    }
}
