//! Queries: incidents by id or reference, filtered lists, the timeline and its verification.

use firebreak_core::hash::{
    ChainBreak, Envelope, GENESIS, StoredLink, verify_chain, verify_chain_from,
};
use firebreak_core::{
    Access, Actor, EventData, EventKind, Incident, IncidentId, IncidentType, Reference, Status,
};
use jiff::Timestamp;
use sqlx::FromRow;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::clock::micros;
use crate::db::Backend;
use crate::rows::{INCIDENT_FROM, INCIDENT_SELECT, incident_from_row};
use crate::{Result, Store, StoreError};

/// How a client names an incident: its UUID or its `INC-n` reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentKey {
    Id(Uuid),
    Reference(Reference),
}

impl IncidentKey {
    /// The condition selecting this incident, with its value as parameter `$n`; `prefix` is
    /// the table alias with its dot, or empty.
    pub(crate) fn condition(self, prefix: &str, n: usize) -> String {
        match self {
            IncidentKey::Id(_) => format!("{prefix}id = ${n}"),
            IncidentKey::Reference(_) => format!("{prefix}number = ${n}"),
        }
    }

    /// Binds the value `condition` refers to.
    pub(crate) fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        match self {
            IncidentKey::Id(id) => query.bind(id.to_string()),
            IncidentKey::Reference(reference) => query.bind(reference.0),
        }
    }

    /// `bind` for a query whose rows are read into `T`.
    pub(crate) fn bind_as<'q, T>(
        self,
        query: sqlx::query::QueryAs<'q, sqlx::Any, T, sqlx::any::AnyArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, T, sqlx::any::AnyArguments> {
        match self {
            IncidentKey::Id(id) => query.bind(id.to_string()),
            IncidentKey::Reference(reference) => query.bind(reference.0),
        }
    }

    pub fn parse(text: &str) -> Option<IncidentKey> {
        Reference::parse(text)
            .map(IncidentKey::Reference)
            .or_else(|| Uuid::parse_str(text).ok().map(IncidentKey::Id))
    }
}

/// One stored timeline event, as read back or as just committed: typed, with the stored
/// body kept as written (it is hashed, and the API passes it through).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub incident_id: IncidentId,
    pub reference: Reference,
    pub private: bool,
    pub seq: i64,
    pub kind: EventKind,
    pub actor: Actor,
    pub data: EventData,
    pub observed_at_us: i64,
    pub occurred_at_us: i64,
    /// `data.to_body()` as stored: canonical JSON.
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The columns of a timeline page's event, in `PageItem`'s order.
const PAGE_ITEM: &str = "seq, kind, actor, observed_at, occurred_at, body, prev_hash, hash";

/// A timeline page's statement, with its parameters bound: `shape(events, which)` is the
/// statement over incident `i`, given the select of the page's events and the condition that
/// picks the incident (`key`, `$1`). The events are those after seq `$2`, at most `$3`. Seqs
/// run 1, 2, 3… with no gaps (nothing is deleted), so the page is also bounded above (`$4`):
/// however stale PostgreSQL's statistics, no plan reads more than the page.
fn page_query<T>(
    key: IncidentKey,
    (after, limit): (i64, i64),
    shape: impl FnOnce(&str, &str) -> String,
) -> sqlx::query::QueryAs<'static, sqlx::Any, T, sqlx::any::AnyArguments>
where
    T: for<'r> FromRow<'r, AnyRow>,
{
    let events = format!(
        "SELECT {PAGE_ITEM} FROM events WHERE incident_id = i.id AND seq > $2 AND seq <= $4 \
         ORDER BY seq LIMIT $3"
    );
    let sql = shape(&events, &key.condition("i.", 1));
    key.bind_as(sqlx::query_as(sqlx::AssertSqlSafe(sql)))
        .bind(after)
        .bind(limit)
        .bind(after.saturating_add(limit))
}

