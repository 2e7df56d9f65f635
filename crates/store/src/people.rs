//! People, their sign-in sessions, and the audit of reads of private incidents.
//!
//! Session cookies, like API tokens, are random secrets stored only as SHA-256 hashes.

use firebreak_core::Role;
use firebreak_core::person::NewPerson;
use firebreak_core::token::hash_token;
use jiff::{SignedDuration, Timestamp};
use sqlx::FromRow;
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

fn uuid(column: &str, text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(format!("{column} {text:?}")))
}

/// A person as `USER_COLUMNS` reads them.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    name: String,
    time_zone: String,
    role: String,
    created_at: i64,
    disabled_at: Option<i64>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<User> {
        Ok(User {
            id: uuid("id", &row.id)?,
            role: Role::parse(&row.role)
                .ok_or_else(|| StoreError::Corrupt(format!("role {:?}", row.role)))?,
            email: row.email,
            name: row.name,
            time_zone: row.time_zone,
            created_at: from_micros(row.created_at),
            disabled_at: row.disabled_at.map(from_micros),
        })
    }
}

/// A person with their password hash, for signing in.
#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

/// The columns of the person a session or token belongs to, joined in as `u_…`
/// (`OWNER_COLUMNS`); all null for a token made before people existed.
macro_rules! owner_columns {
    () => {
        "u.id AS u_id, u.email AS u_email, u.name AS u_name, u.time_zone AS u_time_zone, \
         u.role AS u_role, u.created_at AS u_created_at, u.disabled_at AS u_disabled_at"
    };
}
pub(crate) use owner_columns;
const OWNER_COLUMNS: &str = owner_columns!();

/// The person `OWNER_COLUMNS` reads, if there is one.
#[derive(sqlx::FromRow)]
pub(crate) struct OwnerRow {
    u_id: Option<String>,
    u_email: Option<String>,
    u_name: Option<String>,
    u_time_zone: Option<String>,
    u_role: Option<String>,
    u_created_at: Option<i64>,
    u_disabled_at: Option<i64>,
}

impl OwnerRow {
    pub(crate) fn user(self) -> Result<Option<User>> {
        let Some(id) = self.u_id else { return Ok(None) };
        let row = UserRow {
            id,
            email: self.u_email.unwrap_or_default(),
            name: self.u_name.unwrap_or_default(),
            time_zone: self.u_time_zone.unwrap_or_default(),
            role: self.u_role.unwrap_or_default(),
            created_at: self.u_created_at.unwrap_or_default(),
            disabled_at: self.u_disabled_at,
        };
        Ok(Some(User::try_from(row)?))
    }
}

fn user_from_row(row: &AnyRow) -> Result<User> {
    User::try_from(UserRow::from_row(row)?)
}

/// A session as `SESSION_COLUMNS` reads it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    user_id: String,
    csrf_token: String,
    user_agent: String,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

fn session_from_row(row: &AnyRow) -> Result<Session> {
    let row = SessionRow::from_row(row)?;
    Ok(Session {
        id: uuid("session id", &row.id)?,
        user_id: uuid("session user_id", &row.user_id)?,
        csrf_token: row.csrf_token,
        user_agent: row.user_agent,
        created_at: from_micros(row.created_at),
        expires_at: from_micros(row.expires_at),
        revoked_at: row.revoked_at.map(from_micros),
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
        rows.iter().map(user_from_row).collect()
    }

    pub async fn user(&self, id: Uuid) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("user"))?;
        user_from_row(&row)
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| user_from_row(&row)).transpose()
    }

    /// The user with this email and their password hash, for signing in.
    pub async fn credentials(&self, email: &str) -> Result<Option<(User, String)>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let row = CredentialsRow::from_row(&row)?;
        Ok(Some((User::try_from(row.user)?, row.password_hash)))
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
            "SELECT {SESSION_COLUMNS}, {OWNER_COLUMNS} \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
             AND u.disabled_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash_token(secret))
            .bind(micros(now))
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let user = OwnerRow::from_row(&row)?
            .user()?
            .ok_or_else(|| StoreError::Corrupt("session without its person".into()))?;
        Ok(Some((session_from_row(&row)?, user)))
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
        let rows: Vec<(String, i64, String, String, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(limit.clamp(1, 1000))
                .bind(incident_id.unwrap_or("").to_string())
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(incident_id, number, actor, what, at)| PrivateRead {
                incident_id,
                reference: firebreak_core::Reference(number),
                actor,
                what,
                at: from_micros(at),
            })
            .collect())
    }
}
