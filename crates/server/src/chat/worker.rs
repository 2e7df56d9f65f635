//! The chat worker: claims the chat work the writer queued, does it on the platform, and
//! records the outcome. The incident card and the announcement are rendered when they are
//! sent, from the incident as it is then, so an edit is always current and a repeated edit
//! harmless; one edit settles every card edit queued before it.

use std::sync::Arc;
use std::time::Duration;

use firebreak_core::Incident;
use firebreak_core::chat::{self, Place, Work};
use firebreak_core::retry::RetryPolicy;
use firebreak_integrations::chat::matrix::Matrix;
use firebreak_integrations::chat::slack::Slack;
use firebreak_integrations::chat::{ChatError, ChatPlatform, NewChannel, Outgoing};
use firebreak_store::{ChatJob, ChatOutcome, IncidentKey, Store, StoreError};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

/// Longer than any one piece of work's calls, so a worker that dies mid-call lets another
/// replica take its work over after this.
const LEASE: SignedDuration = SignedDuration::from_secs(120);

/// The configured chat platforms.
#[derive(Clone, Default)]
pub struct Platforms {
    pub slack: Option<Arc<Slack>>,
    pub matrix: Option<Arc<Matrix>>,
}

impl Platforms {
    pub fn is_empty(&self) -> bool {
        self.slack.is_none() && self.matrix.is_none()
    }
}

pub struct ChatWorker {
    pub store: Store,
    pub platforms: Platforms,
    pub policy: RetryPolicy,
    /// The web room's address, for the card's link (`…/incidents/INC-7`).
    pub base_url: String,
}

fn outcome(result: Result<(), ChatError>) -> ChatOutcome {
    match result {
        Ok(()) => ChatOutcome::Done,
        Err(ChatError::Retry { error, after }) => ChatOutcome::Retry {
            error,
            after: after.and_then(|it| SignedDuration::try_from(it).ok()),
        },
        Err(ChatError::Dead(error)) => ChatOutcome::Dead { error },
    }
}

fn store_error(err: StoreError) -> ChatError {
    ChatError::retry(format!("database: {err}"))
}

impl ChatWorker {
    /// Does every piece of chat work that is due; answers how many were tried.
    pub async fn run_once(&self, now: Timestamp) -> Result<usize, StoreError> {
        let jobs = self.store.claim_chat_work(now, 32, LEASE).await?;
        let runs = jobs.iter().map(|job| async move {
            let result = match job.platform.as_str() {
                "slack" => match &self.platforms.slack {
                    Some(slack) => self.work(slack.as_ref(), job, now).await,
                    None => Err(ChatError::retry("Slack is not configured in this process")),
                },
                "matrix" => match &self.platforms.matrix {
                    Some(matrix) => self.work(matrix.as_ref(), job, now).await,
                    None => Err(ChatError::retry("Matrix is not configured in this process")),
                },
                other => Err(ChatError::Dead(format!("unknown chat platform {other:?}"))),
            };
            (job, outcome(result))
        });
        let outcomes = futures_util::future::join_all(runs).await;
        for (job, outcome) in &outcomes {
            if let ChatOutcome::Retry { error, .. } | ChatOutcome::Dead { error } = outcome {
                tracing::info!(platform = %job.platform, incident = %job.incident_id, error = %error, "chat work failed");
            }
            self.store
                .record_chat_work(job, outcome, &self.policy, now)
                .await?;
        }
        Ok(outcomes.len())
    }