/// What decides who may read an incident's timeline page, and where the page ends
/// (`timeline_page`).
#[derive(sqlx::FromRow)]
struct PageHead {
    id: String,
    number: i64,
    private: i64,
    last_seq: i64,
    members: String,
}

/// `timeline_page`'s one row on SQLite: the page's events as a JSON array of `PageItem`s.
#[derive(sqlx::FromRow)]
struct PageRow {
    #[sqlx(flatten)]
    head: PageHead,
    events: String,
}

/// `timeline_page`'s rows on PostgreSQL: one per event of the page, or one of NULLs for a
/// page without events.
#[derive(sqlx::FromRow)]
struct PageEventRow {
    #[sqlx(flatten)]
    head: PageHead,
    seq: Option<i64>,
    kind: Option<String>,
    actor: Option<String>,
    observed_at: Option<i64>,
    occurred_at: Option<i64>,
    body: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

impl PageEventRow {
    /// The row's event, taken out of it; `None` on the row of a page without events.
    fn take_item(&mut self) -> Option<PageItem> {
        Some(PageItem(
            self.seq?,
            self.kind.take()?,
            self.actor.take()?,
            self.observed_at?,
            self.occurred_at?,
            self.body.take()?,
            self.prev_hash.take()?,
            self.hash.take()?,
        ))
    }
}

/// One event of `PageRow::events`: seq, kind, actor, observed_at, occurred_at, body, prev_hash
/// and hash.
#[derive(serde::Deserialize)]
struct PageItem(i64, String, String, i64, i64, String, String, String);

/// An event's columns as stored, untyped: what the chain covers. Verification reads these,
/// so an event altered into something that no longer reads back is still reported as a
/// break in the chain rather than as an error.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub incident_id: String,
    pub number: i64,
    pub private: i64,
    pub seq: i64,
    pub kind: String,
    pub actor: String,
    pub observed_at: i64,
    pub occurred_at: i64,
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

impl EventRow {
    pub fn link(&self) -> StoredLink<'_> {
        StoredLink {
            envelope: Envelope {
                incident_id: &self.incident_id,
                seq: self.seq,
                kind: &self.kind,
                actor: &self.actor,
                observed_at_us: self.observed_at,
                occurred_at_us: self.occurred_at,
                body: &self.body,
            },
            prev_hash: &self.prev_hash,
            hash: &self.hash,
        }
    }
}

/// An event as the API passes it on: the envelope typed, the body as stored and not read
/// into `EventData` (a page of the timeline needs no meaning, and reading every body was a
/// tenth of a page's cost).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub incident_id: IncidentId,
    pub reference: Reference,
    pub private: bool,
    pub seq: i64,
    pub kind: EventKind,
    pub actor: Actor,
    pub observed_at_us: i64,
    pub occurred_at_us: i64,
    /// Canonical JSON, as hashed.
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

impl TryFrom<EventRow> for EventRecord {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<EventRecord> {
        let corrupt = |what: String| {
            StoreError::Corrupt(format!("INC-{} event #{}: {what}", row.number, row.seq))
        };
        let kind = EventKind::parse(&row.kind)
            .ok_or_else(|| corrupt(format!("unknown kind {:?}", row.kind)))?;
        let incident_id = Uuid::parse_str(&row.incident_id)
            .map_err(|err| corrupt(format!("incident id: {err}")))?;
        Ok(EventRecord {
            incident_id: IncidentId(incident_id),
            reference: Reference(row.number),
            private: row.private != 0,
            seq: row.seq,
            kind,
            actor: Actor::parse(&row.actor),
            observed_at_us: row.observed_at,
            occurred_at_us: row.occurred_at,
            body: row.body,
            prev_hash: row.prev_hash,
            hash: row.hash,
        })
    }
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<StoredEvent> {
        let EventRecord {
            incident_id,
            reference,
            private,
            seq,
            kind,
            actor,
            observed_at_us,
            occurred_at_us,
            body,
            prev_hash,
            hash,
        } = EventRecord::try_from(row)?;
        let corrupt =
            |what: String| StoreError::Corrupt(format!("INC-{} event #{seq}: {what}", reference.0));
        let value: serde_json::Value =
            serde_json::from_str(&body).map_err(|err| corrupt(err.to_string()))?;
        let data = EventData::from_stored(kind, &value).map_err(|err| corrupt(err.to_string()))?;
        Ok(StoredEvent {
            incident_id,
            reference,
            private,
            seq,
            kind,
            actor,
            data,
            observed_at_us,
            occurred_at_us,
            body,
            prev_hash,
            hash,
        })
    }
}

