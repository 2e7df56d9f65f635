//! Pages that wake people, as stored: verifying a phone number, STOP / START, what the
//! provider said became of a page, per-number send history for the rate limits, pages
//! grouped into one message, SMS reply codes, push buttons' single-use tokens, and
//! "escalate now" from a phone.

use super::contacts::{CONTACT_COLUMNS, ContactRow, contact_from};
use super::*;
use crate::notifications::Notification;

/// A page by SMS, call or push as the delivery worker sends it: the notification, and the
/// others to the same number it takes along (rate-limited or queued together).
#[derive(Clone, Debug)]
pub struct WakePage {
    pub leader: Notification,
    pub members: Vec<Notification>,
}

/// What became of a wake-up page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WakeOutcome {
    /// The provider took it; its id for the message, call or push.
    Sent { provider_ref: String },
    /// The number's rate limit is full: tried again (with whatever else is waiting) then.
    Deferred { until: Timestamp },
    /// Not sent; `permanent` when trying again cannot help (the contact method is marked).
    Failed { error: String, permanent: bool },
}

/// A push button's token, taken once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionToken {
    pub alert_id: String,
    pub person: String,
    pub action: String,
}

impl Store {
    /// One of `person`'s contact methods.
    pub async fn contact_method(&self, person: &str, id: &str) -> Result<ContactMethod> {
        let sql =
            format!("SELECT {CONTACT_COLUMNS} FROM contact_methods WHERE id = $1 AND person = $2");
        let row: Option<ContactRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .bind(person.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(contact_from)
            .ok_or(StoreError::NotFound("contact method"))
    }

    /// Keeps the code a contact method now waits for (its hash; the last one sent wins), at
    /// most one a minute. `Conflict` when the last one went less than a minute ago.
    pub async fn start_verification(
        &self,
        method: &ContactMethod,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT sent_at FROM contact_verifications WHERE contact_method_id = $1",
        )
        .bind(method.id.clone())
        .fetch_optional(&mut *tx)
        .await?;
        if last.is_some_and(|at| from_micros(at) > now - SignedDuration::from_mins(1)) {
            return Err(StoreError::Conflict(
                "a code was sent less than a minute ago; try again in a minute".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO contact_verifications (contact_method_id, code_hash, expires_at, attempts, sent_at) \
             VALUES ($1, $2, $3, 0, $4) ON CONFLICT (contact_method_id) DO UPDATE SET \
             code_hash = $2, expires_at = $3, attempts = 0, sent_at = $4",
        )
        .bind(method.id.clone())
        .bind(code_hash.to_string())
        .bind(micros(now + firebreak_core::wake::VERIFICATION_LIFETIME))
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the code a contact method waits for (it could not be sent).
    pub async fn cancel_verification(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM contact_verifications WHERE contact_method_id = $1")
            .bind(id.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Checks a code typed back: the right one within its lifetime verifies the method (and
    /// clears a stop or failure: the person says the number works); a wrong one counts
    /// against the few allowed. `Conflict` with the reason otherwise.
    pub async fn finish_verification(
        &self,
        person: &str,
        id: &str,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<ContactMethod> {
        let mut tx = self.begin_write().await?;
        let owned: Option<String> =
            sqlx::query_scalar("SELECT id FROM contact_methods WHERE id = $1 AND person = $2")
                .bind(id.to_string())
                .bind(person.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if owned.is_none() {
            return Err(StoreError::NotFound("contact method"));
        }
        let waiting: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT code_hash, expires_at, attempts FROM contact_verifications WHERE contact_method_id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((hash, expires_at, attempts)) = waiting else {
            return Err(StoreError::Conflict(
                "no code is waiting: send one first".into(),
            ));
        };
        if from_micros(expires_at) <= now || attempts >= firebreak_core::wake::VERIFICATION_ATTEMPTS
        {
            return Err(StoreError::Conflict(
                "that code has expired or was tried too often: send a new one".into(),
            ));
        }
        // Hashes are compared: their timing tells nothing about the code.
        if hash != code_hash {
            sqlx::query(
                "UPDATE contact_verifications SET attempts = attempts + 1 WHERE contact_method_id = $1",
            )
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Err(StoreError::Conflict("that is not the code we sent".into()));
        }
        sqlx::query("DELETE FROM contact_verifications WHERE contact_method_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE contact_methods SET verified_at = $2, stopped_at = NULL, failure = NULL WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.contact_method(person, id).await
    }

    /// The verified SMS methods of this number (the people it belongs to).
    pub async fn contacts_by_phone(&self, phone: &str, kind: &str) -> Result<Vec<ContactMethod>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contact_methods WHERE address = $1 AND kind = $2 \
             AND verified_at IS NOT NULL ORDER BY created_at"
        );
        let rows: Vec<ContactRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(phone.to_string())
            .bind(kind.to_string())
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(contact_from).collect())
    }

    /// STOP (`true`) or START (`false`) from a number: its SMS methods stop or resume.
    /// Answers how many changed.
    pub async fn set_sms_stopped(&self, phone: &str, stopped: bool, now: Timestamp) -> Result<u64> {
        let query = if stopped {
            sqlx::query(
                "UPDATE contact_methods SET stopped_at = $2 WHERE address = $1 AND kind = 'sms' AND stopped_at IS NULL",
            )
            .bind(phone.to_string())
            .bind(micros(now))
        } else {
            // START also clears the provider's "replied STOP" failure (21610).
            sqlx::query(
                "UPDATE contact_methods SET stopped_at = NULL, \
                 failure = CASE WHEN failure LIKE '%STOP%' THEN NULL ELSE failure END \
                 WHERE address = $1 AND kind = 'sms'",
            )
            .bind(phone.to_string())
        };
        Ok(query.execute(self.pool()).await?.rows_affected())
    }

    /// When pages went to this number by this channel since `since` (one per message: pages
    /// sent along with another count once).
    pub async fn sent_to(
        &self,
        channel: &str,
        address: &str,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>> {
        let at: Vec<i64> = sqlx::query_scalar(
            "SELECT sent_at FROM notifications WHERE address = $1 AND channel = $2 AND sent_at > $3 \
             AND status = 'sent' AND grouped_into IS NULL AND kind = 'page'",
        )
        .bind(address.to_string())
        .bind(channel.to_string())
        .bind(micros(since))
        .fetch_all(self.pool())
        .await?;
        Ok(at.into_iter().map(from_micros).collect())
    }

    /// Records what became of a wake-up page and the pages it took along, in one
    /// transaction; a permanent failure also marks the contact method, and each outcome is
    /// a line in the alerts' logs.
    pub async fn record_wake(
        &self,
        page: &WakePage,
        outcome: &WakeOutcome,
        policy: &firebreak_core::retry::RetryPolicy,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let pending = &mut Pending::new(self.backend());
        let leader = &page.leader;
        let everyone = std::iter::once(leader).chain(&page.members);
        match outcome {
            WakeOutcome::Sent { provider_ref } => {
                sqlx::query(
                    "UPDATE notifications SET status = 'sent', attempts = attempts + 1, sent_at = $2, \
                     lease_until = NULL, last_error = NULL, provider_ref = $3, delivery = 'queued' WHERE id = $1",
                )
                .bind(leader.row_id)
                .bind(micros(now))
                .bind(provider_ref.clone())
                .execute(&mut *tx)
                .await?;
                for member in &page.members {
                    sqlx::query(
                        "UPDATE notifications SET status = 'sent', sent_at = $2, lease_until = NULL, \
                         grouped_into = $3 WHERE id = $1",
                    )
                    .bind(member.row_id)
                    .bind(micros(now))
                    .bind(leader.notification_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                if leader.channel == firebreak_core::notify::Channel::Sms {
                    sqlx::query("DELETE FROM sms_passive_replies WHERE phone = $1")
                        .bind(leader.address.clone())
                        .execute(&mut *tx)
                        .await?;
                }
                for it in everyone {
                    log(
                        pending,
                        alert_of(it),
                        now,
                        "page_sent",
                        json!({"person": it.target, "channel": it.channel.as_str(),
                            "with_others": page.members.len(), "provider_ref": provider_ref}),
                    );
                }
            }
            WakeOutcome::Deferred { until } => {
                for it in everyone {
                    sqlx::query(
                        "UPDATE notifications SET next_attempt_at = $2, lease_until = NULL, \
                         last_error = $3 WHERE id = $1",
                    )
                    .bind(it.row_id)
                    .bind(micros(*until))
                    .bind(format!(
                        "rate limit for this number: held until {until}, then sent together"
                    ))
                    .execute(&mut *tx)
                    .await?;
                }
                log(
                    pending,
                    alert_of(leader),
                    now,
                    "page_held",
                    json!({"person": leader.target, "channel": leader.channel.as_str(),
                        "until": until.to_string(), "reason": "rate limit for this number"}),
                );
            }
            WakeOutcome::Failed { error, permanent } => {
                for it in everyone {
                    let attempts = it.attempts + 1;
                    let next = if *permanent {
                        None
                    } else {
                        policy.next_attempt(attempts, now)
                    };
                    sqlx::query(
                        "UPDATE notifications SET status = $2, attempts = $3, next_attempt_at = $4, \
                         lease_until = NULL, last_error = $5, delivery = $6 WHERE id = $1",
                    )
                    .bind(it.row_id)
                    .bind(if next.is_some() { "pending" } else { "dead" })
                    .bind(attempts)
                    .bind(micros(next.unwrap_or(now)))
                    .bind(error.chars().take(1000).collect::<String>())
                    .bind(permanent.then_some("failed"))
                    .execute(&mut *tx)
                    .await?;
                }
                if *permanent {
                    mark_failed(&mut tx, leader, error).await?;
                }
                log(
                    pending,
                    alert_of(leader),
                    now,
                    "page_failed",
                    json!({"person": leader.target, "channel": leader.channel.as_str(),
                        "error": error, "permanent": permanent}),
                );
            }
        }
        pending.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The page a provider's id names (its status callbacks and calls come back with it).
    pub async fn page_by_provider_ref(&self, provider_ref: &str) -> Result<Notification> {
        let sql = format!(
            "SELECT {} FROM notifications WHERE provider_ref = $1",
            crate::notifications::COLUMNS
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(provider_ref.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("page"))?;
        crate::notifications::from_row(&row)
    }

    /// A page by its notification id.
    pub async fn page(&self, notification_id: &str) -> Result<Notification> {
        let sql = format!(
            "SELECT {} FROM notifications WHERE notification_id = $1 AND kind = 'page'",
            crate::notifications::COLUMNS
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(notification_id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("page"))?;
        crate::notifications::from_row(&row)
    }

    /// The alerts one message covered: its own and those sent along with it.
    pub async fn page_alerts(&self, notification_id: &str) -> Result<Vec<String>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT incident_id FROM notifications WHERE (notification_id = $1 OR grouped_into = $1) \
             AND kind = 'page' ORDER BY id",
        )
        .bind(notification_id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut alerts: Vec<String> = ids
            .iter()
            .filter_map(|it| it.strip_prefix("alert:").map(String::from))
            .collect();
        alerts.dedup();
        Ok(alerts)
    }

    /// A provider's status callback: the page's delivery as the provider says (a late
    /// callback never moves it back), the alert's log, and a permanent failure on the person's
    /// contact method. Unknown ids are `NotFound`.
    pub async fn page_delivery(
        &self,
        provider_ref: &str,
        delivery: firebreak_core::wake::Delivery,
        error: Option<String>,
        now: Timestamp,
    ) -> Result<()> {
        let page = self.page_by_provider_ref(provider_ref).await?;
        let rank = |state: Option<&str>| match state {
            Some("delivered") | Some("failed") => 3,
            Some("sent") => 2,
            Some("queued") => 1,
            _ => 0,
        };
        let new = delivery.as_str();
        if rank(Some(new)) < rank(page.delivery.as_deref()) {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let pending = &mut Pending::new(self.backend());
        sqlx::query(
            "UPDATE notifications SET delivery = $2, delivery_error = $3 WHERE provider_ref = $1",
        )
        .bind(provider_ref.to_string())
        .bind(new)
        .bind(error.clone())
        .execute(&mut *tx)
        .await?;
        if let firebreak_core::wake::Delivery::Failed { permanent: true } = delivery {
            mark_failed(
                &mut tx,
                &page,
                error
                    .as_deref()
                    .unwrap_or("the provider could not deliver it"),
            )
            .await?;
        }
        if page.delivery.as_deref() != Some(new) {
            log(
                pending,
                alert_of(&page),
                now,
                "page_delivery",
                json!({"person": page.target, "channel": page.channel.as_str(),
                    "delivery": new, "error": error}),
            );
        }
        pending.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A reply code for an SMS page to `phone`: the code an alert of it already holds on
    /// this number, else the lowest code not held by a page whose alerts are still open.
    pub async fn sms_code(&self, phone: &str, page: &WakePage, now: Timestamp) -> Result<u32> {
        let mut tx = self.begin_write().await?;
        // Codes on this number whose pages still have an open alert.
        let held: Vec<(i64, String)> = sqlx::query_as(
            "SELECT DISTINCT c.code, n.incident_id FROM sms_codes c \
             JOIN notifications n ON n.notification_id = c.notification_id OR n.grouped_into = c.notification_id \
             JOIN alerts a ON a.id = SUBSTR(n.incident_id, 7) \
             WHERE c.phone = $1 AND a.status <> 'resolved'",
        )
        .bind(phone.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let ours = alert_of(&page.leader);
        let code = match held.iter().find(|(_, alert)| {
            alert.strip_prefix("alert:") == Some(ours) && page.members.is_empty()
        }) {
            Some((code, _)) => u32::try_from(*code).unwrap_or(1),
            None => {
                let taken: Vec<u32> = held
                    .iter()
                    .filter_map(|(code, _)| u32::try_from(*code).ok())
                    .collect();
                firebreak_core::wake::next_code(&taken)
            }
        };
        sqlx::query(
            "INSERT INTO sms_codes (phone, code, notification_id, sent_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (phone, code) DO UPDATE SET notification_id = $3, sent_at = $4",
        )
        .bind(phone.to_string())
        .bind(i64::from(code))
        .bind(page.leader.notification_id.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// The page a reply code on this number stands for (`None`: the latest page sent to it).
    pub async fn sms_code_page(&self, phone: &str, code: Option<u32>) -> Result<Option<String>> {
        let found: Option<String> = match code {
            Some(code) => {
                sqlx::query_scalar(
                    "SELECT notification_id FROM sms_codes WHERE phone = $1 AND code = $2",
                )
                .bind(phone.to_string())
                .bind(i64::from(code))
                .fetch_optional(self.pool())
                .await?
            }
            None => {
                sqlx::query_scalar(
                    "SELECT notification_id FROM sms_codes WHERE phone = $1 ORDER BY sent_at DESC LIMIT 1",
                )
                .bind(phone.to_string())
                .fetch_optional(self.pool())
                .await?
            }
        };
        Ok(found)
    }

    /// Counts a reply to `phone` that did nothing; answers whether it may still be answered
    /// (the first `PASSIVE_REPLIES` since the number's last page or action).
    pub async fn passive_reply(&self, phone: &str) -> Result<bool> {
        let replies: i64 = sqlx::query_scalar(
            "INSERT INTO sms_passive_replies (phone, replies) VALUES ($1, 1) ON CONFLICT (phone) \
             DO UPDATE SET replies = sms_passive_replies.replies + 1 RETURNING replies",
        )
        .bind(phone.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(replies <= firebreak_core::wake::PASSIVE_REPLIES)
    }

    /// A page to the number, or an action from it: replies are answered again.
    pub async fn reset_passive_replies(&self, phone: &str) -> Result<()> {
        sqlx::query("DELETE FROM sms_passive_replies WHERE phone = $1")
            .bind(phone.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// An alert by its id or the first 8+ characters of it, if exactly one matches.
    pub async fn alert_by_prefix(&self, prefix: &str) -> Result<Option<String>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM alerts WHERE id >= $1 AND id < $2 ORDER BY id LIMIT 2",
        )
        .bind(prefix.to_string())
        .bind(format!("{prefix}\u{7f}"))
        .fetch_all(self.pool())
        .await?;
        Ok(match ids.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        })
    }

    /// Tokens for a push page's buttons (each single-use).
    pub async fn create_action_tokens(
        &self,
        alert_id: &str,
        person: &str,
        tokens: &[(String, &str)],
        expires_at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for (hash, action) in tokens {
            sqlx::query(
                "INSERT INTO action_tokens (token_hash, alert_id, person, action, expires_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(hash.clone())
            .bind(alert_id.to_string())
            .bind(person.to_string())
            .bind(action.to_string())
            .bind(micros(expires_at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes a button's token: it works once, before it expires. `NotFound` otherwise.
    pub async fn take_action_token(&self, token_hash: &str, now: Timestamp) -> Result<ActionToken> {
        let taken: Option<(String, String, String, i64)> = sqlx::query_as(
            "DELETE FROM action_tokens WHERE token_hash = $1 RETURNING alert_id, person, action, expires_at",
        )
        .bind(token_hash.to_string())
        .fetch_optional(self.pool())
        .await?;
        match taken {
            Some((alert_id, person, action, expires_at)) if from_micros(expires_at) > now => {
                Ok(ActionToken {
                    alert_id,
                    person,
                    action,
                })
            }
            _ => Err(StoreError::NotFound("button token")),
        }
    }

    /// "Escalate now" from a phone: a triggered alert's timer is due at once, so the
    /// escalation worker pages the next step. `Conflict` when it is not triggered.
    pub async fn escalate_now(&self, alert_id: &str, by: &str, now: Timestamp) -> Result<Alert> {
        let mut tx = self.begin_write().await?;
        let pending = &mut Pending::new(self.backend());
        let done = sqlx::query(
            "UPDATE alerts SET next_escalation_at = $2, updated_at = $2 WHERE id = $1 AND status = 'triggered'",
        )
        .bind(alert_id.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM alerts WHERE id = $1")
                    .bind(alert_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match status {
                None => StoreError::NotFound("alert"),
                Some(status) => StoreError::Conflict(format!("the alert is already {status}")),
            });
        }
        log(
            pending,
            alert_id,
            now,
            "escalation_requested",
            json!({ "by": by }),
        );
        pending.flush(&mut tx).await?;
        tx.commit().await?;
        self.alert(alert_id).await
    }
}

fn alert_of(page: &Notification) -> &str {
    page.incident_id
        .strip_prefix("alert:")
        .unwrap_or(&page.incident_id)
}

/// The person's contact method this page went to cannot be reached: it says why, and pages
/// stop using it until it is verified again.
async fn mark_failed(
    tx: &mut Transaction<'_, Any>,
    page: &Notification,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE contact_methods SET failure = $4 WHERE person = $1 AND kind = $2 AND address = $3",
    )
    .bind(page.target.clone())
    .bind(page.channel.as_str())
    .bind(page.address.clone())
    .bind(reason.chars().take(300).collect::<String>())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
