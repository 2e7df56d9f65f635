//! What a batch of alert events reads, read once for the whole batch.
//!
//! Applying an event asks the database a handful of small questions: is an alert open under
//! its key, how many did the key open lately (flapping), the service's policy, whether each
//! person it pages is disabled and by which rules, and (SQLite) how many pages they have had
//! this hour. Asked one event at a time, each is a round trip (on SQLite a hop to the
//! connection's thread and back), and a storm's batch of 128 events asked about 700 of
//! them. `Pending::prefetch` asks each question once for every event in the batch, in
//! statements of one fixed size each (`multirow::padded_chunks`); `apply_alert` then answers
//! from `Pending` and asks the database only about what the prefetch did not cover.

use super::*;

/// A batch's events as `ingest_alerts` takes them.
type Events<'a> = [(&'a Service, &'a IncomingAlert)];

impl Pending {
    /// Reads what applying `events` at `now` will ask, for all of them at once. Inside the
    /// batch's transaction: on PostgreSQL the open alerts are locked (`FOR UPDATE`) as the
    /// one-event lookup locks them.
    pub(super) async fn prefetch(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        events: &Events<'_>,
        pager: &Pager<'_>,
        now: Timestamp,
    ) -> Result<()> {
        let mut keys: Vec<String> = events
            .iter()
            .map(|(service, incoming)| open_key(service, incoming))
            .collect();
        keys.sort();
        keys.dedup();
        self.prefetch_open(tx, &keys).await?;
        if pager.flap_threshold > 0 {
            let mut pairs: Vec<(String, String)> = events
                .iter()
                .map(|(service, incoming)| (service.id.clone(), incoming.dedup_key.clone()))
                .collect();
            pairs.sort();
            pairs.dedup();
            self.prefetch_recent(tx, &pairs, now - pager.flap_window)
                .await?;
        }
        let mut policies: Vec<String> = events
            .iter()
            .filter_map(|(service, _)| service.policy_id.clone())
            .filter(|id| !self.policies.contains_key(id))
            .collect();
        policies.sort();
        policies.dedup();
        self.prefetch_policies(tx, &policies).await?;
        // Everyone those policies could page now, at any step.
        let mut people = Vec::new();
        for id in &policies {
            let Some(Some(doc)) = self.policies.get(id) else {
                continue;
            };
            let Ok(doc) = serde_json::from_str::<PolicyDoc>(doc) else {
                continue;
            };
            for step in &doc.to_core().steps {
                for target in &step.targets {
                    match target {
                        Target::Person(email) => people.push(email.clone()),
                        Target::Schedule(schedule) => people.extend((pager.on_call)(schedule, now)),
                    }
                }
            }
        }
        people.sort();
        people.dedup();
        people.retain(|it| !self.rules.contains_key(it));
        self.prefetch_people(tx, &people).await?;
        if self.backend == Backend::Sqlite {
            people.retain(|it| !self.budgets.contains_key(it));
            self.prefetch_budgets(tx, &people).await?;
        }
        Ok(())
    }

    /// Which of `keys` (sorted) has an open alert, and its id and status.
    async fn prefetch_open(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        keys: &[String],
    ) -> Result<()> {
        let lock = if self.backend == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let sql = format!(
            "SELECT open_key, id, status FROM alerts WHERE open_key IN ({{keys}}) ORDER BY open_key{lock}"
        );
        let rows: Vec<(String, String, String)> = by_keys(tx, self.backend, &sql, keys).await?;
        for key in keys {
            self.open.insert(key.clone(), None);
        }
        for (key, id, status) in rows {
            self.open.insert(key, Some((id, status)));
        }
        Ok(())
    }

