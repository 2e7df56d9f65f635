//! API tokens: stored as SHA-256 hashes, shown in clear text once at creation.

use firebreak_core::token::{Scope, format_token, hash_token};
use jiff::Timestamp;
use sqlx::FromRow;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::people::{OwnerRow, User, owner_columns};
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

/// A token and its owner's columns (`owner_columns!`).
const TOKEN_COLUMNS: &str = concat!(
    "t.id, t.name, t.scope, t.created_at, t.revoked_at, ",
    owner_columns!()
);

/// A token as `TOKEN_COLUMNS` reads it.
#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    name: String,
    scope: String,
    created_at: i64,
    revoked_at: Option<i64>,
    #[sqlx(flatten)]
    owner: OwnerRow,
}

fn token_from_row(row: &AnyRow) -> Result<TokenInfo> {
    let row = TokenRow::from_row(row)?;
    Ok(TokenInfo {
        id: Uuid::parse_str(&row.id)
            .map_err(|_| StoreError::Corrupt(format!("token id {:?}", row.id)))?,
        name: row.name,
        scope: Scope::parse(&row.scope)
            .ok_or_else(|| StoreError::Corrupt(format!("token scope {:?}", row.scope)))?,
        owner: row.owner.user()?,
        created_at: from_micros(row.created_at),
        revoked_at: row.revoked_at.map(from_micros),
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
