//! Matrix inbound: a `/sync` long-poll from the stored `next_batch` (outbound only, so it
//! works behind a firewall). Each event applies once (`chat_seen`); the cursor moves only
//! after a batch is handled, so a restart resumes where it stopped. In an incident's room:
//! a 📌 reaction pins the message into the timeline (its author, its own time, a permalink),
//! redacting that reaction appends a correction, editing a pinned message appends one with the
//! new words, and `!inc …` runs a command as the linked person. Invitations (direct
//! messages) are accepted so `!inc` works there too.

use std::sync::Arc;
use std::time::Duration;

use firebreak_core::chat::{self, ChatCommand};
use firebreak_core::command::Entry;
use firebreak_core::{Command, Incident};
use firebreak_integrations::chat::ChatError;
use firebreak_integrations::chat::matrix::{Happened, Matrix, RoomEvent, SYNC_WAIT};
use firebreak_store::{IncidentKey, User};
use tokio::sync::watch;

use super::service::{self, Typed};
use crate::AppState;
use crate::auth::{Caller, Via};

const PLATFORM: &str = "matrix";

/// The Firebreak person a Matrix user is: the configured mapping, else — only for users of
/// the bot's own homeserver, so `@admin:elsewhere.example` is nobody — the person whose
/// email's localpart is the user's localpart.
pub async fn person_of(state: &AppState, mxid: &str) -> Option<User> {
    let mapped = state
        .settings
        .chat
        .matrix
        .users
        .iter()
        .find(|(_, id)| id.as_str() == mxid)
        .map(|(email, _)| email.clone());
    if let Some(email) = mapped {
        return service::person_by_email(state, &email).await;
    }
    let (local, server) = mxid.strip_prefix('@')?.split_once(':')?;
    let me = state.chat.matrix.as_ref()?.me().await.ok()?;
    if me.split_once(':').map(|it| it.1) != Some(server) {
        return None;
    }
    let local = local.to_lowercase();
    let users = state.store.users().await.ok()?;
    users.into_iter().find(|it| {
        it.disabled_at.is_none()
            && it
                .email
                .split('@')
                .next()
                .is_some_and(|it| it.to_lowercase() == local)
    })
}

pub struct MatrixSync {
    pub state: AppState,
    pub matrix: Arc<Matrix>,
}

