//! People, their sign-in sessions, and the audit of reads of private incidents.
//!
//! Session cookies, like API tokens, are random secrets stored only as SHA-256 hashes.

use firebreak_core::Role;
use firebreak_core::person::NewPerson;
use firebreak_core::token::hash_token;
use jiff::{SignedDuration, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub time_zone: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

/// What an admin may change about a person; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub csrf_token: String,
    pub user_agent: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A freshly created session; `secret` goes into the cookie and is never stored.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub session: Session,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateRead {
    pub incident_id: String,
    pub reference: firebreak_core::Reference,
    pub actor: String,
    pub what: String,
    pub at: Timestamp,
}

const USER_COLUMNS: &str = "id, email, name, time_zone, role, created_at, disabled_at";
const SESSION_COLUMNS: &str =
    "s.id, s.user_id, s.csrf_token, s.user_agent, s.created_at, s.expires_at, s.revoked_at";

fn uuid(row: &AnyRow, column: &str) -> Result<Uuid> {
    let text: String = row.try_get(column)?;
    Uuid::parse_str(&text).map_err(|_| StoreError::Corrupt(format!("{column} {text:?}")))
}

pub(crate) fn user_from_row(row: &AnyRow, prefix: &str) -> Result<User> {
    let col = |name: &str| format!("{prefix}{name}");
    let role: String = row.try_get(col("role").as_str())?;
    let disabled_at: Option<i64> = row.try_get(col("disabled_at").as_str())?;
    Ok(User {
        id: uuid(row, &col("id"))?,
        email: row.try_get(col("email").as_str())?,
        name: row.try_get(col("name").as_str())?,
        time_zone: row.try_get(col("time_zone").as_str())?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        created_at: from_micros(row.try_get(col("created_at").as_str())?),
        disabled_at: disabled_at.map(from_micros),
    })
}

fn session_from_row(row: &AnyRow) -> Result<Session> {
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    Ok(Session {
        id: uuid(row, "id")?,
        user_id: uuid(row, "user_id")?,
        csrf_token: row.try_get("csrf_token")?,
        user_agent: row.try_get("user_agent")?,
        created_at: from_micros(row.try_get("created_at")?),
        expires_at: from_micros(row.try_get("expires_at")?),
        revoked_at: revoked_at.map(from_micros),
    })
}

pub(crate) fn random_hex() -> Result<String> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)
        .map_err(|err| StoreError::Corrupt(format!("no randomness: {err}")))?;
    Ok(hex::encode(random))
}

