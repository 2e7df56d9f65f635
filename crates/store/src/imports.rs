//! What an import made: each vendor object's id beside the Firebreak object it became and a
//! digest of what was written (`import_refs`), so applying the same plan twice changes nothing.

use jiff::Timestamp;

use crate::clock::micros;
use crate::{Result, Store};

/// A vendor object an import made into a Firebreak one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRef {
    pub local_id: String,
    /// Of what the import wrote last time.
    pub digest: String,
}

impl Store {
    /// What the import of `vendor`'s `kind` object `vendor_id` made, if it made it.
    pub async fn import_ref(
        &self,
        vendor: &str,
        kind: &str,
        vendor_id: &str,
    ) -> Result<Option<ImportRef>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT local_id, digest FROM import_refs WHERE vendor = $1 AND kind = $2 AND vendor_id = $3",
        )
        .bind(vendor.to_string())
        .bind(kind.to_string())
        .bind(vendor_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(local_id, digest)| ImportRef { local_id, digest }))
    }

    /// Every object of `vendor`'s `kind` an import made: (vendor id, what it made).
    pub async fn import_refs(&self, vendor: &str, kind: &str) -> Result<Vec<(String, ImportRef)>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT vendor_id, local_id, digest FROM import_refs WHERE vendor = $1 AND kind = $2 ORDER BY vendor_id",
        )
        .bind(vendor.to_string())
        .bind(kind.to_string())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(vendor_id, local_id, digest)| (vendor_id, ImportRef { local_id, digest }))
            .collect())
    }

    /// Records (or moves) what the import made of a vendor object.
    pub async fn set_import_ref(
        &self,
        (vendor, kind, vendor_id): (&str, &str, &str),
        made: &ImportRef,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO import_refs (vendor, kind, vendor_id, local_id, digest, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (vendor, kind, vendor_id) DO UPDATE SET local_id = $4, digest = $5, updated_at = $6",
        )
        .bind(vendor.to_string())
        .bind(kind.to_string())
        .bind(vendor_id.to_string())
        .bind(made.local_id.clone())
        .bind(made.digest.clone())
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Forgets what the import made of a vendor object (it is gone at the source).
    pub async fn delete_import_ref(&self, vendor: &str, kind: &str, vendor_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM import_refs WHERE vendor = $1 AND kind = $2 AND vendor_id = $3")
            .bind(vendor.to_string())
            .bind(kind.to_string())
            .bind(vendor_id.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
