//! Paging as stored: teams, escalation policies, services and their integration keys, and
//! alerts — ingested, deduplicated, escalated and paged, each step in the alert's log.
//!
//! An alert event is applied in one transaction with the open alert locked (`FOR UPDATE` on
//! PostgreSQL; SQLite writes one transaction at a time): the decision is `core::paging::decide`,
//! and a new alert takes a snapshot of its service's policy, pages step 1 and sets its
//! escalation time. Escalation timers are the `next_escalation_at` column, claimed by any
//! number of workers with `FOR UPDATE SKIP LOCKED`; a page is a row in `notifications`
//! queued in the same transaction, so an alert is paged exactly when its step is taken.

use std::collections::HashMap;

use firebreak_core::paging::{
    AlertAction, AlertSeverity, AlertStatus, Decision, NewAlert, Policy, Position, Quiet, Silence,
    Step, Target, decide, quiet,
};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::db::{Backend, begin_write};
use crate::{Result, Store, StoreError};

/// The stored form of a policy (the API's shape).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PolicyDoc {
    pub steps: Vec<StepDoc>,
    #[serde(default)]
    pub repeat: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct StepDoc {
    pub targets: Vec<TargetDoc>,
    pub delay_minutes: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TargetDoc {
    /// `person` (an email) or `schedule` (a schedule id).
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

impl PolicyDoc {
    pub fn to_core(&self) -> Policy {
        Policy {
            steps: self
                .steps
                .iter()
                .map(|step| Step {
                    targets: step
                        .targets
                        .iter()
                        .map(|it| match it.kind.as_str() {
                            "schedule" => Target::Schedule(it.id.clone()),
                            _ => Target::Person(it.id.clone()),
                        })
                        .collect(),
                    delay_minutes: step.delay_minutes,
                })
                .collect(),
            repeat: self.repeat,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscalationPolicy {
    pub id: String,
    pub name: String,
    pub policy: PolicyDoc,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub team_id: Option<String>,
    pub policy_id: Option<String>,
    pub depends_on: Vec<String>,
    pub runbook_url: String,
    /// Alerts opened within this many minutes of an open alert join it (one page); 0: off.
    pub group_window_minutes: i64,
    /// Every new alert of at least this severity opens an incident; empty: never.
    pub auto_declare_severity: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrationKey {
    pub id: String,
    pub service_id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub id: String,
    pub service_id: String,
    pub dedup_key: String,
    pub status: AlertStatus,
    pub summary: String,
    pub severity: AlertSeverity,
    pub source: String,
    /// JSON.
    pub details: String,
    /// JSON array of `{href, text}`.
    pub links: String,
    pub count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
    pub step: i64,
    pub pass: i64,
    pub next_escalation_at: Option<Timestamp>,
    pub incident_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertLogEntry {
    pub at: Timestamp,
    pub kind: String,
    /// JSON.
    pub detail: String,
}

/// An event from a monitoring tool, already parsed from its wire format.
#[derive(Clone, Debug)]
pub struct IncomingAlert {
    pub action: AlertAction,
    pub dedup_key: String,
    pub summary: String,
    pub severity: AlertSeverity,
    pub source: String,
    /// JSON.
    pub details: String,
    /// JSON array.
    pub links: String,
    /// Where it came from, for the log: `pagerduty`, `alertmanager`, `opsgenie`, `api`.
    pub via: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    pub decision: Decision,
    /// The alert the event went to (none when dropped).
    pub alert_id: Option<String>,
}

/// What paging needs from outside the store: who a schedule has on call, the server's
/// address for acknowledge links, and the per-person limit.
pub struct Pager<'a> {
    pub on_call: &'a (dyn Fn(&str, Timestamp) -> Option<String> + Send + Sync),
    pub base_url: &'a str,
    /// Pages one person may get in an hour; more are logged, not sent.
    pub per_person_per_hour: i64,
    /// How long an acknowledge / resolve link in a page works.
    pub link_lifetime: SignedDuration,
    /// A key that opens this many alerts within `flap_window` is flapping: kept, not paged.
    /// 0: off.
    pub flap_threshold: usize,
    pub flap_window: SignedDuration,
}

const ALERT_COLUMNS: &str = "id, service_id, dedup_key, status, summary, severity, source, details, links, count, \
    created_at, updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, step, pass, \
    next_escalation_at, incident_id";

fn alert_from(row: &AnyRow) -> Result<Alert> {
    let status: String = row.try_get("status")?;
    let severity: String = row.try_get("severity")?;
    let opt_time = |name: &str| -> Result<Option<Timestamp>> {
        Ok(row.try_get::<Option<i64>, _>(name)?.map(from_micros))
    };
    Ok(Alert {
        id: row.try_get("id")?,
        service_id: row.try_get("service_id")?,
        dedup_key: row.try_get("dedup_key")?,
        status: AlertStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("alert status {status:?}")))?,
        summary: row.try_get("summary")?,
        severity: AlertSeverity::parse(&severity).unwrap_or(AlertSeverity::Error),
        source: row.try_get("source")?,
        details: row.try_get("details")?,
        links: row.try_get("links")?,
        count: row.try_get("count")?,
        created_at: from_micros(row.try_get("created_at")?),
        updated_at: from_micros(row.try_get("updated_at")?),
        acknowledged_at: opt_time("acknowledged_at")?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        resolved_at: opt_time("resolved_at")?,
        resolved_by: row.try_get("resolved_by")?,
        step: row.try_get("step")?,
        pass: row.try_get("pass")?,
        next_escalation_at: opt_time("next_escalation_at")?,
        incident_id: row.try_get("incident_id")?,
    })
}

fn silence_from(row: &AnyRow) -> Result<Silence> {
    Ok(Silence {
        id: row.try_get("id")?,
        service_id: row.try_get("service_id")?,
        matching: row.try_get("matching")?,
        starts: from_micros(row.try_get("starts_at")?),
        ends: from_micros(row.try_get("ends_at")?),
    })
}

fn service_from(row: &AnyRow) -> Result<Service> {
    let depends: String = row.try_get("depends_on")?;
    Ok(Service {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        team_id: row.try_get("team_id")?,
        policy_id: row.try_get("policy_id")?,
        depends_on: serde_json::from_str(&depends).unwrap_or_default(),
        runbook_url: row.try_get("runbook_url")?,
        group_window_minutes: row.try_get("group_window_minutes")?,
        auto_declare_severity: row.try_get("auto_declare_severity")?,
    })
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.code()
                .is_some_and(|code| code == "23505" || code == "2067" || code == "1555")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// What a paging transaction owes the database before it commits, and what it has read once
/// already. Log entries and page links are written together at the end (one statement for
/// many: what lets a batch of alerts commit quickly); the silences in effect, policies and
/// people's rules are read once per transaction (nothing in it changes them).
#[derive(Default)]
struct Pending {
    log: Vec<(String, String, i64, String, String)>,
    /// (token hash, alert, person, expires at).
    links: Vec<(String, String, String, i64)>,
    silences: Option<Vec<Silence>>,
    policies: HashMap<String, Option<String>>,
    rules: HashMap<String, Vec<PageRule>>,
}

/// A person's notification rule as paging uses it: after minutes, channel, address, secret.
type PageRule = (i64, String, String, Option<String>);

/// Rows per INSERT (at most 5 parameters each, well under every backend's limit).
const ROWS_PER_INSERT: usize = 200;

/// `($1, $2, …), ($k+1, …)`: placeholders for `rows` rows of `width` values.
fn placeholders(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells = (1..=width)
                .map(|cell| format!("${}", row * width + cell))
                .collect::<Vec<_>>()
                .join(", ");
            format!("({cells})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Pending {
    async fn flush(&mut self, tx: &mut Transaction<'static, Any>) -> Result<()> {
        for chunk in self.log.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO alert_log (id, alert_id, at, kind, detail) VALUES {}",
                placeholders(chunk.len(), 5)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, alert_id, at, kind, detail) in chunk {
                query = query
                    .bind(id.clone())
                    .bind(alert_id.clone())
                    .bind(*at)
                    .bind(kind.clone())
                    .bind(detail.clone());
            }
            query.execute(&mut **tx).await?;
        }
        self.log.clear();
        for chunk in self.links.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO alert_links (token_hash, alert_id, person, expires_at) VALUES {}",
                placeholders(chunk.len(), 4)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (hash, alert_id, person, expires_at) in chunk {
                query = query
                    .bind(hash.clone())
                    .bind(alert_id.clone())
                    .bind(person.clone())
                    .bind(*expires_at);
            }
            query.execute(&mut **tx).await?;
        }
        self.links.clear();
        Ok(())
    }

    /// The silences in effect at `now` (every transaction has one `now`).
    async fn silences(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        now: Timestamp,
    ) -> Result<&[Silence]> {
        if self.silences.is_none() {
            let rows = sqlx::query(
                "SELECT id, service_id, matching, starts_at, ends_at FROM silences \
                 WHERE starts_at <= $1 AND ends_at > $1",
            )
            .bind(micros(now))
            .fetch_all(&mut **tx)
            .await?;
            self.silences = Some(rows.iter().map(silence_from).collect::<Result<_>>()?);
        }
        Ok(self.silences.as_deref().unwrap_or_default())
    }

    /// An escalation policy as stored (JSON), if it exists.
    async fn policy(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        id: &str,
    ) -> Result<Option<String>> {
        if let Some(policy) = self.policies.get(id) {
            return Ok(policy.clone());
        }
        let policy = sqlx::query("SELECT policy FROM escalation_policies WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await?
            .map(|row| row.try_get::<String, _>("policy"))
            .transpose()?;
        self.policies.insert(id.to_string(), policy.clone());
        Ok(policy)
    }

    /// A person's notification rules, soonest first; none: an email to them at once.
    async fn rules(
        &mut self,
        tx: &mut Transaction<'static, Any>,
        person: &str,
    ) -> Result<Vec<PageRule>> {
        if let Some(rules) = self.rules.get(person) {
            return Ok(rules.clone());
        }
        let mut rules = sqlx::query(
            "SELECT r.delay_minutes, m.kind, m.address, m.secret FROM notification_rules r \
             JOIN contact_methods m ON m.id = r.contact_method_id WHERE r.person = $1 ORDER BY r.delay_minutes",
        )
        .bind(person.to_string())
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("delay_minutes")?,
                row.try_get("kind")?,
                row.try_get("address")?,
                row.try_get("secret")?,
            ))
        })
        .collect::<Result<Vec<PageRule>>>()?;
        if rules.is_empty() {
            rules.push((0, "email".into(), person.to_string(), None));
        }
        self.rules.insert(person.to_string(), rules.clone());
        Ok(rules)
    }
}

