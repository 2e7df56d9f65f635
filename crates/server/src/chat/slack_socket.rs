//! Slack over Socket Mode (when `[chat.slack] app_token` is set): an outbound WebSocket, so
//! Slack never needs to reach Firebreak. Each envelope is acknowledged first (Slack waits
//! three seconds), then handled exactly as the HTTP transport handles the same payload;
//! answers to slash commands and buttons come back as ephemeral messages. A `disconnect`
//! (or a dropped connection) opens a fresh one from a fresh URL, with backoff on failure.

use std::sync::Arc;
use std::time::Duration;

use firebreak_integrations::chat::ChatError;
use firebreak_integrations::chat::slack::Slack;
use firebreak_integrations::chat::slack_in;
use firebreak_integrations::chat::slack_socket::{self, Envelope, Frame};
use tokio::sync::watch;

use super::slack_http;
use crate::AppState;

pub struct SlackSocket {
    pub state: AppState,
    pub slack: Arc<Slack>,
    pub app_token: String,
}

impl SlackSocket {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let connected = tokio::select! {
                connected = self.connection() => connected,
                _ = shutdown.changed() => return,
            };
            match connected {
                Ok(()) => backoff = Duration::from_secs(1),
                Err(err) => {
                    tracing::warn!(error = %err, "Slack Socket Mode connection failed");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    /// One connection, until Slack asks for another or it drops.
    async fn connection(&self) -> Result<(), ChatError> {
        let url = self.slack.socket_url(&self.app_token).await?;
        let mut socket = self.slack.connect_socket(&url).await?;
        // What happened while no connection was open.
        let (state, slack) = (self.state.clone(), self.slack.clone());
        tokio::spawn(async move { slack_http::catch_up(&state, &slack).await });
        while let Some(text) = socket.next_text().await {
            match slack_socket::parse_frame(&text) {
                Some(Frame::Hello) | None => {}
                Some(Frame::Disconnect { reason }) => {
                    tracing::info!(%reason, "Slack asked Socket Mode to reconnect");
                    socket.close().await;
                    return Ok(());
                }
                Some(Frame::Envelope(envelope)) => {
                    socket
                        .send_text(slack_socket::ack(&envelope.envelope_id))
                        .await?;
                    let (state, slack) = (self.state.clone(), self.slack.clone());
                    tokio::spawn(async move { handle(&state, &slack, envelope).await });
                }
            }
        }
        Ok(())
    }
}

/// The text an HTTP answer would have shown the person, if any.
async fn said(response: axum::response::Response) -> Option<String> {
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value["text"].as_str().map(String::from)
}

async fn handle(state: &AppState, slack: &Arc<Slack>, envelope: Envelope) {
    match envelope.kind.as_str() {
        "events_api" => {
            if let Some(inbound) = slack_in::event_from_value(&envelope.payload) {
                slack_http::event_received(state, slack, inbound).await;
            }
        }
        "slash_commands" => {
            let Some(slash) = slack_in::slash_from_value(&envelope.payload) else {
                return;
            };
            let (channel, user) = (slash.channel_id.clone(), slash.user_id.clone());
            let answer = slack_http::slash_command(state, slack, slash).await;
            if let Some(text) = said(answer).await
                && let Err(err) = slack.ephemeral(&channel, &user, &text).await
            {
                tracing::info!(error = %err, "could not answer a slash command in Slack");
            }
        }
        "interactive" => {
            if let Some(interaction) = slack_in::interaction_from_value(&envelope.payload) {
                slack_http::interaction_done(state, slack, interaction).await;
            }
        }
        other => tracing::debug!(kind = %other, "Socket Mode envelope not used"),
    }
}
