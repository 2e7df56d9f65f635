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
use sqlx::{Any, FromRow, Transaction};
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::db::Backend;
use crate::multirow;
use crate::{Result, Store, StoreError};

mod catalog;
mod contacts;
mod escalation;
mod flush;
mod heartbeats;
mod ingest;
mod prefetch;
mod silences;
mod wake;

pub use contacts::{ContactMethod, NotificationRule};
pub use heartbeats::Heartbeat;
pub use ingest::AlertLane;
pub use wake::{ActionToken, WakeOutcome, WakePage};

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
    /// Alerts are ingested and escalated on paper only: their log says whom Firebreak would
    /// have paged; nobody is paged and no incident is declared.
    pub shadow: bool,
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

/// An alert as `ALERT_COLUMNS` reads it.
#[derive(sqlx::FromRow)]
struct AlertRow {
    id: String,
    service_id: String,
    dedup_key: String,
    status: String,
    summary: String,
    severity: String,
    source: String,
    details: String,
    links: String,
    count: i64,
    created_at: i64,
    updated_at: i64,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    resolved_at: Option<i64>,
    resolved_by: Option<String>,
    step: i64,
    pass: i64,
    next_escalation_at: Option<i64>,
    incident_id: Option<String>,
}

impl TryFrom<AlertRow> for Alert {
    type Error = StoreError;

    fn try_from(row: AlertRow) -> Result<Alert> {
        Ok(Alert {
            status: AlertStatus::parse(&row.status)
                .ok_or_else(|| StoreError::Corrupt(format!("alert status {:?}", row.status)))?,
            severity: AlertSeverity::parse(&row.severity).unwrap_or(AlertSeverity::Error),
            id: row.id,
            service_id: row.service_id,
            dedup_key: row.dedup_key,
            summary: row.summary,
            source: row.source,
            details: row.details,
            links: row.links,
            count: row.count,
            created_at: from_micros(row.created_at),
            updated_at: from_micros(row.updated_at),
            acknowledged_at: row.acknowledged_at.map(from_micros),
            acknowledged_by: row.acknowledged_by,
            resolved_at: row.resolved_at.map(from_micros),
            resolved_by: row.resolved_by,
            step: row.step,
            pass: row.pass,
            next_escalation_at: row.next_escalation_at.map(from_micros),
            incident_id: row.incident_id,
        })
    }
}

fn alert_from(row: &AnyRow) -> Result<Alert> {
    Alert::try_from(AlertRow::from_row(row)?)
}

/// A silence as its table holds it.
#[derive(sqlx::FromRow)]
struct SilenceRow {
    id: String,
    service_id: Option<String>,
    matching: String,
    starts_at: i64,
    ends_at: i64,
}

impl From<SilenceRow> for Silence {
    fn from(row: SilenceRow) -> Silence {
        Silence {
            id: row.id,
            service_id: row.service_id,
            matching: row.matching,
            starts: from_micros(row.starts_at),
            ends: from_micros(row.ends_at),
        }
    }
}

fn silence_from(row: &AnyRow) -> Result<Silence> {
    Ok(SilenceRow::from_row(row)?.into())
}

/// A silence with its comment and author.
#[derive(sqlx::FromRow)]
struct NotedSilenceRow {
    #[sqlx(flatten)]
    silence: SilenceRow,
    comment: String,
    created_by: String,
}

/// A service as its table holds it (`depends_on` a JSON array).
#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: String,
    name: String,
    team_id: Option<String>,
    policy_id: Option<String>,
    depends_on: String,
    runbook_url: String,
    group_window_minutes: i64,
    auto_declare_severity: String,
    shadow: i64,
}

fn service_from(row: &AnyRow) -> Result<Service> {
    let row = ServiceRow::from_row(row)?;
    Ok(Service {
        id: row.id,
        name: row.name,
        team_id: row.team_id,
        policy_id: row.policy_id,
        depends_on: serde_json::from_str(&row.depends_on).unwrap_or_default(),
        runbook_url: row.runbook_url,
        group_window_minutes: row.group_window_minutes,
        auto_declare_severity: row.auto_declare_severity,
        shadow: row.shadow != 0,
    })
}

