//! How each person is paged: contact methods and notification rules.

use super::*;

/// A way to reach a person: an email address or a signed webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactMethod {
    pub id: String,
    pub person: String,
    /// `email`, `webhook`, `slack`, `matrix`, `sms`, `voice` or `push`.
    pub kind: String,
    pub address: String,
    /// A phone number is paged only once a code sent to it came back.
    pub verified: bool,
    /// The number replied STOP (until it replies START).
    pub stopped: bool,
    /// The provider said this can never arrive (a landline for SMS, a blocked number).
    pub failure: Option<String>,
}

impl ContactMethod {
    /// Whether pages may use it now.
    pub fn usable(&self) -> bool {
        self.verified && !self.stopped && self.failure.is_none()
    }
}

/// The flags are read as 0/1 integers on both backends (`IS NOT NULL` is a boolean on
/// PostgreSQL and an integer on SQLite).
pub(crate) const CONTACT_COLUMNS: &str = "id, person, kind, address, \
    CAST(CASE WHEN verified_at IS NULL THEN 0 ELSE 1 END AS BIGINT), \
    CAST(CASE WHEN stopped_at IS NULL THEN 0 ELSE 1 END AS BIGINT), failure";

pub(crate) type ContactRow = (String, String, String, String, i64, i64, Option<String>);

pub(crate) fn contact_from(
    (id, person, kind, address, verified, stopped, failure): ContactRow,
) -> ContactMethod {
    ContactMethod {
        id,
        person,
        kind,
        address,
        verified: verified == 1,
        stopped: stopped == 1,
        failure,
    }
}

/// A person's rules are few: each page is one message per rule.
pub const MAX_RULES_PER_PERSON: usize = 10;

/// "After `delay_minutes`, by this contact method."
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRule {
    pub id: String,
    pub contact_method: ContactMethod,
    pub delay_minutes: i64,
}

impl Store {
    pub async fn create_contact_method(
        &self,
        person: &str,
        (kind, address, secret): (&str, &str, Option<&str>),
        verified: bool,
        now: Timestamp,
    ) -> Result<ContactMethod> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO contact_methods (id, person, kind, address, secret, created_at, verified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.clone())
        .bind(person.to_string())
        .bind(kind.to_string())
        .bind(address.to_string())
        .bind(secret.map(String::from))
        .bind(micros(now))
        .bind(verified.then(|| micros(now)))
        .execute(self.pool())
        .await?;
        Ok(ContactMethod {
            id,
            person: person.into(),
            kind: kind.into(),
            address: address.into(),
            verified,
            stopped: false,
            failure: None,
        })
    }

    pub async fn contact_methods(&self, person: &str) -> Result<Vec<ContactMethod>> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contact_methods WHERE person = $1 ORDER BY created_at"
        );
        let rows: Vec<ContactRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(person.to_string())
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(contact_from).collect())
    }

    /// Removes a person's contact method and the rules that use it.
    pub async fn delete_contact_method(&self, person: &str, id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM contact_verifications WHERE contact_method_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM notification_rules WHERE contact_method_id = $1 AND person = $2")
            .bind(id.to_string())
            .bind(person.to_string())
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM contact_methods WHERE id = $1 AND person = $2")
            .bind(id.to_string())
            .bind(person.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("contact method"));
        }
        tx.commit().await?;
        Ok(())
    }

    /// A rule for one of the person's own contact methods; `NotFound` for someone else's.
    pub async fn create_notification_rule(
        &self,
        person: &str,
        contact_method_id: &str,
        delay_minutes: i64,
        now: Timestamp,
    ) -> Result<NotificationRule> {
        let method = self.own_method(person, contact_method_id).await?;
        if !method.verified {
            return Err(StoreError::Conflict(
                "verify this contact method first (a code is sent to it)".into(),
            ));
        }
        self.add_rule(person, method, delay_minutes, now).await
    }

    /// A rule brought over by an import, on a method that may not be verified yet: paging
    /// skips an unverified method (and falls back to email), so the rule takes effect when the
    /// person verifies the number. `NotFound` for someone else's method.
    pub async fn import_notification_rule(
        &self,
        person: &str,
        contact_method_id: &str,
        delay_minutes: i64,
        now: Timestamp,
    ) -> Result<NotificationRule> {
        let method = self.own_method(person, contact_method_id).await?;
        self.add_rule(person, method, delay_minutes, now).await
    }

    /// One of the person's own contact methods; `NotFound` for someone else's.
    async fn own_method(&self, person: &str, id: &str) -> Result<ContactMethod> {
        self.contact_methods(person)
            .await?
            .into_iter()
            .find(|it| it.id == id)
            .ok_or(StoreError::NotFound("contact method"))
    }

    async fn add_rule(
        &self,
        person: &str,
        method: ContactMethod,
        delay_minutes: i64,
        now: Timestamp,
    ) -> Result<NotificationRule> {
        let contact_method_id = method.id.as_str();
        let existing = self.notification_rules(person).await?;
        if existing.iter().any(|it| {
            it.contact_method.id == contact_method_id && it.delay_minutes == delay_minutes
        }) {
            return Err(StoreError::Conflict(
                "you have that rule already (same method, same delay)".into(),
            ));
        }
        if existing.len() >= MAX_RULES_PER_PERSON {
            return Err(StoreError::Conflict(format!(
                "at most {MAX_RULES_PER_PERSON} notification rules per person"
            )));
        }
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO notification_rules (id, person, contact_method_id, delay_minutes, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.clone())
        .bind(person.to_string())
        .bind(contact_method_id.to_string())
        .bind(delay_minutes)
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(NotificationRule {
            id,
            contact_method: method,
            delay_minutes,
        })
    }

    pub async fn notification_rules(&self, person: &str) -> Result<Vec<NotificationRule>> {
        let methods = self.contact_methods(person).await?;
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, contact_method_id, delay_minutes FROM notification_rules WHERE person = $1 ORDER BY delay_minutes",
        )
        .bind(person.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for (id, method_id, delay_minutes) in rows {
            if let Some(method) = methods.iter().find(|it| it.id == method_id) {
                out.push(NotificationRule {
                    id,
                    contact_method: method.clone(),
                    delay_minutes,
                });
            }
        }
        Ok(out)
    }

    pub async fn delete_notification_rule(&self, person: &str, id: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM notification_rules WHERE id = $1 AND person = $2")
            .bind(id.to_string())
            .bind(person.to_string())
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("notification rule"));
        }
        Ok(())
    }
}