/// Adds an entry to the alert's log (written when the transaction's buffer is flushed).
fn log(
    pending: &mut Pending,
    alert_id: &str,
    at: Timestamp,
    kind: &str,
    detail: serde_json::Value,
) {
    pending.log.push((
        Uuid::now_v7().to_string(),
        alert_id.to_string(),
        micros(at),
        kind.to_string(),
        detail.to_string(),
    ));
}

impl Store {
    // ----- teams, policies, services, keys -----

    pub async fn create_team(
        &self,
        name: &str,
        members: &[String],
        now: Timestamp,
    ) -> Result<Team> {
        let id = Uuid::now_v7().to_string();
        sqlx::query("INSERT INTO teams (id, name, members, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id.clone())
            .bind(name.to_string())
            .bind(serde_json::to_string(members).unwrap_or_else(|_| "[]".into()))
            .bind(micros(now))
            .execute(self.pool())
            .await
            .map_err(|err| {
                if is_unique_violation(&err) {
                    StoreError::Conflict(format!("a team named {name:?} exists"))
                } else {
                    err.into()
                }
            })?;
        Ok(Team {
            id,
            name: name.into(),
            members: members.to_vec(),
        })
    }

    pub async fn teams(&self) -> Result<Vec<Team>> {
        let rows = sqlx::query("SELECT id, name, members FROM teams ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let members: String = row.try_get("members")?;
                Ok(Team {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    members: serde_json::from_str(&members).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// A team by id or name.
    pub async fn team(&self, id_or_name: &str) -> Result<Team> {
        self.teams()
            .await?
            .into_iter()
            .find(|it| it.id == id_or_name || it.name == id_or_name)
            .ok_or(StoreError::NotFound)
    }

    pub async fn create_policy(
        &self,
        name: &str,
        policy: &PolicyDoc,
        now: Timestamp,
    ) -> Result<EscalationPolicy> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO escalation_policies (id, name, policy, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(id.clone())
        .bind(name.to_string())
        .bind(serde_json::to_string(policy).unwrap_or_default())
        .bind(micros(now))
        .execute(self.pool())
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                StoreError::Conflict(format!("a policy named {name:?} exists"))
            } else {
                err.into()
            }
        })?;
        Ok(EscalationPolicy {
            id,
            name: name.into(),
            policy: policy.clone(),
        })
    }

    pub async fn update_policy(&self, id: &str, policy: &PolicyDoc, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE escalation_policies SET policy = $2, updated_at = $3 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(serde_json::to_string(policy).unwrap_or_default())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn policies(&self) -> Result<Vec<EscalationPolicy>> {
        let rows = sqlx::query("SELECT id, name, policy FROM escalation_policies ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let policy: String = row.try_get("policy")?;
                Ok(EscalationPolicy {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    policy: serde_json::from_str(&policy)
                        .map_err(|err| StoreError::Corrupt(format!("policy: {err}")))?,
                })
            })
            .collect()
    }

    /// A policy by id or name.
    pub async fn policy(&self, id_or_name: &str) -> Result<EscalationPolicy> {
        self.policies()
            .await?
            .into_iter()
            .find(|it| it.id == id_or_name || it.name == id_or_name)
            .ok_or(StoreError::NotFound)
    }

    pub async fn create_service(&self, service: &Service, now: Timestamp) -> Result<Service> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO services (id, name, team_id, policy_id, depends_on, runbook_url, created_at, updated_at, \
             group_window_minutes, auto_declare_severity) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)",
        )
        .bind(id.clone())
        .bind(service.name.clone())
        .bind(service.team_id.clone())
        .bind(service.policy_id.clone())
        .bind(serde_json::to_string(&service.depends_on).unwrap_or_else(|_| "[]".into()))
        .bind(service.runbook_url.clone())
        .bind(micros(now))
        .bind(service.group_window_minutes)
        .bind(service.auto_declare_severity.clone())
        .execute(self.pool())
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                StoreError::Conflict(format!("a service named {:?} exists", service.name))
            } else {
                err.into()
            }
        })?;
        Ok(Service {
            id,
            ..service.clone()
        })
    }

    /// Replaces a service's settings (its id and keys stay); `NotFound`, or `Conflict` when
    /// another service has the name.
    pub async fn replace_service(&self, service: &Service, now: Timestamp) -> Result<Service> {
        let done = sqlx::query(
            "UPDATE services SET name = $2, team_id = $3, policy_id = $4, depends_on = $5, runbook_url = $6, \
             updated_at = $7, group_window_minutes = $8, auto_declare_severity = $9 WHERE id = $1",
        )
        .bind(service.id.clone())
        .bind(service.name.clone())
        .bind(service.team_id.clone())
        .bind(service.policy_id.clone())
        .bind(serde_json::to_string(&service.depends_on).unwrap_or_else(|_| "[]".into()))
        .bind(service.runbook_url.clone())
        .bind(micros(now))
        .bind(service.group_window_minutes)
        .bind(service.auto_declare_severity.clone())
        .execute(self.pool())
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                StoreError::Conflict(format!("a service named {:?} exists", service.name))
            } else {
                err.into()
            }
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(service.clone())
    }

    pub async fn services(&self) -> Result<Vec<Service>> {
        let rows = sqlx::query(
            "SELECT id, name, team_id, policy_id, depends_on, runbook_url, group_window_minutes, auto_declare_severity FROM services ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(service_from).collect()
    }

    /// A service by id or name.
    pub async fn service(&self, id_or_name: &str) -> Result<Service> {
        let row = sqlx::query(
            "SELECT id, name, team_id, policy_id, depends_on, runbook_url, group_window_minutes, auto_declare_severity FROM services WHERE id = $1 OR name = $1",
        )
        .bind(id_or_name.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        service_from(&row)
    }

    /// Records an integration key by the SHA-256 of its clear text.
    pub async fn create_integration_key(
        &self,
        service_id: &str,
        name: &str,
        key_hash: &str,
        now: Timestamp,
    ) -> Result<IntegrationKey> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO integration_keys (id, service_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.clone())
        .bind(service_id.to_string())
        .bind(name.to_string())
        .bind(key_hash.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(IntegrationKey {
            id,
            service_id: service_id.into(),
            name: name.into(),
            created_at: now,
            revoked_at: None,
        })
    }

    pub async fn integration_keys(&self, service_id: &str) -> Result<Vec<IntegrationKey>> {
        let rows = sqlx::query(
            "SELECT id, service_id, name, created_at, revoked_at FROM integration_keys WHERE service_id = $1 ORDER BY created_at",
        )
        .bind(service_id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(IntegrationKey {
                    id: row.try_get("id")?,
                    service_id: row.try_get("service_id")?,
                    name: row.try_get("name")?,
                    created_at: from_micros(row.try_get("created_at")?),
                    revoked_at: row
                        .try_get::<Option<i64>, _>("revoked_at")?
                        .map(from_micros),
                })
            })
            .collect()
    }

    pub async fn revoke_integration_key(
        &self,
        service_id: &str,
        key_id: &str,
        now: Timestamp,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE integration_keys SET revoked_at = $3 WHERE id = $1 AND service_id = $2 AND revoked_at IS NULL",
        )
        .bind(key_id.to_string())
        .bind(service_id.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The service a live integration key belongs to.
    pub async fn service_by_key(&self, key_hash: &str) -> Result<Service> {
        let row = sqlx::query(
            "SELECT s.id, s.name, s.team_id, s.policy_id, s.depends_on, s.runbook_url, s.group_window_minutes, s.auto_declare_severity FROM integration_keys k \
             JOIN services s ON s.id = k.service_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(key_hash.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        service_from(&row)
    }

    // ----- alerts -----

    /// Applies an event from a monitoring tool to the service's alerts. Answers only once it
    /// is committed. Two triggers racing to open the same key: one opens, the other counts.
    pub async fn ingest_alert(
        &self,
        service: &Service,
        incoming: &IncomingAlert,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<Ingested> {
        match self.ingest_once(service, incoming, pager, now).await {
            Err(StoreError::Database(err)) if is_unique_violation(&err) => {
                self.ingest_once(service, incoming, pager, now).await
            }
            other => other,
        }
    }

    /// Applies many events in one transaction, in order (group commit: one fsync for all, so
    /// a burst from monitoring is not one commit per alert). Each answer is as
    /// `ingest_alert`'s. If the database refuses any of them (another replica opened the
    /// same key meanwhile, say), the whole batch is rolled back and each event is applied
    /// alone, so one cannot fail its neighbours.
    pub async fn ingest_alerts(
        &self,
        events: &[(&Service, &IncomingAlert)],
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Vec<Result<Ingested>> {
        let together = async {
            let mut tx = self.pool().begin_with(begin_write(self.backend())).await?;
            let pending = &mut Pending::default();
            let mut done = Vec::with_capacity(events.len());
            for (service, incoming) in events {
                done.push(
                    self.apply_alert(&mut tx, pending, service, incoming, pager, now)
                        .await?,
                );
            }
            pending.flush(&mut tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(done)
        };
        match together.await {
            Ok(done) => done.into_iter().map(Ok).collect(),
            Err(err) => {
                if events.len() > 1 {
                    tracing::debug!(error = %err, n = events.len(), "alert batch failed; applying its events one by one");
                }
                let mut done = Vec::with_capacity(events.len());
                for (service, incoming) in events {
                    done.push(self.ingest_alert(service, incoming, pager, now).await);
                }
                done
            }
        }
    }

    async fn ingest_once(
        &self,
        service: &Service,
        incoming: &IncomingAlert,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<Ingested> {
        let mut tx = self.pool().begin_with(begin_write(self.backend())).await?;
        let pending = &mut Pending::default();
        let done = self
            .apply_alert(&mut tx, pending, service, incoming, pager, now)
            .await?;
        pending.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// One event inside the caller's write transaction.
    async fn apply_alert(
        &self,
        tx: &mut Transaction<'static, Any>,
        pending: &mut Pending,
        service: &Service,
        incoming: &IncomingAlert,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<Ingested> {
        let open_key = format!("{}/{}", service.id, incoming.dedup_key);
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!("SELECT id, status FROM alerts WHERE open_key = $1{lock}");
        let open = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(open_key.clone())
            .fetch_optional(&mut **tx)
            .await?;
        let (open_id, open_status) = match &open {
            Some(row) => {
                let status: String = row.try_get("status")?;
                (
                    Some(row.try_get::<String, _>("id")?),
                    AlertStatus::parse(&status),
                )
            }
            None => (None, None),
        };
        let decision = decide(open_status, incoming.action);
        let detail = json!({ "via": incoming.via, "dedup_key": incoming.dedup_key });
        let alert_id = match (decision, open_id) {
            (Decision::Open, _) => {
                let id = Uuid::now_v7().to_string();
                let policy = match &service.policy_id {
                    Some(policy_id) => pending.policy(tx, policy_id).await?,
                    None => None,
                };
                sqlx::query(
                    "INSERT INTO alerts (id, service_id, dedup_key, open_key, status, summary, severity, source, \
                     details, links, count, created_at, updated_at, policy, declare_pending) \
                     VALUES ($1, $2, $3, $4, 'triggered', $5, $6, $7, $8, $9, 1, $10, $10, $11, $12)",
                )
                .bind(id.clone())
                .bind(service.id.clone())
                .bind(incoming.dedup_key.clone())
                .bind(open_key)
                .bind(incoming.summary.clone())
                .bind(incoming.severity.as_str())
                .bind(incoming.source.clone())
                .bind(incoming.details.clone())
                .bind(incoming.links.clone())
                .bind(micros(now))
                .bind(policy.clone())
                // The service's auto-declare rule is owed an incident for this alert until
                // one is linked (`alerts_to_declare` finds it if the first try is lost).
                .bind(i64::from(firebreak_core::paging::auto_declares(
                    &service.auto_declare_severity,
                    incoming.severity,
                )))
                .execute(&mut **tx)
                .await?;
                log(pending, &id, now, "triggered", detail);
                if let Some(quiet) = self
                    .quiet(tx, pending, service, incoming, &id, pager, now)
                    .await?
                {
                    let (reason, extra) = match &quiet {
                        Quiet::Silenced { silence } => {
                            ("silenced".to_string(), json!({ "silence": silence }))
                        }
                        Quiet::Flapping { opened } => (
                            format!("flapping: the key opened {opened} alerts recently"),
                            json!({ "opened": opened }),
                        ),
                        Quiet::Grouped { into } => {
                            sqlx::query("UPDATE alerts SET group_id = $2 WHERE id = $1")
                                .bind(id.clone())
                                .bind(into.clone())
                                .execute(&mut **tx)
                                .await?;
                            (
                                "grouped into an open alert of the service (paged once)"
                                    .to_string(),
                                json!({ "group": into }),
                            )
                        }
                    };
                    log(
                        pending,
                        &id,
                        now,
                        "not_paged",
                        json!({"reason": reason, "detail": extra}),
                    );
                    return Ok(Ingested {
                        decision,
                        alert_id: Some(id),
                    });
                }
                let parsed = policy
                    .as_deref()
                    .and_then(|it| serde_json::from_str::<PolicyDoc>(it).ok())
                    .map(|it| it.to_core());
                match parsed
                    .as_ref()
                    .and_then(|it| it.start(now).map(|s| (it, s)))
                {
                    Some((policy, (position, due))) => {
                        self.take_step(
                            tx,
                            pending,
                            &id,
                            &incoming.summary,
                            policy,
                            position,
                            due,
                            pager,
                            now,
                        )
                        .await?;
                    }
                    None => {
                        log(
                            pending,
                            &id,
                            now,
                            "not_paged",
                            json!({"reason": "the service has no escalation policy"}),
                        );
                    }
                }
                Some(id)
            }
            (Decision::Count, Some(id)) => {
                sqlx::query("UPDATE alerts SET count = count + 1, updated_at = $2 WHERE id = $1")
                    .bind(id.clone())
                    .bind(micros(now))
                    .execute(&mut **tx)
                    .await?;
                log(pending, &id, now, "counted", detail);
                Some(id)
            }
            (Decision::Acknowledge | Decision::Resolve, Some(id)) => {
                let action = if decision == Decision::Acknowledge {
                    AlertAction::Acknowledge
                } else {
                    AlertAction::Resolve
                };
                set_status(tx, pending, &id, action, incoming.via, now).await?;
                Some(id)
            }
            _ => None,
        };
        Ok(Ingested { decision, alert_id })
    }

    /// Counts a page to `person` and answers how many they have had in the current window:
    /// an hour long, starting with the first page after the last window ended. On
    /// PostgreSQL the count is its own short transaction, shared at once by every lane and
    /// replica (holding the row until a batch commits would make batches wait on each other,
    /// or deadlock); a batch that then fails has spent a little budget without paging,
    /// never the other way round. SQLite has one writer, so it counts in the transaction.
    async fn spend_page(
        &self,
        tx: &mut Transaction<'static, Any>,
        person: &str,
        now: Timestamp,
    ) -> Result<i64> {
        let query = sqlx::query(
            "INSERT INTO page_budget (person, window_start, pages) VALUES ($1, $2, 1) \
             ON CONFLICT (person) DO UPDATE SET \
             pages = CASE WHEN page_budget.window_start <= $3 THEN 1 ELSE page_budget.pages + 1 END, \
             window_start = CASE WHEN page_budget.window_start <= $3 THEN $2 ELSE page_budget.window_start END \
             RETURNING pages",
        )
        .bind(person.to_string())
        .bind(micros(now))
        .bind(micros(now - SignedDuration::from_hours(1)));
        let row = match self.backend() {
            Backend::Postgres => query.fetch_one(self.pool()).await?,
            Backend::Sqlite => query.fetch_one(&mut **tx).await?,
        };
        Ok(row.try_get("pages")?)
    }

    /// Whether a new alert stays quiet: silenced, flapping, or part of a storm.
    #[allow(clippy::too_many_arguments)]
    async fn quiet(
        &self,
        tx: &mut Transaction<'static, Any>,
        pending: &mut Pending,
        service: &Service,
        incoming: &IncomingAlert,
        id: &str,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<Option<Quiet>> {
        let silences = pending.silences(tx, now).await?.to_vec();
        let opened_recently: i64 = if pager.flap_threshold > 0 {
            sqlx::query(
                "SELECT COUNT(*) AS n FROM alerts WHERE service_id = $1 AND dedup_key = $2 AND created_at >= $3",
            )
            .bind(service.id.clone())
            .bind(incoming.dedup_key.clone())
            .bind(micros(now - pager.flap_window))
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?
        } else {
            0
        };
        let storm: Option<String> = if service.group_window_minutes > 0 {
            sqlx::query(
                "SELECT id FROM alerts WHERE service_id = $1 AND status <> 'resolved' AND group_id IS NULL \
                 AND id <> $2 AND created_at >= $3 ORDER BY created_at LIMIT 1",
            )
            .bind(service.id.clone())
            .bind(id.to_string())
            .bind(micros(now - SignedDuration::from_mins(service.group_window_minutes)))
            .fetch_optional(&mut **tx)
            .await?
            .map(|row| row.try_get::<String, _>("id"))
            .transpose()?
        } else {
            None
        };
        Ok(quiet(&NewAlert {
            service_id: &service.id,
            summary: &incoming.summary,
            dedup_key: &incoming.dedup_key,
            at: now,
            silences: &silences,
            opened_recently: usize::try_from(opened_recently).unwrap_or(0),
            flap_threshold: pager.flap_threshold,
            storm: storm.as_deref(),
        }))
    }

    /// A silence (or, for a whole service, a maintenance window).
    pub async fn create_silence(
        &self,
        silence: &Silence,
        comment: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<Silence> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO silences (id, service_id, matching, starts_at, ends_at, comment, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.clone())
        .bind(silence.service_id.clone())
        .bind(silence.matching.clone())
        .bind(micros(silence.starts))
        .bind(micros(silence.ends))
        .bind(comment.to_string())
        .bind(by.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(Silence {
            id,
            ..silence.clone()
        })
    }

    /// Silences not yet over at `now` (active or to come), with their comment and author.
    pub async fn silences(&self, now: Timestamp) -> Result<Vec<(Silence, String, String)>> {
        let rows = sqlx::query(
            "SELECT id, service_id, matching, starts_at, ends_at, comment, created_by FROM silences \
             WHERE ends_at > $1 ORDER BY starts_at",
        )
        .bind(micros(now))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    silence_from(row)?,
                    row.try_get("comment")?,
                    row.try_get("created_by")?,
                ))
            })
            .collect()
    }

    /// Ends a silence now.
    pub async fn end_silence(&self, id: &str, now: Timestamp) -> Result<()> {
        let done = sqlx::query("UPDATE silences SET ends_at = $2 WHERE id = $1 AND ends_at > $2")
            .bind(id.to_string())
            .bind(micros(now))
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Pages everyone step `position` names (schedules by who is on call now) and sets when
    /// the alert escalates next. Part of the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    async fn take_step(
        &self,
        tx: &mut Transaction<'static, Any>,
        pending: &mut Pending,
        alert_id: &str,
        summary: &str,
        policy: &Policy,
        position: Position,
        due: Timestamp,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE alerts SET step = $2, pass = $3, next_escalation_at = $4 WHERE id = $1",
        )
        .bind(alert_id.to_string())
        .bind(position.step as i64)
        .bind(position.pass)
        .bind(micros(due))
        .execute(&mut **tx)
        .await?;
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
            if self.spend_page(tx, &email, now).await? > pager.per_person_per_hour {
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
                sqlx::query(
                    "INSERT INTO notifications (notification_id, incident_id, seq, kind, target, channel, address, \
                     subject, body, status, attempts, next_attempt_at, created_at, secret) \
                     VALUES ($1, $2, $3, 'page', $4, $5, $6, $7, $8, 'pending', 0, $9, $10, $11) \
                     ON CONFLICT (incident_id, seq, channel, address) DO NOTHING",
                )
                .bind(Uuid::now_v7().to_string())
                .bind(format!("alert:{alert_id}"))
                .bind(seq + place as i64)
                .bind(email.clone())
                .bind(channel.clone())
                .bind(address)
                .bind(format!("[Firebreak] ALERT: {summary}"))
                .bind(body.clone())
                .bind(micros(at))
                .bind(micros(now))
                .bind(secret)
                .execute(&mut **tx)
                .await?;
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
        let mut tx = self.pool().begin_with(begin_write(self.backend())).await?;
        let pending = &mut Pending::default();
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "SELECT id, summary, policy, step, pass FROM alerts WHERE next_escalation_at <= $1 \
             AND status = 'triggered' ORDER BY next_escalation_at LIMIT {limit}{lock}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .fetch_all(&mut *tx)
            .await?;
        let count = rows.len();
        for row in rows {
            let id: String = row.try_get("id")?;
            let summary: String = row.try_get("summary")?;
            let policy: Option<String> = row.try_get("policy")?;
            let at = Position {
                step: usize::try_from(row.try_get::<i64, _>("step")?).unwrap_or(0),
                pass: row.try_get("pass")?,
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
                    self.take_step(
                        &mut tx, pending, &id, &summary, policy, position, due, pager, now,
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
        let row = sqlx::query(
            "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT) AS now",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(from_micros(row.try_get("now")?))
    }

    /// When the next escalation timer is due (acknowledged and resolved alerts have none).
    pub async fn next_escalation_at(&self) -> Result<Option<Timestamp>> {
        let row = sqlx::query("SELECT MIN(next_escalation_at) AS at FROM alerts")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<Option<i64>, _>("at")?.map(from_micros))
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
        let mut tx = self.pool().begin_with(begin_write(self.backend())).await?;
        let pending = &mut Pending::default();
        let lock = if self.backend() == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!("SELECT status FROM alerts WHERE id = $1{lock}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(alert_id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let status: String = row.try_get("status")?;
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
        let mut tx = self.pool().begin_with(begin_write(self.backend())).await?;
        let pending = &mut Pending::default();
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
        let row = sqlx::query(
            "SELECT person FROM alert_links WHERE token_hash = $1 AND alert_id = $2 AND expires_at > $3",
        )
        .bind(token_hash.to_string())
        .bind(alert_id.to_string())
        .bind(micros(now))
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("person")?)
    }

    pub async fn alert(&self, id: &str) -> Result<Alert> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
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
        let rows =
            sqlx::query("SELECT at, kind, detail FROM alert_log WHERE alert_id = $1 ORDER BY id")
                .bind(id.to_string())
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|row| {
                Ok(AlertLogEntry {
                    at: from_micros(row.try_get("at")?),
                    kind: row.try_get("kind")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect()
    }
}

/// Acknowledges (stops escalation) or resolves (closes, frees the dedup key) an alert in the
/// caller's transaction.
async fn set_status(
    tx: &mut Transaction<'static, Any>,
    pending: &mut Pending,
    alert_id: &str,
    action: AlertAction,
    by: &str,
    now: Timestamp,
) -> Result<()> {
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
    let members = sqlx::query(sqlx::AssertSqlSafe(members_sql))
        .bind(alert_id.to_string())
        .fetch_all(&mut **tx)
        .await?;
    for row in members {
        let member: String = row.try_get("id")?;
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

/// A heartbeat monitor: the service expects a ping every `interval_minutes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub id: String,
    pub service_id: String,
    pub name: String,
    pub interval_minutes: i64,
    pub last_ping_at: Option<Timestamp>,
    pub due_at: Timestamp,
    /// An alert is open for a missed ping.
    pub missed: bool,
}

const HEARTBEAT_COLUMNS: &str =
    "id, service_id, name, interval_minutes, last_ping_at, due_at, missed";

fn heartbeat_from(row: &AnyRow) -> Result<Heartbeat> {
    Ok(Heartbeat {
        id: row.try_get("id")?,
        service_id: row.try_get("service_id")?,
        name: row.try_get("name")?,
        interval_minutes: row.try_get("interval_minutes")?,
        last_ping_at: row
            .try_get::<Option<i64>, _>("last_ping_at")?
            .map(from_micros),
        due_at: from_micros(row.try_get("due_at")?),
        missed: row.try_get::<i64, _>("missed")? != 0,
    })
}

impl Store {
    /// A new heartbeat monitor, first due one interval from now.
    pub async fn create_heartbeat(
        &self,
        service_id: &str,
        name: &str,
        interval_minutes: i64,
        now: Timestamp,
    ) -> Result<Heartbeat> {
        let id = Uuid::now_v7().to_string();
        let due = now + SignedDuration::from_mins(interval_minutes);
        sqlx::query(
            "INSERT INTO heartbeats (id, service_id, name, interval_minutes, due_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.clone())
        .bind(service_id.to_string())
        .bind(name.to_string())
        .bind(interval_minutes)
        .bind(micros(due))
        .bind(micros(now))
        .execute(self.pool())
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                StoreError::Conflict(format!("the service has a heartbeat named {name:?}"))
            } else {
                err.into()
            }
        })?;
        Ok(Heartbeat {
            id,
            service_id: service_id.into(),
            name: name.into(),
            interval_minutes,
            last_ping_at: None,
            due_at: due,
            missed: false,
        })
    }

    pub async fn heartbeats(&self, service_id: &str) -> Result<Vec<Heartbeat>> {
        let sql = format!(
            "SELECT {HEARTBEAT_COLUMNS} FROM heartbeats WHERE service_id = $1 ORDER BY name"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(service_id.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(heartbeat_from).collect()
    }

    pub async fn heartbeat(&self, service_id: &str, name: &str) -> Result<Heartbeat> {
        let sql = format!(
            "SELECT {HEARTBEAT_COLUMNS} FROM heartbeats WHERE service_id = $1 AND name = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(service_id.to_string())
            .bind(name.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        heartbeat_from(&row)
    }

    /// Records a ping: the next one is due an interval from now and the heartbeat is healthy.
    pub async fn ping_heartbeat(&self, id: &str, now: Timestamp) -> Result<Heartbeat> {
        let sql = format!("SELECT {HEARTBEAT_COLUMNS} FROM heartbeats WHERE id = $1");
        let current = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        let current = heartbeat_from(&current)?;
        let due = now + SignedDuration::from_mins(current.interval_minutes);
        sqlx::query(
            "UPDATE heartbeats SET last_ping_at = $2, due_at = $3, missed = 0 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(micros(now))
        .bind(micros(due))
        .execute(self.pool())
        .await?;
        Ok(Heartbeat {
            last_ping_at: Some(now),
            due_at: due,
            missed: false,
            ..current
        })
    }

    /// Heartbeats whose ping is overdue and have no alert open yet.
    pub async fn overdue_heartbeats(&self, now: Timestamp) -> Result<Vec<Heartbeat>> {
        let sql = format!(
            "SELECT {HEARTBEAT_COLUMNS} FROM heartbeats WHERE due_at <= $1 AND missed = 0 ORDER BY due_at LIMIT 500"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(now))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(heartbeat_from).collect()
    }

    /// Marks a heartbeat as missed (its alert raised), unless a ping came in meanwhile.
    pub async fn mark_heartbeat_missed(&self, id: &str, due_at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE heartbeats SET missed = 1 WHERE id = $1 AND due_at = $2")
            .bind(id.to_string())
            .bind(micros(due_at))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// A way to reach a person: an email address or a signed webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactMethod {
    pub id: String,
    pub person: String,
    /// `email` or `webhook`.
    pub kind: String,
    pub address: String,
}

/// A person's rules are few: each page is one message per rule.
pub const MAX_RULES_PER_PERSON: usize = 10;

/// "After `delay_minutes`, by this contact method."
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRule {
    pub id: String,
    pub contact_method: ContactMethod,
    pub delay_minutes: i64,
}

impl Store {
    pub async fn create_contact_method(
        &self,
        person: &str,
        (kind, address, secret): (&str, &str, Option<&str>),
        now: Timestamp,
    ) -> Result<ContactMethod> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO contact_methods (id, person, kind, address, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.clone())
        .bind(person.to_string())
        .bind(kind.to_string())
        .bind(address.to_string())
        .bind(secret.map(String::from))
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(ContactMethod {
            id,
            person: person.into(),
            kind: kind.into(),
            address: address.into(),
        })
    }

    pub async fn contact_methods(&self, person: &str) -> Result<Vec<ContactMethod>> {
        let rows = sqlx::query(
            "SELECT id, person, kind, address FROM contact_methods WHERE person = $1 ORDER BY created_at",
        )
        .bind(person.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ContactMethod {
                    id: row.try_get("id")?,
                    person: row.try_get("person")?,
                    kind: row.try_get("kind")?,
                    address: row.try_get("address")?,
                })
            })
            .collect()
    }

    /// Removes a person's contact method and the rules that use it.
    pub async fn delete_contact_method(&self, person: &str, id: &str) -> Result<()> {
        let mut tx = self.pool().begin_with(begin_write(self.backend())).await?;
        sqlx::query("DELETE FROM notification_rules WHERE contact_method_id = $1 AND person = $2")
            .bind(id.to_string())
            .bind(person.to_string())
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM contact_methods WHERE id = $1 AND person = $2")
            .bind(id.to_string())
            .bind(person.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// A rule for one of the person's own contact methods; `NotFound` for someone else's.
    pub async fn create_notification_rule(
        &self,
        person: &str,
        contact_method_id: &str,
        delay_minutes: i64,
        now: Timestamp,
    ) -> Result<NotificationRule> {
        let method = self
            .contact_methods(person)
            .await?
            .into_iter()
            .find(|it| it.id == contact_method_id)
            .ok_or(StoreError::NotFound)?;
        let existing = self.notification_rules(person).await?;
        if existing.iter().any(|it| {
            it.contact_method.id == contact_method_id && it.delay_minutes == delay_minutes
        }) {
            return Err(StoreError::Conflict(
                "you have that rule already (same method, same delay)".into(),
            ));
        }
        if existing.len() >= MAX_RULES_PER_PERSON {
            return Err(StoreError::Conflict(format!(
                "at most {MAX_RULES_PER_PERSON} notification rules per person"
            )));
        }
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO notification_rules (id, person, contact_method_id, delay_minutes, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.clone())
        .bind(person.to_string())
        .bind(contact_method_id.to_string())
        .bind(delay_minutes)
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(NotificationRule {
            id,
            contact_method: method,
            delay_minutes,
        })
    }

    pub async fn notification_rules(&self, person: &str) -> Result<Vec<NotificationRule>> {
        let methods = self.contact_methods(person).await?;
        let rows = sqlx::query(
            "SELECT id, contact_method_id, delay_minutes FROM notification_rules WHERE person = $1 ORDER BY delay_minutes",
        )
        .bind(person.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for row in rows {
            let method_id: String = row.try_get("contact_method_id")?;
            if let Some(method) = methods.iter().find(|it| it.id == method_id) {
                out.push(NotificationRule {
                    id: row.try_get("id")?,
                    contact_method: method.clone(),
                    delay_minutes: row.try_get("delay_minutes")?,
                });
            }
        }
        Ok(out)
    }

    pub async fn delete_notification_rule(&self, person: &str, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM notification_rules WHERE id = $1 AND person = $2")
            .bind(id.to_string())
            .bind(person.to_string())
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
