//! What insights read: the real incidents declared in a period (not drills, not declined or
//! merged), their post-mortems, the follow-ups due in it, and the deploys.

use firebreak_core::TimestampName;
use firebreak_core::insights::{FollowupFacts, IncidentFacts};
use jiff::Timestamp;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::rows::{INCIDENT_FROM, INCIDENT_SELECT, incident_from_row};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deploy {
    pub id: String,
    pub service: String,
    pub version: String,
    pub deployed_at: Timestamp,
    pub deployed_by: String,
    pub incident_id: Option<String>,
    /// What the sender said about it (a change event's summary); may be empty.
    pub summary: String,
    /// A JSON object: the sender's `source`, `links` and `custom_details`, as sent.
    pub details: String,
    /// `api` or `pagerduty`.
    pub via: String,
}

/// A deploy to record.
#[derive(Clone, Debug)]
pub struct NewDeploy<'a> {
    pub service: &'a str,
    pub version: &'a str,
    pub deployed_at: Timestamp,
    pub summary: &'a str,
    pub details: &'a str,
    pub via: &'a str,
}

#[derive(sqlx::FromRow)]
struct DeployRow {
    id: String,
    service: String,
    version: String,
    deployed_at: i64,
    deployed_by: String,
    incident_id: Option<String>,
    summary: String,
    details: String,
    via: String,
}

impl From<DeployRow> for Deploy {
    fn from(row: DeployRow) -> Deploy {
        Deploy {
            id: row.id,
            service: row.service,
            version: row.version,
            deployed_at: from_micros(row.deployed_at),
            deployed_by: row.deployed_by,
            incident_id: row.incident_id,
            summary: row.summary,
            details: row.details,
            via: row.via,
        }
    }
}

impl Store {
    pub async fn create_deploy(
        &self,
        new: &NewDeploy<'_>,
        by: &str,
        now: Timestamp,
    ) -> Result<Deploy> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO deploys (id, service, version, deployed_at, deployed_by, created_at, \
             summary, details, via) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.clone())
        .bind(new.service.to_string())
        .bind(new.version.to_string())
        .bind(micros(new.deployed_at))
        .bind(by.to_string())
        .bind(micros(now))
        .bind(new.summary.to_string())
        .bind(new.details.to_string())
        .bind(new.via.to_string())
        .execute(self.pool())
        .await?;
        Ok(Deploy {
            id,
            service: new.service.into(),
            version: new.version.into(),
            deployed_at: new.deployed_at,
            deployed_by: by.into(),
            incident_id: None,
            summary: new.summary.into(),
            details: new.details.into(),
            via: new.via.into(),
        })
    }

    /// Deploys newest first, of one service or all, deployed in `[since, until)`.
    pub async fn deploys(
        &self,
        service: Option<&str>,
        (since, until): (Option<Timestamp>, Option<Timestamp>),
        limit: i64,
    ) -> Result<Vec<Deploy>> {
        let rows = sqlx::query_as::<_, DeployRow>(
            "SELECT id, service, version, deployed_at, deployed_by, incident_id, summary, details, via \
             FROM deploys WHERE ($1 = '' OR service = $1) AND deployed_at >= $2 AND deployed_at < $3 \
             ORDER BY deployed_at DESC, id DESC LIMIT $4",
        )
        .bind(service.unwrap_or_default().to_string())
        .bind(since.map_or(i64::MIN, micros))
        .bind(until.map_or(i64::MAX, micros))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(Deploy::from).collect())
    }

    /// Links a deploy to the incident it caused; `NotFound` for an unknown deploy.
    pub async fn link_deploy(&self, deploy_id: &str, incident_id: Uuid) -> Result<()> {
        let done = sqlx::query("UPDATE deploys SET incident_id = $2 WHERE id = $1")
            .bind(deploy_id.to_string())
            .bind(incident_id.to_string())
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("deploy"));
        }
        Ok(())
    }

    /// (incidents, follow-ups, (deploys, deploys that caused an incident)) for `[from, to)`, as
    /// `access` may see them: a private incident it may not see counts nowhere — not itself,
    /// its follow-ups, nor the deploy that caused it.
    pub async fn insights_data(
        &self,
        access: &firebreak_core::Access,
        (from, to): (Timestamp, Timestamp),
    ) -> Result<(Vec<IncidentFacts>, Vec<FollowupFacts>, (usize, usize))> {
        let sql =
            format!("SELECT {INCIDENT_SELECT} FROM {INCIDENT_FROM} WHERE incidents.private = 1");
        let mut hidden = std::collections::HashSet::new();
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?
        {
            let it = incident_from_row(&row)?;
            if !access.can_see(&it) {
                hidden.insert(it.id.to_string());
            }
        }
        let sql = format!(
            "SELECT {INCIDENT_SELECT} FROM {INCIDENT_FROM} WHERE declared_at >= $1 AND declared_at < $2 \
             ORDER BY declared_at"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(micros(from))
            .bind(micros(to))
            .fetch_all(self.pool())
            .await?;
        let published: std::collections::HashSet<String> = sqlx::query_scalar::<_, String>(
            "SELECT incident_id FROM postmortems WHERE status = 'published'",
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .collect();
        let causes: std::collections::HashMap<String, String> =
            sqlx::query_as::<_, (String, String)>(
                "SELECT incident_id, id FROM deploys WHERE incident_id IS NOT NULL",
            )
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .collect();
        let mut incidents = Vec::with_capacity(rows.len());
        for row in &rows {
            let it = incident_from_row(row)?;
            if hidden.contains(&it.id.to_string()) {
                continue;
            }
            // Real incidents only: not drills, not declined or merged.
            if it.mode != firebreak_core::Mode::Real
                || matches!(
                    it.status,
                    firebreak_core::Status::Declined | firebreak_core::Status::Merged
                )
            {
                continue;
            }
            let id = it.id.to_string();
            incidents.push(IncidentFacts {
                reference: it.reference.to_string(),
                severity: it.severity.clone(),
                services: it.services.clone(),
                declared: it.timestamp(TimestampName::Declared),
                acknowledged: it.timestamp(TimestampName::Acknowledged),
                mitigated: it.timestamp(TimestampName::Mitigated),
                resolved: it.timestamp(TimestampName::Resolved),
                lead: it.roles.get("lead").cloned(),
                participants: it
                    .coordination
                    .participants
                    .iter()
                    .map(|p| (p.person.clone(), p.minutes, p.out_of_hours_minutes))
                    .collect(),
                postmortem_published: published.contains(&id),
                caused_by_deploy: causes.get(&id).cloned(),
            });
        }
        let followups = sqlx::query_as::<_, (String, Option<i64>, Option<i64>)>(
            "SELECT incident_id, due_at, done_at FROM followups WHERE due_at IS NOT NULL AND due_at >= $1 AND due_at < $2",
        )
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .filter(|(incident_id, _, _)| !hidden.contains(incident_id))
        .map(|(_, due_at, done_at)| FollowupFacts {
            due: due_at.map(from_micros),
            done_at: done_at.map(from_micros),
        })
        .collect();
        let deploys: Vec<Option<String>> = sqlx::query_scalar(
            "SELECT incident_id FROM deploys WHERE deployed_at >= $1 AND deployed_at < $2",
        )
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(self.pool())
        .await?;
        let (mut n, mut failed) = (0, 0);
        for incident_id in deploys {
            match incident_id {
                Some(id) if hidden.contains(&id) => continue,
                Some(_) => failed += 1,
                None => {}
            }
            n += 1;
        }
        Ok((incidents, followups, (n, failed)))
    }
}