impl Store {
    /// `Conflict` when the email is taken.
    pub async fn create_user(
        &self,
        person: &NewPerson,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<User> {
        let user = User {
            id: Uuid::now_v7(),
            email: person.email.clone(),
            name: person.name.clone(),
            time_zone: person.time_zone.clone(),
            role: person.role,
            created_at: now,
            disabled_at: None,
        };
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, name, time_zone, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING",
        )
        .bind(user.id.to_string())
        .bind(user.email.clone())
        .bind(user.name.clone())
        .bind(user.time_zone.clone())
        .bind(user.role.as_str())
        .bind(password_hash.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "there is already a user with the email {}",
                user.email
            )));
        }
        Ok(user)
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name, email");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| user_from_row(row, "")).collect()
    }

    pub async fn user(&self, id: Uuid) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("user"))?;
        user_from_row(&row, "")
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| user_from_row(&row, "")).transpose()
    }

    /// The user with this email and their password hash, for signing in.
    pub async fn credentials(&self, email: &str) -> Result<Option<(User, String)>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| Ok((user_from_row(&row, "")?, row.try_get("password_hash")?)))
            .transpose()
    }

    /// Disabling a person also ends their sessions.
    pub async fn update_user(&self, id: Uuid, patch: &UserPatch, now: Timestamp) -> Result<User> {
        let current = self.user(id).await?;
        let disabled_at = match patch.disabled {
            Some(true) => current.disabled_at.or(Some(now)),
            Some(false) => None,
            None => current.disabled_at,
        };
        sqlx::query(
            "UPDATE users SET name = $2, time_zone = $3, role = $4, disabled_at = $5, \
             password_hash = COALESCE($6, password_hash) WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(patch.name.clone().unwrap_or(current.name))
        .bind(patch.time_zone.clone().unwrap_or(current.time_zone))
        .bind(patch.role.unwrap_or(current.role).as_str())
        .bind(disabled_at.map(micros))
        .bind(patch.password_hash.clone())
        .execute(self.pool())
        .await?;
        if disabled_at.is_some() || patch.password_hash.is_some() {
            self.revoke_user_sessions(id, now).await?;
        }
        self.user(id).await
    }

    pub async fn create_session(
        &self,
        user_id: Uuid,
        user_agent: &str,
        lifetime: SignedDuration,
        now: Timestamp,
    ) -> Result<NewSession> {
        let secret = random_hex()?;
        let session = Session {
            id: Uuid::now_v7(),
            user_id,
            csrf_token: random_hex()?,
            user_agent: user_agent.chars().take(200).collect(),
            created_at: now,
            expires_at: now.saturating_add(lifetime).unwrap_or(now),
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, csrf_token, user_agent, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .bind(session.id.to_string())
        .bind(hash_token(&secret))
        .bind(user_id.to_string())
        .bind(session.csrf_token.clone())
        .bind(session.user_agent.clone())
        .bind(micros(now))
        .bind(micros(session.expires_at))
        .execute(self.pool())
        .await?;
        Ok(NewSession { session, secret })
    }

    /// The live session with this cookie secret and its (enabled) user.
    pub async fn session(&self, secret: &str, now: Timestamp) -> Result<Option<(Session, User)>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS}, u.id AS u_id, u.email AS u_email, u.name AS u_name, \
             u.time_zone AS u_time_zone, u.role AS u_role, u.created_at AS u_created_at, \
             u.disabled_at AS u_disabled_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
             AND u.disabled_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash_token(secret))
            .bind(micros(now))
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| Ok((session_from_row(&row)?, user_from_row(&row, "u_")?)))
            .transpose()
    }

    /// Live sessions of one person, newest first.
    pub async fn sessions(&self, user_id: Uuid, now: Timestamp) -> Result<Vec<Session>> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.user_id = $1 \
             AND s.revoked_at IS NULL AND s.expires_at > $2 ORDER BY s.created_at DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id.to_string())
            .bind(micros(now))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(session_from_row).collect()
    }

    pub async fn revoke_session(&self, id: Uuid, now: Timestamp) -> Result<()> {
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id.to_string())
                .bind(micros(now))
                .execute(self.pool())
                .await?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound("session"))
        } else {
            Ok(())
        }
    }

    /// Signs a person out everywhere; answers how many sessions ended.
    pub async fn revoke_user_sessions(&self, user_id: Uuid, now: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Records that `actor` read private incidents; one row per incident.
    pub async fn audit_private_reads(
        &self,
        incidents: &[(String, firebreak_core::Reference)],
        actor: &str,
        what: &str,
        now: Timestamp,
    ) -> Result<()> {
        if incidents.is_empty() {
            return Ok(());
        }
        let rows: Vec<String> = (0..incidents.len())
            .map(|idx| {
                let base = idx * 2;
                format!("(${}, ${}, $1, $2, $3)", base + 4, base + 5)
            })
            .collect();
        let sql = format!(
            "INSERT INTO private_reads (incident_id, number, actor, what, at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(actor.to_string())
            .bind(what.to_string())
            .bind(micros(now));
        for (id, reference) in incidents {
            query = query.bind(id.clone()).bind(reference.0);
        }
        query.execute(self.pool()).await?;
        Ok(())
    }

    /// The newest audit rows, optionally for one incident.
    pub async fn private_reads(
        &self,
        incident_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PrivateRead>> {
        let filter = if incident_id.is_some() {
            "WHERE incident_id = $2"
        } else {
            "WHERE $2 = $2"
        };
        let sql = format!(
            "SELECT incident_id, number, actor, what, at FROM private_reads {filter} ORDER BY id DESC LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit.clamp(1, 1000))
            .bind(incident_id.unwrap_or("").to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(PrivateRead {
                    incident_id: row.try_get("incident_id")?,
                    reference: firebreak_core::Reference(row.try_get("number")?),
                    actor: row.try_get("actor")?,
                    what: row.try_get("what")?,
                    at: from_micros(row.try_get("at")?),
                })
            })
            .collect()
    }
}
