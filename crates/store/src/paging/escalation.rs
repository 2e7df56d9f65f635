//! Escalation steps and pages, acknowledge / resolve, page links, and reading alerts.

use super::*;

/// A due timer as `escalate_due` reads it: id, summary, policy, step, pass, the service's
/// shadow flag.
type DueAlert = (String, String, Option<String>, i64, i64, Option<i64>);

impl Store {
    /// Pages everyone step `position` names (schedules by who is on call now) and sets when
    /// the alert escalates next. For a service in `shadow` mode the step is taken on paper:
    /// the log says whom it would have paged and why, and nothing is sent. Part of the
    /// caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn take_step(
        &self,
        tx: &mut Transaction<'_, Any>,
        pending: &mut Pending,
        alert_id: &str,
        summary: &str,
        policy: &Policy,
        (position, due): (Position, Timestamp),
        shadow: bool,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<()> {
        pending.steps.push((
            alert_id.to_string(),
            position.step as i64,
            position.pass,
            micros(due),
        ));
        log(
            pending,
            alert_id,
            now,
            "step",
            json!({"step": position.step + 1, "pass": position.pass + 1, "escalates_at": due.to_string()}),
        );
        let Some(step) = policy.steps.get(position.step) else {
            return Ok(());
        };
        let mut people: Vec<(String, String)> = Vec::new();
        for target in &step.targets {
            match target {
                Target::Person(email) => people.push((email.clone(), "directly".into())),
                Target::Schedule(schedule) => match (pager.on_call)(schedule, now) {
                    Some(email) => people.push((email, format!("on call in schedule {schedule}"))),
                    None => {
                        log(
                            pending,
                            alert_id,
                            now,
                            "not_paged",
                            json!({"schedule": schedule, "reason": "nobody is on call"}),
                        );
                    }
                },
            }
        }
        people.dedup_by(|a, b| a.0 == b.0);
        // One message per rule: the same method may be used twice ("email now, and again
        // after 10 minutes"), so the rule's place is part of what makes each one unique.
        let seq = (position.pass * 1000 + position.step as i64) * 100;
        for (email, why) in people {
            if pending.disabled(tx, &email).await? {
                log(
                    pending,
                    alert_id,
                    now,
                    "not_paged",
                    json!({"person": email, "reason": "their account is disabled"}),
                );
                continue;
            }
            if shadow {
                let rules = pending.rules(tx, &email).await?;
                for (delay, channel, _, _) in rules {
                    log(
                        pending,
                        alert_id,
                        now,
                        "would_page",
                        json!({"person": email, "why": why, "channel": channel, "after_minutes": delay,
                               "step": position.step + 1, "reason": "shadow mode: nothing is sent"}),
                    );
                }
                continue;
            }
            if self.spend_page(tx, pending, &email, now).await? > pager.per_person_per_hour {
                log(
                    pending,
                    alert_id,
                    now,
                    "not_paged",
                    json!({"person": email, "reason": "rate limit: too many pages in the last hour"}),
                );
                continue;
            }
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|err| StoreError::Corrupt(format!("no randomness for a link: {err}")))?;
            let token = hex::encode(secret);
            pending.links.push((
                firebreak_core::token::hash_token(&token),
                alert_id.to_string(),
                email.clone(),
                micros(now + pager.link_lifetime),
            ));
            let link = format!("{}/alerts/{alert_id}/respond?t={token}", pager.base_url);
            let body = format!(
                "{summary}\n\nYou are paged {why} (step {} of the escalation policy).\n\n\
                 Acknowledge or resolve: {link}\n\nThe link works for {} hours. The alert: {}/alerts/{alert_id}\n",
                position.step + 1,
                pager.link_lifetime.as_hours(),
                pager.base_url
            );
            // The person's own rules, else an email to their address right away.
            let rules = pending.rules(tx, &email).await?;
            for (place, (delay, channel, address, secret)) in rules.into_iter().enumerate() {
                let at = now + SignedDuration::from_mins(delay);
                pending.pages.push(PageMessage {
                    alert_id: alert_id.to_string(),
                    seq: seq + place as i64,
                    person: email.clone(),
                    channel: channel.clone(),
                    address,
                    subject: format!("[Firebreak] ALERT: {summary}"),
                    body: body.clone(),
                    send_at: micros(at),
                    created_at: micros(now),
                    secret,
                });
                log(
                    pending,
                    alert_id,
                    now,
                    "paged",
                    json!({"person": email, "why": why, "channel": channel, "after_minutes": delay, "step": position.step + 1}),
                );
            }
        }
        Ok(())
    }

    /// One escalation pass: every triggered alert whose timer is due takes its next step (or
    /// is logged as exhausted). Claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any
    /// number of workers can run it; answers how many alerts moved.
    pub async fn escalate_due(
        &self,
        pager: &Pager<'_>,
        now: Timestamp,
        limit: i64,
    ) -> Result<usize> {
        let mut tx = self.begin_paging().await?;
        let pending = &mut Pending::new(self.backend());
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "SELECT id, summary, policy, step, pass, \
             (SELECT shadow FROM services WHERE services.id = alerts.service_id) AS shadow \
             FROM alerts WHERE next_escalation_at <= $1 \
             AND status = 'triggered' ORDER BY next_escalation_at LIMIT {limit}{lock}"
        );
        let rows: Vec<DueAlert> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .fetch_all(&mut *tx)
            .await?;
        let count = rows.len();
        for (id, summary, policy, step, pass, shadow) in rows {
            let at = Position {
                step: usize::try_from(step).unwrap_or(0),
                pass,
            };
            let policy = policy
                .as_deref()
                .and_then(|it| serde_json::from_str::<PolicyDoc>(it).ok())
                .map(|it| it.to_core());
            match policy
                .as_ref()
                .and_then(|it| it.next(at, now).map(|next| (it, next)))
            {
                Some((policy, (position, due))) => {
                    log(
                        pending,
                        &id,
                        now,
                        "escalated",
                        json!({"from_step": at.step + 1, "to_step": position.step + 1}),
                    );
                    let shadow = shadow.unwrap_or(0) != 0;
                    self.take_step(
                        &mut tx,
                        pending,
                        &id,
                        &summary,
                        policy,
                        (position, due),
                        shadow,
                        pager,
                        now,
                    )
                    .await?;
                }
                None => {
                    sqlx::query("UPDATE alerts SET next_escalation_at = NULL WHERE id = $1")
                        .bind(id.clone())
                        .execute(&mut *tx)
                        .await?;
                    log(
                        pending,
                        &id,
                        now,
                        "exhausted",
                        json!({"reason": "every step was paged; nobody acknowledged"}),
                    );
                }
            }
        }
        pending.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(count)
    }

    /// The database's clock (PostgreSQL's `clock_timestamp()`), so that replicas whose own
    /// clocks drift still agree on when a timer is due; SQLite is on this machine, so its
    /// clock is the process's.
    pub async fn database_now(&self) -> Result<Timestamp> {
        if self.backend() != Backend::Postgres {
            return Ok(crate::clock::now());
        }
        let now: i64 = sqlx::query_scalar(
            "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT) AS now",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(from_micros(now))
    }

    /// When the next escalation timer is due (acknowledged and resolved alerts have none).
    pub async fn next_escalation_at(&self) -> Result<Option<Timestamp>> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT MIN(next_escalation_at) AS at FROM alerts")
                .fetch_one(self.pool())
                .await?;
        Ok(at.map(from_micros))
    }

    /// Acknowledge or resolve an alert by id (a person, through the API, the CLI, a page or a
    /// link). `Conflict` when it is already in that state or past it.
    pub async fn respond_to_alert(
        &self,
        alert_id: &str,
        action: AlertAction,
        by: &str,
        now: Timestamp,
    ) -> Result<Alert> {
        let mut tx = self.begin_paging().await?;
        let pending = &mut Pending::new(self.backend());
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!("SELECT status FROM alerts WHERE id = $1{lock}");
        let status: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(alert_id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("alert"))?;
        let decision = decide(AlertStatus::parse(&status), action);
        if !matches!(decision, Decision::Acknowledge | Decision::Resolve) {
            return Err(StoreError::Conflict(format!(
                "the alert is already {status}"
            )));
        }
        set_status(&mut tx, pending, alert_id, action, by, now).await?;
        pending.flush(&mut tx).await?;
        tx.commit().await?;
        self.alert(alert_id).await
    }

    /// Alerts whose service's auto-declare rule is still owed an incident: opened at or before
    /// `before` (the request that opened one normally declares it at once) and within the
    /// last day (a declare that keeps failing is given up then), oldest first.
    pub async fn alerts_to_declare(&self, before: Timestamp, limit: i64) -> Result<Vec<Alert>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE declare_pending = 1 AND created_at <= $1 \
             AND created_at > $2 ORDER BY created_at LIMIT {limit}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(before))
            .bind(micros(before - SignedDuration::from_hours(24)))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(alert_from).collect()
    }

    /// Records the incident declared from an alert; `Conflict` if it already has one.
    pub async fn link_alert_incident(
        &self,
        alert_id: &str,
        incident_id: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let pending = &mut Pending::new(self.backend());
        let done = sqlx::query(
            "UPDATE alerts SET incident_id = $2, updated_at = $3, declare_pending = 0 WHERE id = $1 AND incident_id IS NULL",
        )
        .bind(alert_id.to_string())
        .bind(incident_id.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "an incident was already declared from this alert".into(),
            ));
        }
        log(
            pending,
            alert_id,
            now,
            "incident_declared",
            json!({"incident": incident_id, "by": by}),
        );
        pending.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Who a page's link was for, if it is valid for that alert and has not expired.
    pub async fn alert_link(
        &self,
        alert_id: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<String> {
        sqlx::query_scalar(
            "SELECT person FROM alert_links WHERE token_hash = $1 AND alert_id = $2 AND expires_at > $3",
        )
        .bind(token_hash.to_string())
        .bind(alert_id.to_string())
        .bind(micros(now))
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("page link"))
    }

    pub async fn alert(&self, id: &str) -> Result<Alert> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("alert"))?;
        alert_from(&row)
    }

    /// Alerts, newest first: open ones only, or all.
    pub async fn alerts(&self, open_only: bool, limit: i64) -> Result<Vec<Alert>> {
        let filter = if open_only {
            "WHERE status <> 'resolved' "
        } else {
            ""
        };
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts {filter}ORDER BY created_at DESC, id DESC LIMIT {}",
            limit.clamp(1, 1000)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(alert_from).collect()
    }

    /// An alert's log, oldest first.
    pub async fn alert_log(&self, id: &str) -> Result<Vec<AlertLogEntry>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT at, kind, detail FROM alert_log WHERE alert_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, kind, detail)| AlertLogEntry {
                at: from_micros(at),
                kind,
                detail,
            })
            .collect())
    }
}

