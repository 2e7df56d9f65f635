//! Pages by chat: a direct message with a way to acknowledge from it (Slack buttons; a ✅
//! reaction or `!inc ack` in Matrix). The delivery worker sends them like any page, so they
//! are retried and cancelled like the others; acting on one goes through the same code path
//! as the API's acknowledge.

use firebreak_core::notify::Channel;
use firebreak_core::paging::AlertAction;
use firebreak_integrations::chat::ChatError;
use firebreak_store::{Notification, Store};
use jiff::Timestamp;

use super::Platforms;
use crate::AppState;

fn store_error(err: firebreak_store::StoreError) -> ChatError {
    ChatError::retry(format!("database: {err}"))
}

/// Sends one page notification by chat.
pub async fn send(
    store: &Store,
    platforms: &Platforms,
    page: &Notification,
    now: Timestamp,
) -> Result<(), ChatError> {
    let alert_id = page
        .incident_id
        .strip_prefix("alert:")
        .unwrap_or(&page.incident_id);
    let key = page.notification_id.to_string();
    match page.channel {
        Channel::Slack => {
            let slack = platforms
                .slack
                .as_ref()
                .ok_or_else(|| ChatError::Dead("Slack is not configured ([chat.slack])".into()))?;
            let ts = slack
                .page(&page.address, &page.body, alert_id, &key)
                .await?;
            store
                .record_chat_page(("slack", &ts), &page.address, alert_id, now)
                .await
                .map_err(store_error)
        }
        Channel::Matrix => {
            let matrix = platforms.matrix.as_ref().ok_or_else(|| {
                ChatError::Dead("Matrix is not configured ([chat.matrix])".into())
            })?;
            let room = match store
                .chat_dm("matrix", &page.address)
                .await
                .map_err(store_error)?
            {
                Some(room) => room,
                None => {
                    let room = matrix.open_dm(&page.address).await?;
                    store
                        .save_chat_dm("matrix", &page.address, &room)
                        .await
                        .map_err(store_error)?;
                    room
                }
            };
            let event = matrix.page(&room, &page.body, alert_id, &key).await?;
            store
                .record_chat_page(("matrix", &event), &page.address, alert_id, now)
                .await
                .map_err(store_error)
        }
        Channel::Email | Channel::Webhook | Channel::Sms | Channel::Voice | Channel::Push => Err(
            ChatError::Dead(format!("{} is not a chat channel", page.channel)),
        ),
    }
}

/// Acknowledges or resolves the alert a chat page was about, as `person` (their role
/// decides, as everywhere). The answer is a sentence for the person.
pub async fn respond(
    state: &AppState,
    person: Option<&firebreak_store::User>,
    (platform, user): (&str, &str),
    alert: &str,
    action: AlertAction,
) -> String {
    let Some(person) = person else {
        return super::service::not_linked(platform, user);
    };
    match crate::paging::service::respond(state, alert, action, (&person.email, person.role)).await
    {
        Ok(done) => format!(
            "{}: {}",
            match action {
                AlertAction::Acknowledge => "Acknowledged",
                _ => "Resolved",
            },
            done.summary
        ),
        Err(err) => format!("Not done: {}", err.message),
    }
}
