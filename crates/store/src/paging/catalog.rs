//! Teams, escalation policies, services and their integration keys.

use super::*;

impl Store {
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
            .map_err(taken(|| format!("a team named {name:?} exists")))?;
        Ok(Team {
            id,
            name: name.into(),
            members: members.to_vec(),
        })
    }

    /// Renames a team and sets its members; `NotFound`, or `Conflict` when another team has
    /// the name.
    pub async fn update_team(&self, id: &str, name: &str, members: &[String]) -> Result<Team> {
        let done = sqlx::query("UPDATE teams SET name = $2, members = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(name.to_string())
            .bind(serde_json::to_string(members).unwrap_or_else(|_| "[]".into()))
            .execute(self.pool())
            .await
            .map_err(taken(|| format!("a team named {name:?} exists")))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("team"));
        }
        Ok(Team {
            id: id.into(),
            name: name.into(),
            members: members.to_vec(),
        })
    }

    pub async fn teams(&self) -> Result<Vec<Team>> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, name, members FROM teams ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, members)| Team {
                id,
                name,
                members: serde_json::from_str(&members).unwrap_or_default(),
            })
            .collect())
    }

    /// A team by id or name.
    pub async fn team(&self, id_or_name: &str) -> Result<Team> {
        self.teams()
            .await?
            .into_iter()
            .find(|it| it.id == id_or_name || it.name == id_or_name)
            .ok_or(StoreError::NotFound("team"))
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
        .map_err(taken(|| format!("a policy named {name:?} exists")))?;
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
            return Err(StoreError::NotFound("escalation policy"));
        }
        Ok(())
    }

    pub async fn policies(&self) -> Result<Vec<EscalationPolicy>> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, name, policy FROM escalation_policies ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|(id, name, policy)| {
                Ok(EscalationPolicy {
                    id,
                    name,
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
            .ok_or(StoreError::NotFound("escalation policy"))
    }

    pub async fn create_service(&self, service: &Service, now: Timestamp) -> Result<Service> {
        let service = Service {
            id: Uuid::now_v7().to_string(),
            ..service.clone()
        };
        self.write_service(
            "INSERT INTO services (id, name, team_id, policy_id, depends_on, runbook_url, created_at, updated_at, \
             group_window_minutes, auto_declare_severity, shadow) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)",
            &service,
            now,
        )
        .await?;
        Ok(service)
    }

    /// Replaces a service's settings (its id and keys stay); `NotFound`, or `Conflict` when
    /// another service has the name.
    pub async fn replace_service(&self, service: &Service, now: Timestamp) -> Result<Service> {
        let changed = self
            .write_service(
                "UPDATE services SET name = $2, team_id = $3, policy_id = $4, depends_on = $5, runbook_url = $6, \
                 updated_at = $7, group_window_minutes = $8, auto_declare_severity = $9, shadow = $10 WHERE id = $1",
                service,
                now,
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound("service"));
        }
        Ok(service.clone())
    }

    /// Runs `sql` with the service's columns as $1…$10 (id, name, team, policy, dependencies,
    /// runbook, now, storm window, auto-declare, shadow); a name another service has is
    /// `Conflict`.
    async fn write_service(
        &self,
        sql: &'static str,
        service: &Service,
        now: Timestamp,
    ) -> Result<u64> {
        let done = sqlx::query(sql)
            .bind(service.id.clone())
            .bind(service.name.clone())
            .bind(service.team_id.clone())
            .bind(service.policy_id.clone())
            .bind(serde_json::to_string(&service.depends_on).unwrap_or_else(|_| "[]".into()))
            .bind(service.runbook_url.clone())
            .bind(micros(now))
            .bind(service.group_window_minutes)
            .bind(service.auto_declare_severity.clone())
            .bind(i64::from(service.shadow))
            .execute(self.pool())
            .await
            .map_err(taken(|| {
                format!("a service named {:?} exists", service.name)
            }))?;
        Ok(done.rows_affected())
    }

    pub async fn services(&self) -> Result<Vec<Service>> {
        let rows = sqlx::query(
            "SELECT id, name, team_id, policy_id, depends_on, runbook_url, group_window_minutes, auto_declare_severity, shadow FROM services ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(service_from).collect()
    }

    /// A service by id or name.
    pub async fn service(&self, id_or_name: &str) -> Result<Service> {
        let row = sqlx::query(
            "SELECT id, name, team_id, policy_id, depends_on, runbook_url, group_window_minutes, auto_declare_severity, shadow FROM services WHERE id = $1 OR name = $1",
        )
        .bind(id_or_name.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("service"))?;
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
        .await
        .map_err(taken(|| "that integration key is in use".to_string()))?;
        Ok(IntegrationKey {
            id,
            service_id: service_id.into(),
            name: name.into(),
            created_at: now,
            revoked_at: None,
        })
    }

    pub async fn integration_keys(&self, service_id: &str) -> Result<Vec<IntegrationKey>> {
        let rows: Vec<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, service_id, name, created_at, revoked_at FROM integration_keys WHERE service_id = $1 ORDER BY created_at",
        )
        .bind(service_id.to_string())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, service_id, name, created_at, revoked_at)| IntegrationKey {
                    id,
                    service_id,
                    name,
                    created_at: from_micros(created_at),
                    revoked_at: revoked_at.map(from_micros),
                },
            )
            .collect())
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
            return Err(StoreError::NotFound("integration key"));
        }
        Ok(())
    }

    /// The service a live integration key belongs to.
    pub async fn service_by_key(&self, key_hash: &str) -> Result<Service> {
        let row = sqlx::query(
            "SELECT s.id, s.name, s.team_id, s.policy_id, s.depends_on, s.runbook_url, s.group_window_minutes, s.auto_declare_severity, s.shadow FROM integration_keys k \
             JOIN services s ON s.id = k.service_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(key_hash.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound("integration key"))?;
        service_from(&row)
    }
}