/// Acknowledges (stops escalation) or resolves (closes, frees the dedup key) an alert in the
/// caller's transaction.
pub(super) async fn set_status(
    tx: &mut Transaction<'_, Any>,
    pending: &mut Pending,
    alert_id: &str,
    action: AlertAction,
    by: &str,
    now: Timestamp,
) -> Result<()> {
    // Pages and positions queued earlier in this transaction are written first, so they are
    // cancelled and stopped like any others.
    pending.flush(tx).await?;
    // The alerts open under each key may change (this one, and a storm's grouped alerts):
    // later events in the transaction look them up again.
    pending.open.clear();
    let (sql, kind) = match action {
        AlertAction::Acknowledge => (
            "UPDATE alerts SET status = 'acknowledged', acknowledged_at = $2, acknowledged_by = $3, \
             next_escalation_at = NULL, updated_at = $2 WHERE id = $1",
            "acknowledged",
        ),
        AlertAction::Resolve => (
            "UPDATE alerts SET status = 'resolved', resolved_at = $2, resolved_by = $3, open_key = NULL, \
             next_escalation_at = NULL, updated_at = $2 WHERE id = $1",
            "resolved",
        ),
        AlertAction::Trigger => return Ok(()),
    };
    sqlx::query(sql)
        .bind(alert_id.to_string())
        .bind(micros(now))
        .bind(by.to_string())
        .execute(&mut **tx)
        .await?;
    // Pages not sent yet (a later rule's webhook, say) are no longer needed.
    let cancelled = sqlx::query(
        "UPDATE notifications SET status = 'cancelled', lease_until = NULL \
         WHERE incident_id = $1 AND kind = 'page' AND status = 'pending'",
    )
    .bind(format!("alert:{alert_id}"))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    log(
        pending,
        alert_id,
        now,
        kind,
        json!({ "by": by, "pages_cancelled": cancelled }),
    );
    // The alerts of a storm grouped into this one follow it (they were never paged).
    let open = if action == AlertAction::Acknowledge {
        "status = 'triggered'"
    } else {
        "status <> 'resolved'"
    };
    let members_sql = format!("SELECT id FROM alerts WHERE group_id = $1 AND {open}");
    let members: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(members_sql))
        .bind(alert_id.to_string())
        .fetch_all(&mut **tx)
        .await?;
    for member in members {
        sqlx::query(sql)
            .bind(member.clone())
            .bind(micros(now))
            .bind(by.to_string())
            .execute(&mut **tx)
            .await?;
        log(
            pending,
            &member,
            now,
            kind,
            json!({ "by": by, "with_group": alert_id }),
        );
    }
    Ok(())
}
