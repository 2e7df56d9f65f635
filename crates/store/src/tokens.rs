//! API tokens: stored as SHA-256 hashes, shown in clear text once at creation.

use firebreak_core::token::{Scope, format_token, hash_token};
use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    pub scope: Scope,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A freshly created token; `secret` is the only copy of the clear text.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub info: TokenInfo,
    pub secret: String,
}

fn token_from_row(row: &AnyRow) -> Result<TokenInfo> {
    let id: String = row.try_get("id")?;
    let scope: String = row.try_get("scope")?;
    let revoked_at: Option<i64> = row.try_get("revoked_at")?;
    Ok(TokenInfo {
        id: Uuid::parse_str(&id).map_err(|_| StoreError::Corrupt(format!("token id {id:?}")))?,
        name: row.try_get("name")?,
        scope: Scope::parse(&scope)
            .ok_or_else(|| StoreError::Corrupt(format!("token scope {scope:?}")))?,
        created_at: from_micros(row.try_get("created_at")?),
        revoked_at: revoked_at.map(from_micros),
    })
}

impl Store {
    pub async fn create_token(&self, name: &str, scope: Scope, now: Timestamp) -> Result<NewToken> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)
            .map_err(|err| StoreError::Corrupt(format!("no randomness: {err}")))?;
        let secret = format_token(&random);
        let info = TokenInfo {
            id: Uuid::now_v7(),
            name: name.to_string(),
            scope,
            created_at: now,
            revoked_at: None,
        };
        sqlx::query("INSERT INTO api_tokens (id, name, scope, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(info.id.to_string())
            .bind(info.name.clone())
            .bind(scope.as_str())
            .bind(hash_token(&secret))
            .bind(micros(now))
            .execute(self.pool())
            .await?;
        Ok(NewToken { info, secret })
    }

    /// The live token with this clear text, if any.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<TokenInfo>> {
        let row = sqlx::query("SELECT id, name, scope, created_at, revoked_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(hash_token(secret))
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub async fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(
            "SELECT id, name, scope, created_at, revoked_at FROM api_tokens ORDER BY created_at",
        )
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
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