impl MatrixSync {
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let step = tokio::select! {
                step = self.run_once(SYNC_WAIT) => step,
                _ = shutdown.changed() => return,
            };
            match step {
                Ok(()) => backoff = Duration::from_secs(1),
                Err(err) => {
                    tracing::warn!(error = %err, "Matrix sync failed");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    /// One `/sync`: waits up to `wait`, handles what came, stores the cursor.
    pub async fn run_once(&self, wait: Duration) -> Result<(), ChatError> {
        let store = &self.state.store;
        let since = store
            .chat_cursor(PLATFORM)
            .await
            .map_err(|err| ChatError::retry(err.to_string()))?;
        let batch = self.matrix.sync(since.as_deref(), wait).await?;
        for room in &batch.invites {
            if let Err(err) = self.matrix.join(room).await {
                tracing::info!(error = %err, room = %room, "could not accept a Matrix invitation");
            }
        }
        let me = self.matrix.me().await?.to_string();
        for event in &batch.events {
            if event.sender == me {
                continue;
            }
            let now = firebreak_store::clock::now();
            let first = store
                .chat_first_sight(PLATFORM, &event.event_id, now)
                .await
                .map_err(|err| ChatError::retry(err.to_string()))?;
            if first {
                self.handle(event).await;
            }
        }
        store
            .set_chat_cursor(PLATFORM, &batch.next_batch)
            .await
            .map_err(|err| ChatError::retry(err.to_string()))?;
        Ok(())
    }

    async fn incident_of_room(&self, room: &str) -> Option<Incident> {
        let channel = self
            .state
            .store
            .chat_channel_by_remote(PLATFORM, room)
            .await
            .ok()??;
        let id = uuid::Uuid::parse_str(&channel.incident_id).ok()?;
        self.state.store.incident(IncidentKey::Id(id)).await.ok()
    }

    async fn reply(&self, event: &RoomEvent, text: &str) {
        let txn = format!("reply.{}", event.event_id);
        if let Err(err) = self.matrix.notice(&event.room_id, text, &txn).await {
            tracing::info!(error = %err, "could not answer in Matrix");
        }
    }

    async fn caller(&self, event: &RoomEvent) -> Option<Caller> {
        let person = person_of(&self.state, &event.sender).await?;
        Some(Caller {
            role: person.role,
            user: Some(person),
            via: Via::Chat {
                platform: PLATFORM.into(),
                user: event.sender.clone(),
            },
        })
    }

    async fn handle(&self, event: &RoomEvent) {
        match &event.what {
            Happened::Message { body, replaces } => {
                if let Some(original) = replaces {
                    self.edited(event, original, body).await;
                } else if let Some(rest) = body.trim().strip_prefix("!inc") {
                    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
                        return;
                    }
                    self.command(event, rest).await;
                }
            }
            Happened::Reaction { target, key } if chat::is_pin_reaction(key) => {
                self.pinned(event, target).await;
            }
            Happened::Reaction { target, key } if chat::is_ack_reaction(key) => {
                self.acknowledged(event, target).await;
            }
            Happened::Reaction { .. } => {}
            Happened::Redaction { redacts } => self.unpinned(event, redacts).await,
        }
    }

    async fn command(&self, event: &RoomEvent, text: &str) {
        let catalog = self.state.store.catalog();
        let answer = match chat::parse_command(text, &catalog.severities) {
            Err(why) => Err(why),
            Ok(command) => {
                let typed = Typed {
                    platform: PLATFORM,
                    user: &event.sender,
                    person: person_of(&self.state, &event.sender).await,
                    incident: match command {
                        ChatCommand::Declare { .. }
                        | ChatCommand::Help
                        | ChatCommand::Ack { .. } => None,
                        _ => self.incident_of_room(&event.room_id).await,
                    },
                };
                service::run(&self.state, typed, command).await
            }
        };
        match answer {
            Ok(text) => self.reply(event, &text).await,
            Err(why) => self.reply(event, &format!("Not done: {why}")).await,
        }
    }

    async fn pinned(&self, event: &RoomEvent, target: &str) {
        let Some(incident) = self.incident_of_room(&event.room_id).await else {
            return;
        };
        let Some(caller) = self.caller(event).await else {
            self.reply(event, &service::not_linked(PLATFORM, &event.sender))
                .await;
            return;
        };
        let message = match self.matrix.event(&event.room_id, target).await {
            Ok(message) => message,
            Err(err) => {
                tracing::info!(error = %err, "could not read the pinned Matrix message");
                return;
            }
        };
        let Happened::Message { body, .. } = &message.what else {
            return;
        };
        let author = match person_of(&self.state, &message.sender).await {
            Some(person) => person.email,
            None => message.sender.clone(),
        };
        let occurred_at = jiff::Timestamp::from_millisecond(message.at_ms)
            .ok()
            .filter(|at| *at <= firebreak_store::clock::now());
        let command = Command::Append {
            entry: Entry::Pinned {
                text: body.clone(),
                author: Some(author),
                link: Some(Matrix::permalink(&event.room_id, target)),
            },
            occurred_at,
        };
        let id = incident.id.0.to_string();
        match crate::incidents::service::run_command(&self.state, &caller, &id, command).await {
            Ok(outcome) => {
                if let Some(pinned) = outcome.events.first()
                    && let Err(err) = self
                        .state
                        .store
                        .record_chat_pin((PLATFORM, target), &id, &event.event_id, pinned.seq)
                        .await
                {
                    tracing::warn!(error = %err, "could not remember a Matrix pin");
                }
            }
            Err(err) => {
                self.reply(event, &format!("Not pinned: {}", err.message))
                    .await
            }
        }
    }

    /// ✅ on a page acknowledges its alert, as the person who reacted.
    async fn acknowledged(&self, event: &RoomEvent, target: &str) {
        let Ok(Some(alert)) = self.state.store.chat_page_alert(PLATFORM, target).await else {
            return;
        };
        let person = person_of(&self.state, &event.sender).await;
        let said = super::pages::respond(
            &self.state,
            person.as_ref(),
            (PLATFORM, &event.sender),
            &alert,
            firebreak_core::paging::AlertAction::Acknowledge,
        )
        .await;
        self.reply(event, &said).await;
    }

    async fn unpinned(&self, event: &RoomEvent, redacts: &str) {
        let Ok(Some((_, incident_id, seq))) =
            self.state.store.take_chat_unpin(PLATFORM, redacts).await
        else {
            return;
        };
        self.correct(event, &incident_id, seq, "Unpinned in chat".to_string())
            .await;
    }

    async fn edited(&self, event: &RoomEvent, original: &str, body: &str) {
        let Ok(Some((incident_id, seq))) = self
            .state
            .store
            .chat_pin_of_message(PLATFORM, original)
            .await
        else {
            return;
        };
        self.correct(event, &incident_id, seq, format!("Edited in chat: {body}"))
            .await;
    }

    /// Appends a correction of timeline event `seq` as the person who acted in chat.
    async fn correct(&self, event: &RoomEvent, incident_id: &str, seq: i64, text: String) {
        let Some(caller) = self.caller(event).await else {
            self.reply(event, &service::not_linked(PLATFORM, &event.sender))
                .await;
            return;
        };
        let command = Command::Append {
            entry: Entry::Correction {
                text,
                corrects: Some(seq),
            },
            occurred_at: None,
        };
        if let Err(err) =
            crate::incidents::service::run_command(&self.state, &caller, incident_id, command).await
        {
            self.reply(event, &format!("Not recorded: {}", err.message))
                .await;
        }
    }
}