    /// How many alerts each (service, dedup key) of `pairs` opened since `since`.
    async fn prefetch_recent(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        pairs: &[(String, String)],
        since: Timestamp,
    ) -> Result<()> {
        let first = match self.backend {
            Backend::Sqlite => "?",
            Backend::Postgres => "$1",
        };
        for (start, len) in multirow::padded_chunks(pairs.len()) {
            // The `created_at` bound comes first in the text, so it is the first parameter
            // on SQLite (bound in order) as on PostgreSQL ($1).
            let sql = format!(
                "SELECT v.column1, v.column2, (SELECT COUNT(*) FROM alerts a WHERE a.service_id = v.column1 \
                 AND a.dedup_key = v.column2 AND a.created_at >= {first}) FROM (VALUES {}) AS v \
                 WHERE v.column1 IS NOT NULL",
                multirow::values_after(self.backend, multirow::SOURCE_ROWS, 2, 1)
            );
            let mut query = sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql))
                .bind(micros(since));
            for (service, dedup_key) in &pairs[start..start + len] {
                query = query.bind(service.clone()).bind(dedup_key.clone());
            }
            for _ in len..multirow::SOURCE_ROWS {
                query = query.bind(None::<String>).bind(None::<String>);
            }
            for (service, dedup_key, n) in query.fetch_all(&mut **tx).await? {
                self.recent.insert((service, dedup_key), n);
            }
        }
        Ok(())
    }

    /// The stored policies of `ids`.
    async fn prefetch_policies(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        ids: &[String],
    ) -> Result<()> {
        let sql = "SELECT id, policy FROM escalation_policies WHERE id IN ({keys})";
        let rows: Vec<(String, String)> = by_keys(tx, self.backend, sql, ids).await?;
        for id in ids {
            self.policies.insert(id.clone(), None);
        }
        for (id, policy) in rows {
            self.policies.insert(id, Some(policy));
        }
        Ok(())
    }

    /// Whether each of `people` is disabled, and their rules (as `Pending::person`).
    async fn prefetch_people(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        people: &[String],
    ) -> Result<()> {
        for (start, len) in multirow::padded_chunks(people.len()) {
            let chunk = &people[start..start + len];
            let sql = format!(
                "SELECT p.email, {PERSON_COLUMNS} \
                 FROM (SELECT CAST(column1 AS TEXT) AS email FROM (VALUES {}) AS v \
                 WHERE column1 IS NOT NULL) p {PERSON_JOINS} \
                 ORDER BY p.email, r.delay_minutes",
                multirow::values(self.backend, multirow::SOURCE_ROWS, 1)
            );
            let mut query = sqlx::query_as::<
                _,
                (
                    String,
                    Option<i64>,
                    Option<i64>,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                ),
            >(sqlx::AssertSqlSafe(sql));
            for person in chunk {
                query = query.bind(person.clone());
            }
            for _ in len..multirow::SOURCE_ROWS {
                query = query.bind(None::<String>);
            }
            let mut rows: HashMap<String, Vec<PersonRow>> = HashMap::new();
            for (email, disabled, delay, kind, address, secret) in
                query.fetch_all(&mut **tx).await?
            {
                rows.entry(email)
                    .or_default()
                    .push((disabled, delay, kind, address, secret));
            }
            for person in chunk {
                let found = rows.remove(person).unwrap_or_default();
                self.remember_person(person, found);
            }
        }
        Ok(())
    }

    /// Each of `people`'s page budget (SQLite, whose one writer keeps it in the transaction).
    async fn prefetch_budgets(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        people: &[String],
    ) -> Result<()> {
        let sql = "SELECT person, window_start, pages FROM page_budget WHERE person IN ({keys})";
        let rows: Vec<(String, i64, i64)> = by_keys(tx, self.backend, sql, people).await?;
        for person in people {
            self.budgets.insert(person.clone(), None);
        }
        for (person, window_start, pages) in rows {
            self.budgets.insert(person, Some((window_start, pages)));
        }
        Ok(())
    }
}

/// The rows `select` answers for `keys`, where `{keys}` in it stands for a list of them: asked
/// in statements of one size (`multirow::padded_chunks`), so the statement is cached.
async fn by_keys<R>(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    select: &str,
    keys: &[String],
) -> Result<Vec<R>>
where
    R: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let mut rows = Vec::new();
    let sql = select.replace("{keys}", &multirow::list(backend, multirow::SOURCE_ROWS, 0));
    for (start, len) in multirow::padded_chunks(keys.len()) {
        let mut query = sqlx::query_as::<_, R>(sqlx::AssertSqlSafe(sql.clone()));
        for key in &keys[start..start + len] {
            query = query.bind(key.clone());
        }
        for _ in len..multirow::SOURCE_ROWS {
            query = query.bind(None::<String>);
        }
        rows.extend(query.fetch_all(&mut **tx).await?);
    }
    Ok(rows)
}
