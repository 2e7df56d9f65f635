//! Status page subscribers: email (double opt-in: nothing is sent but the confirmation until
//! the link in it is followed) or a signed webhook, for every component or the ones chosen.
//! Each public update queues one notification per matching subscriber in the transaction
//! that posts it (the outbox), throttled while an incident flaps: at most one message per
//! incident and subscriber within the configured minutes, except the one that resolves it.

use firebreak_core::status_page::PublicStatus;
use firebreak_core::token::hash_token;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use uuid::Uuid;

use crate::clock::{from_micros, micros};

use crate::people::random_hex;
use crate::status::{AffectedComponent, PublicPost};
use crate::{Result, Store, StoreError};

/// What the store needs to write to subscribers: the page and the throttle.
#[derive(Clone, Debug)]
pub struct StatusPageOptions {
    pub name: String,
    /// The page's public address (links in messages).
    pub url: String,
    pub throttle_minutes: i64,
}

impl Default for StatusPageOptions {
    fn default() -> Self {
        StatusPageOptions {
            name: "Status".into(),
            url: "http://localhost:8080/status".into(),
            throttle_minutes: 10,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscriber {
    pub id: String,
    /// `email` or `webhook`.
    pub kind: String,
    pub address: String,
    /// Empty: every component.
    pub components: Vec<String>,
    pub confirmed: bool,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewSubscription {
    pub kind: String,
    pub address: String,
    pub components: Vec<String>,
    /// A webhook's signing secret.
    pub secret: Option<String>,
    /// Made by an admin (no opt-in email).
    pub confirmed: bool,
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// One message to a subscriber, queued as a notification.
struct Message<'a> {
    /// What the message belongs to (`subscriber:<id>`, `status:<incident>`) and its number
    /// there; a message is queued once per key, number, channel and address.
    key: &'a str,
    seq: i64,
    kind: &'a str,
    channel: &'a str,
    address: &'a str,
    subject: &'a str,
    body: &'a str,
    /// A webhook's signing secret.
    secret: Option<&'a str>,
}

async fn queue(tx: &mut Tx, message: Message<'_>, now: Timestamp) -> Result<()> {
    let Message {
        key,
        seq,
        kind,
        channel,
        address,
        subject,
        body,
        secret,
    } = message;
    sqlx::query(
        "INSERT INTO notifications (notification_id, incident_id, seq, kind, target, channel, address, \
         subject, body, status, next_attempt_at, created_at, secret) \
         VALUES ($1, $2, $3, $4, 'subscribers', $5, $6, $7, $8, 'pending', $9, $9, $10) \
         ON CONFLICT (incident_id, seq, channel, address) DO NOTHING",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(key.to_string())
    .bind(seq)
    .bind(kind.to_string())
    .bind(channel.to_string())
    .bind(address.to_string())
    .bind(subject.to_string())
    .bind(body.to_string())
    .bind(micros(now))
    .bind(secret.map(String::from))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Adds a subscriber. An email subscriber that is not `confirmed` gets the confirmation
    /// email (queued in the same transaction) and nothing else until it is followed.
    pub async fn add_subscriber(&self, new: NewSubscription, now: Timestamp) -> Result<Subscriber> {
        let page = self.status_page();
        let mut tx = self.begin_write().await?;
        // Asking again while pending (or after unsubscribing) starts over.
        sqlx::query(
            "DELETE FROM status_subscribers WHERE kind = $1 AND address = $2 AND (confirmed_at IS NULL OR unsubscribed_at IS NOT NULL)",
        )
        .bind(new.kind.clone())
        .bind(new.address.clone())
        .execute(&mut *tx)
        .await?;
        let active = sqlx::query(
            "SELECT id FROM status_subscribers WHERE kind = $1 AND address = $2 AND unsubscribed_at IS NULL",
        )
        .bind(new.kind.clone())
        .bind(new.address.clone())
        .fetch_optional(&mut *tx)
        .await?;
        if active.is_some() {
            return Err(StoreError::Conflict(format!(
                "{} is already subscribed",
                new.address
            )));
        }
        let id = Uuid::now_v7().to_string();
        let confirm = (!new.confirmed).then(random_hex).transpose()?;
        let unsubscribe = random_hex()?;
        sqlx::query(
            "INSERT INTO status_subscribers (id, kind, address, components, confirm_hash, unsubscribe_token, secret, \
             created_at, confirmed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.clone())
        .bind(new.kind.clone())
        .bind(new.address.clone())
        .bind(json!(new.components).to_string())
        .bind(confirm.as_deref().map(hash_token))
        .bind(unsubscribe.clone())
        .bind(new.secret.clone())
        .bind(micros(now))
        .bind(new.confirmed.then(|| micros(now)))
        .execute(&mut *tx)
        .await?;
        if let Some(token) = &confirm {
            let body = format!(
                "Someone (hopefully you) asked for updates from {name} at this address.\n\n\
                 Confirm here: {url}/subscriptions/confirm?token={token}\n\n\
                 If it was not you, ignore this message: nothing more will be sent.\n",
                name = page.name,
                url = page.url,
            );
            let subject = format!("[{}] Confirm your subscription", page.name);
            let key = format!("subscriber:{id}");
            let message = Message {
                key: &key,
                seq: 0,
                kind: "subscription_confirm",
                channel: "email",
                address: &new.address,
                subject: &subject,
                body: &body,
                secret: None,
            };
            queue(&mut tx, message, now).await?;
        }
        tx.commit().await?;
        self.wake_outbox();
        Ok(Subscriber {
            id,
            kind: new.kind,
            address: new.address,
            components: new.components,
            confirmed: new.confirmed,
            created_at: now,
        })
    }

    /// Follows a confirmation link; `NotFound` for an unknown or used one.
    pub async fn confirm_subscription(&self, token: &str, now: Timestamp) -> Result<String> {
        let address = sqlx::query_scalar(
            "UPDATE status_subscribers SET confirmed_at = $2, confirm_hash = NULL \
             WHERE confirm_hash = $1 AND unsubscribed_at IS NULL RETURNING address",
        )
        .bind(hash_token(token))
        .bind(micros(now))
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("subscription"))?;
        Ok(address)
    }

    /// One-click unsubscribe; `NotFound` for an unknown token.
    pub async fn unsubscribe(&self, token: &str, now: Timestamp) -> Result<String> {
        let address = sqlx::query_scalar(
            "UPDATE status_subscribers SET unsubscribed_at = COALESCE(unsubscribed_at, $2) \
             WHERE unsubscribe_token = $1 RETURNING address",
        )
        .bind(token.to_string())
        .bind(micros(now))
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("subscription"))?;
        Ok(address)
    }

    /// Current subscribers (confirmed or pending), oldest first.
    pub async fn status_subscribers(&self) -> Result<Vec<Subscriber>> {
        let rows: Vec<(String, String, String, String, Option<i64>, i64)> = sqlx::query_as(
            "SELECT id, kind, address, components, confirmed_at, created_at FROM status_subscribers \
             WHERE unsubscribed_at IS NULL ORDER BY created_at, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(
                |(id, kind, address, components, confirmed_at, created_at)| {
                    Ok(Subscriber {
                        id,
                        kind,
                        address,
                        components: serde_json::from_str(&components).unwrap_or_default(),
                        confirmed: confirmed_at.is_some(),
                        created_at: from_micros(created_at),
                    })
                },
            )
            .collect()
    }
}

/// A public update as its subscribers hear of it.
pub(crate) struct PublicUpdateNotice<'a> {
    /// The public incident or maintenance window, its name, and the update's number there.
    pub incident_id: &'a str,
    pub name: &'a str,
    pub seq: i64,
    pub post: &'a PublicPost,
    pub affected: &'a [AffectedComponent],
    /// A maintenance window's components (empty for an incident).
    pub window_components: &'a [String],
}

/// A confirmed subscriber as an update reaches them.
#[derive(sqlx::FromRow)]
struct RecipientRow {
    kind: String,
    address: String,
    components: String,
    unsubscribe_token: String,
    secret: Option<String>,
}

/// Queues a public update for every confirmed subscriber whose components it concerns, in
/// the transaction that posts it. `seq` numbers the incident's updates.
pub(crate) async fn notify_subscribers(
    tx: &mut Tx,
    page: &StatusPageOptions,
    update: PublicUpdateNotice<'_>,
    now: Timestamp,
) -> Result<()> {
    let PublicUpdateNotice {
        incident_id,
        name,
        seq,
        post,
        affected,
        window_components,
    } = update;
    let rows: Vec<RecipientRow> = sqlx::query_as(
        "SELECT kind, address, components, unsubscribe_token, secret FROM status_subscribers \
         WHERE confirmed_at IS NOT NULL AND unsubscribed_at IS NULL",
    )
    .fetch_all(&mut **tx)
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let key = format!("status:{incident_id}");
    let concerned: Vec<&str> = affected
        .iter()
        .map(|it| it.code.as_str())
        .chain(window_components.iter().map(String::as_str))
        .collect();
    let link = format!("{}/incidents/{incident_id}", page.url);
    let subject = format!("[{}] {name} — {}", page.name, post.status.label());
    let final_update = matches!(
        post.status,
        PublicStatus::Resolved | PublicStatus::Completed
    );
    let since = now - SignedDuration::from_mins(page.throttle_minutes);
    for row in rows {
        let components = &row.components;
        let wanted: Vec<String> = serde_json::from_str(components).unwrap_or_default();
        // A subscriber to some components hears of updates that touch them (an incident
        // that names no component concerns everyone).
        if !wanted.is_empty()
            && !concerned.is_empty()
            && !concerned.iter().any(|it| wanted.iter().any(|w| w == it))
        {
            continue;
        }
        let address = row.address;
        if !final_update {
            let recent = sqlx::query(
                "SELECT 1 AS found FROM notifications WHERE incident_id = $1 AND address = $2 AND created_at > $3",
            )
            .bind(key.clone())
            .bind(address.clone())
            .bind(micros(since))
            .fetch_optional(&mut **tx)
            .await?;
            if recent.is_some() {
                continue;
            }
        }
        let (kind, token) = (row.kind, row.unsubscribe_token);
        let unsubscribe = format!("{}/unsubscribe?token={token}", page.url);
        let (channel, body) = if kind == "webhook" {
            let payload = json!({
                "meta": {"unsubscribe": unsubscribe, "generated_at": now.to_string()},
                "page": {"name": page.name, "url": page.url},
                "incident": {
                    "id": incident_id,
                    "name": name,
                    "status": post.status.as_str(),
                    "shortlink": link,
                    "update": {"status": post.status.as_str(), "body": post.body, "created_at": now.to_string()},
                    "affected_components": affected.iter().map(|it| json!({
                        "code": it.code, "name": it.name,
                        "old_status": it.old_status.as_str(), "new_status": it.new_status.as_str(),
                    })).collect::<Vec<_>>(),
                },
            });
            ("webhook", payload.to_string())
        } else {
            let mut text = format!("{} - {}\n", post.status.label(), post.body);
            if !affected.is_empty() {
                let names: Vec<&str> = affected.iter().map(|it| it.name.as_str()).collect();
                text.push_str(&format!("\nAffected: {}\n", names.join(", ")));
            }
            text.push_str(&format!(
                "\nMore: {link}\n\nUnsubscribe with one click: {unsubscribe}\n"
            ));
            ("email", text)
        };
        let secret = row.secret;
        let message = Message {
            key: &key,
            seq,
            kind: "public_update",
            channel,
            address: &address,
            subject: &subject,
            body: &body,
            secret: secret.as_deref(),
        };
        queue(tx, message, now).await?;
    }
    Ok(())
}