impl StoredEvent {
    /// The event as the API passes it on.
    pub fn record(&self) -> EventRecord {
        EventRecord {
            incident_id: self.incident_id,
            reference: self.reference,
            private: self.private,
            seq: self.seq,
            kind: self.kind,
            actor: self.actor.clone(),
            observed_at_us: self.observed_at_us,
            occurred_at_us: self.occurred_at_us,
            body: self.body.clone(),
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        }
    }
}

/// Events of one incident after some seq, and the incident's newest seq.
#[derive(Clone, Debug)]
pub struct TimelinePage {
    pub events: Vec<EventRecord>,
    pub last_seq: i64,
    /// Whether the incident is private (its reads are audited).
    pub private: bool,
}

#[derive(Clone, Debug)]
pub struct IncidentFilter {
    pub statuses: Vec<Status>,
    pub severities: Vec<String>,
    pub types: Vec<IncidentType>,
    pub service: Option<String>,
    /// Declared at or after this time.
    pub declared_from: Option<Timestamp>,
    /// Declared before this time.
    pub declared_to: Option<Timestamp>,
    /// Full-text search over titles, summaries and every text of the timeline.
    pub query: Option<String>,
    pub access: Access,
    pub limit: i64,
    /// Only incidents with a smaller number (the previous page's last one).
    pub before_number: Option<i64>,
}