    pub async fn run(self, poll_interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            let busy = match self.run_once(firebreak_store::clock::now()).await {
                Ok(n) => n > 0,
                Err(err) => {
                    tracing::warn!(error = %err, "chat worker step failed");
                    false
                }
            };
            if *shutdown.borrow() {
                return;
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = self.store.chat_notified() => {}
                _ = tokio::time::sleep(poll_interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    async fn incident(&self, job: &ChatJob) -> Result<Incident, ChatError> {
        let id = uuid::Uuid::parse_str(&job.incident_id)
            .map_err(|_| ChatError::Dead("chat work names no incident".into()))?;
        self.store
            .incident(IncidentKey::Id(id))
            .await
            .map_err(store_error)
    }

    fn link(&self, incident: &Incident) -> String {
        format!("{}/incidents/{}", self.base_url, incident.reference)
    }

    async fn work<P: ChatPlatform>(
        &self,
        platform: &P,
        job: &ChatJob,
        now: Timestamp,
    ) -> Result<(), ChatError> {
        let key = job.work_id.to_string();
        let ids = (platform.name(), job.incident_id.as_str());
        match (job.place, &job.work) {
            (Place::Channel, Work::Open) => self.open(platform, job, now).await,
            (Place::Channel, Work::Post(text)) => {
                let channel = self.channel_id(platform, job).await?;
                platform
                    .post(&channel, Outgoing::Text(text), &key, job.attempts > 0)
                    .await?;
                Ok(())
            }
            (Place::Channel, Work::Card) => {
                let latest = self
                    .store
                    .latest_card_work(ids.0, ids.1)
                    .await
                    .map_err(store_error)?;
                let incident = self.incident(job).await?;
                let card = chat::card(&incident, &self.link(&incident));
                let row = self
                    .store
                    .chat_channel(ids.0, ids.1)
                    .await
                    .map_err(store_error)?;
                if let Some(row) = &row {
                    if let (Some(channel), Some(card_id)) = (&row.remote_id, &row.card_id) {
                        platform
                            .edit(channel, card_id, Outgoing::Card(&card), &key)
                            .await?;
                        platform.set_topic(channel, &chat::topic(&incident)).await?;
                    }
                    if let (Some(room), Some(id)) =
                        (platform.announcement_channel(), &row.announcement_id)
                        && !incident.private
                    {
                        let announce_key = format!("{key}.announcement");
                        platform
                            .edit(room, id, Outgoing::Announcement(&card), &announce_key)
                            .await?;
                    }
                }
                if latest > job.row_id {
                    let settled = ChatJob {
                        row_id: latest,
                        ..job.clone()
                    };
                    self.store
                        .settle_card_work(&settled, now)
                        .await
                        .map_err(store_error)?;
                }
                Ok(())
            }
            (Place::Announcements, Work::Announce) => {
                let Some(room) = platform.announcement_channel() else {
                    return Ok(());
                };
                let incident = self.incident(job).await?;
                if incident.private {
                    return Ok(());
                }
                let card = chat::card(&incident, &self.link(&incident));
                let row = self
                    .store
                    .chat_channel(ids.0, ids.1)
                    .await
                    .map_err(store_error)?;
                match row.and_then(|it| it.announcement_id) {
                    Some(id) => {
                        platform
                            .edit(room, &id, Outgoing::Announcement(&card), &key)
                            .await
                    }
                    None => {
                        let id = platform
                            .post(room, Outgoing::Announcement(&card), &key, job.attempts > 0)
                            .await?;
                        self.store
                            .save_chat_channel(ids, None, None, Some(&id), now)
                            .await
                            .map_err(store_error)
                    }
                }
            }
            (Place::Channel, Work::Remind { to, text }) => {
                let channel = self.channel_id(platform, job).await?;
                let who = match platform.user_for_email(to).await? {
                    Some(user) => platform.mention(&user),
                    None => to.clone(),
                };
                let words = format!("{who}: {text}");
                platform
                    .post(&channel, Outgoing::Text(&words), &key, job.attempts > 0)
                    .await?;
                Ok(())
            }
            (Place::Channel, Work::Archive) => {
                let channel = self.channel_id(platform, job).await?;
                platform.archive(&channel).await
            }
            (place, work) => Err(ChatError::Dead(format!(
                "{work:?} does not go to {place:?}"
            ))),
        }
    }

    /// The channel's id on the platform; retried until the channel is open.
    async fn channel_id<P: ChatPlatform>(
        &self,
        platform: &P,
        job: &ChatJob,
    ) -> Result<String, ChatError> {
        self.store
            .chat_channel(platform.name(), &job.incident_id)
            .await
            .map_err(store_error)?
            .and_then(|it| it.remote_id)
            .ok_or_else(|| ChatError::retry("the channel is not open yet"))
    }

    /// Creates the channel (stored name first, so a retry adopts what an earlier try made),
    /// invites the people, posts the card, remembering each id as it goes.
    async fn open<P: ChatPlatform>(
        &self,
        platform: &P,
        job: &ChatJob,
        now: Timestamp,
    ) -> Result<(), ChatError> {
        let ids = (platform.name(), job.incident_id.as_str());
        let incident = self.incident(job).await?;
        let row = self
            .store
            .chat_channel(ids.0, ids.1)
            .await
            .map_err(store_error)?;
        let name = row
            .as_ref()
            .map(|it| it.name.clone())
            .filter(|it| !it.is_empty())
            .or_else(|| incident.coordination.chat_channel.clone())
            .ok_or_else(|| ChatError::Dead("the incident has no channel name".into()))?;
        let mut invite = Vec::new();
        for email in people_of(&incident) {
            if let Some(user) = platform.user_for_email(&email).await?
                && !invite.contains(&user)
            {
                invite.push(user);
            }
        }
        let channel = match row.as_ref().and_then(|it| it.remote_id.clone()) {
            Some(channel) => {
                platform.invite(&channel, &invite).await?;
                channel
            }
            None => {
                let channel = platform
                    .create_channel(&NewChannel {
                        name: &name,
                        topic: &chat::topic(&incident),
                        private: incident.private,
                        invite: &invite,
                    })
                    .await?;
                self.store
                    .save_chat_channel(ids, Some(&channel), None, None, now)
                    .await
                    .map_err(store_error)?;
                channel
            }
        };
        if row.and_then(|it| it.card_id).is_none() {
            let card = chat::card(&incident, &self.link(&incident));
            let card_id = platform
                .post(
                    &channel,
                    Outgoing::Card(&card),
                    &format!("{}.card", job.work_id),
                    job.attempts > 0,
                )
                .await?;
            self.store
                .save_chat_channel(ids, None, Some(&card_id), None, now)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }
}

/// Who a new channel invites: role holders, then participants, then (for a private
/// incident) nobody else; for a public one, the people on it are enough too.
fn people_of(incident: &Incident) -> Vec<String> {
    let mut people: Vec<String> = incident.roles.values().cloned().collect();
    people.extend(
        incident
            .coordination
            .participants
            .iter()
            .filter(|it| it.left_at.is_none())
            .map(|it| it.person.clone()),
    );
    if incident.private {
        people.retain(|it| incident.members.contains(it));
    }
    people.retain(|it| it.contains('@'));
    people.dedup();
    people
}