/// Maps a unique violation to `Conflict` with the words `what` gives ("a team named … exists"),
/// and any other error as it is.
fn taken(what: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| {
        if is_unique_violation(&err) {
            StoreError::Conflict(what())
        } else {
            err.into()
        }
    }
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
/// already. Log entries, page links, page messages and escalation positions are written
/// together (one statement for many: what lets a batch of alerts commit quickly), at the end
/// and before anything that reads or changes them in the same transaction (acknowledging
/// cancels the pages not sent yet, so `set_status` flushes first); the silences in effect,
/// policies and people's rules are read once per transaction (nothing in it changes them).
struct Pending {
    backend: Backend,
    log: Vec<(String, String, i64, String, String)>,
    /// (token hash, alert, person, expires at).
    links: Vec<(String, String, String, i64)>,
    /// (alert, step, pass, escalates at): where each alert now is in its policy.
    steps: Vec<(String, i64, i64, i64)>,
    pages: Vec<PageMessage>,
    silences: Option<Vec<Silence>>,
    policies: HashMap<String, Option<String>>,
    rules: HashMap<String, Vec<PageRule>>,
    /// Whether each person asked about is a disabled account.
    disabled: HashMap<String, bool>,
    /// The open alert (id, status) under each key asked about; `None`: none is open.
    open: HashMap<String, Option<(String, String)>>,
    /// Alerts each (service, dedup key) opened within the flapping window, counting those
    /// opened in this transaction.
    recent: HashMap<(String, String), i64>,
    /// Each person's page budget as this transaction leaves it (window start, pages); `None`:
    /// never paged. SQLite only (PostgreSQL counts in a statement of its own).
    budgets: HashMap<String, Option<(i64, i64)>>,
    /// The budgets this transaction changed, written by `flush`.
    spent: std::collections::BTreeSet<String>,
    /// Alerts opened and not yet written (`flush_alerts`).
    alerts: Vec<NewAlertRow>,
}

/// A new alert's row, written with the others of its transaction.
struct NewAlertRow {
    id: String,
    service_id: String,
    dedup_key: String,
    open_key: String,
    summary: String,
    severity: &'static str,
    source: String,
    details: String,
    links: String,
    at: i64,
    policy: Option<String>,
    declare_pending: bool,
}

/// A person's row as `Pending::person` reads it: disabled at, and one rule (delay, method
/// kind, address, secret), all `None` without rules.
type PersonRow = (
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// `PersonRow`'s columns, for a query whose people are `p.email`, joined by `PERSON_JOINS`.
const PERSON_COLUMNS: &str = "u.disabled_at, r.delay_minutes, m.kind, m.address, m.secret";
const PERSON_JOINS: &str = "LEFT JOIN users u ON u.email = p.email \
     LEFT JOIN notification_rules r ON r.person = p.email \
     LEFT JOIN contact_methods m ON m.id = r.contact_method_id \
     AND m.verified_at IS NOT NULL AND m.stopped_at IS NULL AND m.failure IS NULL";

/// The key an event's open alert is found by: its service and dedup key.
fn open_key(service: &Service, incoming: &IncomingAlert) -> String {
    format!("{}/{}", service.id, incoming.dedup_key)
}

/// A person's notification rule as paging uses it: after minutes, channel, address, secret.
type PageRule = (i64, String, String, Option<String>);

/// A page to one person by one of their rules: a `notifications` row of kind `page`.
struct PageMessage {
    alert_id: String,
    /// Unique per alert, step, pass and rule: a page that is queued twice is queued once.
    seq: i64,
    person: String,
    channel: String,
    address: String,
    subject: String,
    body: String,
    send_at: i64,
    created_at: i64,
    secret: Option<String>,
}

impl Pending {
    fn new(backend: Backend) -> Pending {
        Pending {
            backend,
            log: Vec::new(),
            links: Vec::new(),
            steps: Vec::new(),
            pages: Vec::new(),
            silences: None,
            policies: HashMap::new(),
            rules: HashMap::new(),
            disabled: HashMap::new(),
            open: HashMap::new(),
            recent: HashMap::new(),
            budgets: HashMap::new(),
            spent: std::collections::BTreeSet::new(),
            alerts: Vec::new(),
        }
    }

    /// The silences in effect at `now` (every transaction has one `now`).
    async fn silences(
        &mut self,
        tx: &mut Transaction<'_, Any>,
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
    async fn policy(&mut self, tx: &mut Transaction<'_, Any>, id: &str) -> Result<Option<String>> {
        if let Some(policy) = self.policies.get(id) {
            return Ok(policy.clone());
        }
        let policy: Option<String> =
            sqlx::query_scalar("SELECT policy FROM escalation_policies WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut **tx)
                .await?;
        self.policies.insert(id.to_string(), policy.clone());
        Ok(policy)
    }

    /// The person's account is disabled (they left, or were locked out): they are not paged.
    /// An address that is no account's is not disabled (a policy may page any email).
    async fn disabled(&mut self, tx: &mut Transaction<'_, Any>, person: &str) -> Result<bool> {
        Ok(self.person(tx, person).await?.0)
    }

    /// A person's notification rules, soonest first, by methods that can be used (verified,
    /// not stopped, not failed for good); none: an email to them at once.
    async fn rules(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        person: &str,
    ) -> Result<Vec<PageRule>> {
        Ok(self.person(tx, person).await?.1)
    }

    /// Whether the person is disabled, and their rules: one statement per person and
    /// transaction (a page asks both, inside the writer's transaction).
    async fn person(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        person: &str,
    ) -> Result<(bool, Vec<PageRule>)> {
        if let (Some(disabled), Some(rules)) = (self.disabled.get(person), self.rules.get(person)) {
            return Ok((*disabled, rules.clone()));
        }
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM (SELECT CAST($1 AS TEXT) AS email) p {PERSON_JOINS} \
             ORDER BY r.delay_minutes"
        );
        let rows: Vec<PersonRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(person.to_string())
            .fetch_all(&mut **tx)
            .await?;
        Ok(self.remember_person(person, rows))
    }

    /// Keeps what `rows` say of `person` (disabled, and their rules; none: an email to them
    /// at once) and answers it.
    fn remember_person(&mut self, person: &str, rows: Vec<PersonRow>) -> (bool, Vec<PageRule>) {
        let disabled = rows.iter().any(|row| row.0.is_some());
        let mut rules: Vec<PageRule> = rows
            .into_iter()
            .filter_map(|(_, delay, kind, address, secret)| Some((delay?, kind?, address?, secret)))
            .collect();
        if rules.is_empty() {
            rules.push((0, "email".into(), person.to_string(), None));
        }
        self.disabled.insert(person.to_string(), disabled);
        self.rules.insert(person.to_string(), rules.clone());
        (disabled, rules)
    }

    /// The open alert under `key` (id and status), locked on PostgreSQL.
    async fn open_alert(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        key: &str,
    ) -> Result<Option<(String, String)>> {
        if let Some(open) = self.open.get(key) {
            return Ok(open.clone());
        }
        self.flush_alerts(tx).await?;
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!("SELECT id, status FROM alerts WHERE open_key = $1{lock}");
        let open: Option<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(key.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        self.open.insert(key.to_string(), open.clone());
        Ok(open)
    }

    /// Alerts the key opened since `since`, the one just opened included (as the database
    /// has it, plus those this transaction opened since it was read).
    async fn opened_recently(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        service: &str,
        dedup_key: &str,
        since: Timestamp,
    ) -> Result<i64> {
        let pair = (service.to_string(), dedup_key.to_string());
        if let Some(n) = self.recent.get(&pair) {
            return Ok(*n);
        }
        self.flush_alerts(tx).await?;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM alerts WHERE service_id = $1 AND dedup_key = $2 AND created_at >= $3",
        )
        .bind(pair.0.clone())
        .bind(pair.1.clone())
        .bind(micros(since))
        .fetch_one(&mut **tx)
        .await?;
        self.recent.insert(pair, n);
        Ok(n)
    }

    /// Notes an alert opened in this transaction: open under its key, and one more for the
    /// key's flapping count (if that count was read before it was inserted).
    fn opened(&mut self, key: String, id: &str, service: &str, dedup_key: &str) {
        self.open.insert(
            key,
            Some((id.to_string(), AlertStatus::Triggered.as_str().to_string())),
        );
        if let Some(n) = self
            .recent
            .get_mut(&(service.to_string(), dedup_key.to_string()))
        {
            *n += 1;
        }
    }

    /// `person`'s page budget after one more page at `now` (SQLite).
    async fn spend_budget(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        person: &str,
        now: Timestamp,
    ) -> Result<i64> {
        let before = match self.budgets.get(person) {
            Some(known) => *known,
            None => {
                sqlx::query_as::<_, (i64, i64)>(
                    "SELECT window_start, pages FROM page_budget WHERE person = $1",
                )
                .bind(person.to_string())
                .fetch_optional(&mut **tx)
                .await?
            }
        };
        let (start, pages) = firebreak_core::paging::spend_page(
            before.map(|(start, pages)| (from_micros(start), pages)),
            now,
        );
        self.budgets
            .insert(person.to_string(), Some((micros(start), pages)));
        self.spent.insert(person.to_string());
        Ok(pages)
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