impl IncidentFilter {
    /// Every incident `access` may see, newest first, 50 to a page; narrow it from here.
    pub fn visible_to(access: Access) -> IncidentFilter {
        IncidentFilter {
            statuses: Vec::new(),
            severities: Vec::new(),
            types: Vec::new(),
            service: None,
            declared_from: None,
            declared_to: None,
            query: None,
            access,
            limit: 50,
            before_number: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

const EVENT_COLUMNS: &str = "e.incident_id, i.number, i.private, e.seq, e.kind, e.actor, \
    e.observed_at, e.occurred_at, e.body, e.prev_hash, e.hash";

fn event_from_row(row: &AnyRow) -> Result<StoredEvent> {
    StoredEvent::try_from(EventRow::from_row(row)?)
}

impl Store {
    pub async fn incident(&self, key: IncidentKey) -> Result<Incident> {
        let sql = format!(
            "SELECT {INCIDENT_SELECT} FROM {INCIDENT_FROM} WHERE {}",
            key.condition("", 1)
        );
        let query = key.bind(sqlx::query(sqlx::AssertSqlSafe(sql)));
        let row = query
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("incident"))?;
        incident_from_row(&row)
    }

    /// Live incidents the clock owes something by `now` (their `wake_at` has come), most
    /// overdue first.
    pub async fn incidents_due(&self, now: Timestamp) -> Result<Vec<IncidentKey>> {
        let sql = "SELECT id FROM incidents WHERE wake_at IS NOT NULL AND wake_at <= $1 \
                   ORDER BY wake_at LIMIT 500";
        let ids: Vec<String> = sqlx::query_scalar(sql)
            .bind(micros(now))
            .fetch_all(self.pool())
            .await?;
        ids.into_iter()
            .map(|id| {
                Uuid::parse_str(&id)
                    .map(IncidentKey::Id)
                    .map_err(|_| StoreError::Corrupt(format!("incident id {id:?}")))
            })
            .collect()
    }

    /// Every incident that freezes deploys now, oldest first (visible or not: a freeze holds
    /// for everyone; callers decide what to tell about incidents the reader may not see).
    pub async fn frozen_incidents(&self) -> Result<Vec<Incident>> {
        let sql = format!(
            "SELECT {INCIDENT_SELECT} FROM {INCIDENT_FROM} WHERE deploy_freeze IS NOT NULL ORDER BY number"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(incident_from_row).collect()
    }

    /// An incident `access` may see; any other is `NotFound`, exactly like a missing one.
    pub async fn visible_incident(&self, key: IncidentKey, access: &Access) -> Result<Incident> {
        let incident = self.incident(key).await?;
        if access.can_see(&incident) {
            Ok(incident)
        } else {
            Err(StoreError::NotFound("incident"))
        }
    }

    /// A page of an incident's timeline, with what decides who may read it, in one query.
    /// An incident `access` cannot see is `NotFound`.
    pub async fn timeline_page(
        &self,
        key: IncidentKey,
        after: i64,
        limit: i64,
        access: &Access,
    ) -> Result<TimelinePage> {
        let (head, items) = match self.backend() {
            Backend::Sqlite => self.page_aggregated(key, after, limit).await?,
            Backend::Postgres => self.page_rows(key, after, limit).await?,
        };
        let corrupt = |what: &str, err: serde_json::Error| {
            StoreError::Corrupt(format!("INC-{} {what}: {err}", head.number))
        };
        if head.private != 0 {
            let members =
                serde_json::from_str(&head.members).map_err(|err| corrupt("members", err))?;
            if !access.sees(true, &members) {
                return Err(StoreError::NotFound("incident"));
            }
        }
        let events = items
            .into_iter()
            .map(
                |PageItem(seq, kind, actor, observed_at, occurred_at, body, prev_hash, hash)| {
                    EventRecord::try_from(EventRow {
                        incident_id: head.id.clone(),
                        number: head.number,
                        private: head.private,
                        seq,
                        kind,
                        actor,
                        observed_at,
                        occurred_at,
                        body,
                        prev_hash,
                        hash,
                    })
                },
            )
            .collect::<Result<_>>()?;
        Ok(TimelinePage {
            events,
            last_seq: head.last_seq,
            private: head.private != 0,
        })
    }

    /// `timeline_page` on SQLite: one row, the page's events aggregated into one JSON array.
    /// Read as one row per event, each row crossed the driver on its own (a message between
    /// SQLite's thread and the runtime, and every column converted and copied), and that was
    /// most of what a page cost.
    async fn page_aggregated(
        &self,
        key: IncidentKey,
        after: i64,
        limit: i64,
    ) -> Result<(PageHead, Vec<PageItem>)> {
        let row: PageRow = page_query(key, (after, limit), |events, which| {
            format!(
                "SELECT i.id, i.number, i.private, i.last_seq, i.members, \
                 (SELECT json_group_array(json_array({PAGE_ITEM}) ORDER BY seq) \
                 FROM ({events})) AS events FROM incidents i WHERE {which}"
            )
        })
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("incident"))?;
        let items = serde_json::from_str(&row.events).map_err(|err| {
            StoreError::Corrupt(format!("INC-{} timeline page: {err}", row.head.number))
        })?;
        Ok((row.head, items))
    }

    /// `timeline_page` on PostgreSQL: a row per event. Aggregated into JSON there, as on
    /// SQLite, building and escaping the JSON was a third of the database's CPU under the
    /// timeline benchmark (`json_build_array`, `escape_json`), while rows cost the driver
    /// little: they come in one response either way.
    async fn page_rows(
        &self,
        key: IncidentKey,
        after: i64,
        limit: i64,
    ) -> Result<(PageHead, Vec<PageItem>)> {
        let rows: Vec<PageEventRow> = page_query(key, (after, limit), |events, which| {
            format!(
                "SELECT i.id, i.number, i.private, i.last_seq, i.members, page.* FROM incidents i \
                 LEFT JOIN LATERAL ({events}) page ON true WHERE {which} ORDER BY page.seq"
            )
        })
        .fetch_all(self.pool())
        .await?;
        let mut head = None;
        let mut items = Vec::with_capacity(rows.len());
        for mut row in rows {
            items.extend(row.take_item());
            head.get_or_insert(row.head);
        }
        Ok((head.ok_or(StoreError::NotFound("incident"))?, items))
    }

    /// Newest first. The cursor is the number of the last incident on the previous page.
    pub async fn incidents(&self, filter: &IncidentFilter) -> Result<Page<Incident>> {
        let mut sql = SqlBuilder::new(format!(
            "SELECT {INCIDENT_SELECT} FROM {INCIDENT_FROM} WHERE 1 = 1"
        ));
        if !filter.statuses.is_empty() {
            let list: Vec<String> = filter
                .statuses
                .iter()
                .map(|it| sql.bind(it.as_str()))
                .collect();
            sql.push(&format!(" AND status IN ({})", list.join(", ")));
        }
        if !filter.severities.is_empty() {
            let list: Vec<String> = filter.severities.iter().map(|it| sql.bind(it)).collect();
            sql.push(&format!(" AND severity IN ({})", list.join(", ")));
        }
        if !filter.types.is_empty() {
            let list: Vec<String> = filter
                .types
                .iter()
                .map(|it| sql.bind(it.as_str()))
                .collect();
            sql.push(&format!(" AND incident_type IN ({})", list.join(", ")));
        }
        if let Some(service) = filter.service.as_deref() {
            let param = sql.bind(service);
            let condition = self.backend().json_array_contains("services", &param);
            sql.push(&format!(" AND {condition}"));
        }
        if let Some(from) = filter.declared_from {
            sql.push(&format!(" AND declared_at >= {}", micros(from)));
        }
        if let Some(to) = filter.declared_to {
            sql.push(&format!(" AND declared_at < {}", micros(to)));
        }
        if let Some(query) = filter.query.as_deref() {
            match self.backend() {
                Backend::Sqlite => {
                    let Some(query) = fts5_query(query) else {
                        return Ok(Page {
                            items: Vec::new(),
                            next_cursor: None,
                        });
                    };
                    let param = sql.bind(&query);
                    sql.push(&format!(
                        " AND id IN (SELECT incident_id FROM events WHERE rowid IN \
                         (SELECT rowid FROM search_fts WHERE search_fts MATCH {param}))"
                    ));
                }
                Backend::Postgres => {
                    let Some(query) = tsquery(query) else {
                        return Ok(Page {
                            items: Vec::new(),
                            next_cursor: None,
                        });
                    };
                    let param = sql.bind(&query);
                    sql.push(&format!(
                        " AND id IN (SELECT incident_id FROM events WHERE search @@ to_tsquery('english', {param}))"
                    ));
                }
            }
        }
        match &filter.access {
            Access::All => {}
            Access::PublicOnly => sql.push(" AND private = 0"),
            Access::Member(person) => {
                let param = sql.bind(person);
                let condition = self.backend().json_array_contains("members", &param);
                sql.push(&format!(" AND (private = 0 OR {condition})"));
            }
        }
        if let Some(before) = filter.before_number {
            sql.push(&format!(" AND number < {before}"));
        }
        let limit = filter.limit.clamp(1, 200);
        sql.push(&format!(" ORDER BY number DESC LIMIT {}", limit + 1));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.text));
        for value in sql.binds {
            query = query.bind(value);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut items = rows
            .iter()
            .map(incident_from_row)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|it| it.reference.0.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Events with seq greater than `after`, oldest first.
    pub async fn timeline(
        &self,
        incident_id: Uuid,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e JOIN incidents i ON i.id = e.incident_id \
             WHERE e.incident_id = $1 AND e.seq > $2 AND e.seq <= $4 ORDER BY e.seq LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(incident_id.to_string())
            .bind(after)
            .bind(limit)
            .bind(after.saturating_add(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Events with seq greater than `after` as stored, oldest first, for verification.
    async fn event_rows(&self, incident_id: Uuid, after: i64, limit: i64) -> Result<Vec<EventRow>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e JOIN incidents i ON i.id = e.incident_id \
             WHERE e.incident_id = $1 AND e.seq > $2 AND e.seq <= $4 ORDER BY e.seq LIMIT $3"
        );
        Ok(sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(sql))
            .bind(incident_id.to_string())
            .bind(after)
            .bind(limit)
            .bind(after.saturating_add(limit))
            .fetch_all(self.pool())
            .await?)
    }

    /// The incident's newest status update (`update_posted`), through its own partial index:
    /// the kind is written in the statement so the planner can use it.
    pub async fn latest_update(&self, incident_id: Uuid) -> Result<Option<StoredEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e JOIN incidents i ON i.id = e.incident_id \
             WHERE e.incident_id = $1 AND e.kind = '{}' ORDER BY e.seq DESC LIMIT 1",
            EventKind::UpdatePosted.as_str()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(incident_id.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    /// The newest `limit` events before `before` (or the newest of all), oldest first: a
    /// page of the room's timeline. Seqs have no gaps, so the page is bounded below too: with
    /// PostgreSQL's statistics stale after a burst of events (not yet analysed), the plan for
    /// `seq < $2 ORDER BY seq DESC LIMIT` read every earlier event and sorted them (100 ms at
    /// 100,000 events); bounded, no plan reads more than the page.
    pub async fn timeline_tail(
        &self,
        incident_id: Uuid,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e JOIN incidents i ON i.id = e.incident_id \
             WHERE e.incident_id = $1 AND e.seq < $2 AND e.seq >= (CASE WHEN $2 <= \
             (SELECT last_seq FROM incidents WHERE id = $1) THEN $2 ELSE \
             (SELECT last_seq FROM incidents WHERE id = $1) + 1 END) - $3 \
             ORDER BY e.seq DESC LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(incident_id.to_string())
            .bind(before.unwrap_or(i64::MAX).max(0))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>>>()?;
        events.reverse();
        Ok(events)
    }

    /// Verifies the events added since this process last verified the incident's chain, at
    /// most `budget` of them, reading a page at a time: a room with 100,000 events costs a
    /// full walk once, then only its new events. The event verification stopped at must still
    /// carry the hash it had then. `/timeline/verify` still walks the whole chain.
    pub async fn verify_new_events(&self, incident_id: Uuid, budget: i64) -> Result<ChainState> {
        const PAGE: i64 = 2_000;
        let mut state = self.chain_state(incident_id);
        if state.broken.is_some() {
            return Ok(state);
        }
        if state.verified_through > 0 {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT hash FROM events WHERE incident_id = $1 AND seq = $2")
                    .bind(incident_id.to_string())
                    .bind(state.verified_through)
                    .fetch_optional(self.pool())
                    .await?;
            if stored.as_deref() != Some(state.verified_hash.as_str()) {
                state.broken = Some(ChainBreak {
                    seq: state.verified_through,
                    reason: "the event changed after it was verified",
                });
                self.remember_chain(incident_id, &state);
                return Ok(state);
            }
        }
        let mut left = budget;
        while left > 0 {
            let events = self
                .event_rows(incident_id, state.verified_through, PAGE.min(left))
                .await?;
            let Some(last) = events.last() else { break };
            let links = events.iter().map(EventRow::link);
            match verify_chain_from((state.verified_through, &state.verified_hash), links) {
                Ok(seq) => {
                    state.verified_through = seq;
                    state.verified_hash = last.hash.clone();
                }
                Err(broken) => state.broken = Some(broken),
            }
            self.remember_chain(incident_id, &state);
            if state.broken.is_some() || (events.len() as i64) < PAGE.min(left) {
                break;
            }
            left -= events.len() as i64;
        }
        Ok(state)
    }

    /// Recomputes the whole chain; `Ok(Ok(n))` when all `n` events verify.
    pub async fn verify_timeline(&self, incident_id: Uuid) -> Result<Result<i64, ChainBreak>> {
        let events = self.event_rows(incident_id, 0, i64::MAX).await?;
        Ok(verify_chain(events.iter().map(EventRow::link)))
    }

    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key.to_string())
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key.to_string())
            .bind(value.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// How far this process has verified an incident's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainState {
    pub verified_through: i64,
    pub verified_hash: String,
    pub broken: Option<ChainBreak>,
}

impl Default for ChainState {
    fn default() -> Self {
        ChainState {
            verified_through: 0,
            verified_hash: GENESIS.to_string(),
            broken: None,
        }
    }
}

/// SQL text plus its text parameters, numbered `$1..` as they are bound.
struct SqlBuilder {
    text: String,
    binds: Vec<String>,
}

impl SqlBuilder {
    fn new(text: String) -> Self {
        SqlBuilder {
            text,
            binds: Vec::new(),
        }
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Records a parameter and returns its placeholder.
    fn bind(&mut self, value: &str) -> String {
        self.binds.push(value.to_string());
        format!("${}", self.binds.len())
    }
}

/// What a person typed, as words: letters and digits only, so no operator of either
/// search syntax survives. Both backends then ask for every word (the last one as a prefix,
/// so results follow typing).
/// Combining diacritical marks (the blocks text uses to stack accents). Some count as
/// alphabetic, but SQLite's tokenizer folds them away: a word of marks alone became an empty
/// FTS5 phrase, which SQLite refuses. They are dropped from the words, as the index does.
fn is_mark(c: char) -> bool {
    matches!(u32::from(c), 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

fn search_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && !is_mark(c))
        .map(|word| word.chars().filter(|c| !is_mark(*c)).collect::<String>())
        .filter(|it| !it.is_empty())
        .collect()
}

/// SQLite FTS5: `"w1" "w2"*`. `None` when nothing searchable is left.
fn fts5_query(text: &str) -> Option<String> {
    let words = search_words(text);
    let (last, rest) = words.split_last()?;
    let mut parts: Vec<String> = rest.iter().map(|it| format!("\"{it}\"")).collect();
    parts.push(format!("\"{last}\"*"));
    Some(parts.join(" "))
}

/// PostgreSQL `to_tsquery`: `w1 & w2:*`. `None` when nothing searchable is left.
fn tsquery(text: &str) -> Option<String> {
    let words = search_words(text);
    let (last, rest) = words.split_last()?;
    let mut parts: Vec<String> = rest.to_vec();
    parts.push(format!("{last}:*"));
    Some(parts.join(" & "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_becomes_a_safe_fts5_query() {
        let table = [
            ("rollback", Some(r#""rollback"*"#)),
            ("disk full", Some(r#""disk" "full"*"#)),
            (r#"a" OR "b"#, Some(r#""a" "OR" "b"*"#)),
            ("NEAR(x y) ^z -w", Some(r#""NEAR" "x" "y" "z" "w"*"#)),
            ("  ", None),
            ("***", None),
            ("café", Some(r#""café"*"#)),
            // Combining marks are dropped; a word of marks alone is no word.
            ("cafe\u{301} \u{345} \u{315}\u{33a}", Some(r#""cafe"*"#)),
            ("\u{345}", None),
        ];
        for (text, expected) in table {
            assert_eq!(fts5_query(text).as_deref(), expected, "{text}");
        }
        let table = [
            ("disk full", Some("disk & full:*")),
            ("a|b & !c <-> d", Some("a & b & c & d:*")),
            ("--", None),
        ];
        for (text, expected) in table {
            assert_eq!(tsquery(text).as_deref(), expected, "{text}");
        }
    }
}
