//! API tokens: stored as SHA-256 hashes, shown in clear text once at creation.

use firebreak_core::token::{Scope, format_token, hash_token};
use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::people::{User, user_from_row};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    pub scope: Scope,
    /// The person the token acts as; `None` only for tokens made before people existed.
    pub owner: Option<User>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A freshly created token; `secret` is the only copy of the clear text.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub info: TokenInfo,
    pub secret: String,
}

const TOKEN_COLUMNS: &str = "t.id, t.name, t.scope, t.created_at, t.revoked_at, \
    u.id AS u_id, u.email AS u_email, u.name AS u_name, u.time_zone AS u_time_zone, \
    u.role AS u_role, u.created_at AS u_created_at, u.disabled_at AS u_disabled_at";

fn token_from_row(row: &AnyRow) -> Result<TokenInfo> {
    let id: String = row.try_get("id")?;
    let owner_id: Option<String> = row.try_get("u_id")?;
    let scope: String = row.try_get("scope")?;
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    Ok(TokenInfo {
        id: Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt(format!("token id {id:?}")))?,
        name: row.try_get("name")?,
        scope: Scope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("token scope {scope:?}")))?,
        owner: match owner_id {
            Some(_) => Some(user_from_row(row, "u_")?),
            None => None,
        },
        created_at: from_micros(row.try_get("created_at")?),
        revoked_at: revoked_at.map(from_micros),
    })
}

impl Store {
    /// A token acting as `owner` (within `scope`).
    pub async fn create_token(
        &self,
        name: &str,
        scope: Scope,
        owner: Option<&User>,
        now: Timestamp,
    ) -> Result<NewToken> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)
            .map_err(|err| StoreError::Corrupt(format!("no randomness: {err}")))?;
        let secret = format_token(&random);
        let info = TokenInfo {
            id: Uuid::now_v7(),
            name: name.to_string(),
            scope,
            owner: owner.cloned(),
            created_at: now,
            revoked_at: None,
        };
        sqlx::query("INSERT INTO api_tokens (id, name, scope, token_hash, created_at, user_id) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(info.id.to_string())
            .bind(info.name.clone())
            .bind(scope.as_str())
            .bind(hash_token(&secret))
            .bind(micros(now))
            .bind(owner.map(|it| it.id.to_string()))
            .execute(self.pool())
            .await?;
        Ok(NewToken { info, secret })
    }

    /// The live token with this clear text, if any; a disabled owner's tokens do not work.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<TokenInfo>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash_token(secret))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub async fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id \
             ORDER BY t.created_at"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    pub async fn revoke_token(&self, id: Uuid, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id.to_string())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound("token"))
        } else {
            Ok(())
        }
    }
}
