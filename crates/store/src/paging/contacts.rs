//! How each person is paged: contact methods and notification rules.

use super::*;

/// A way to reach a person: an email address or a signed webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactMethod {
    pub id: String,
    pub person: String,
    /// `email` or `webhook`.
    pub kind: String,
    pub address: String,
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
        now: Timestamp,
    ) -> Result<ContactMethod> {
        let id = Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO contact_methods (id, person, kind, address, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.clone())
        .bind(person.to_string())
        .bind(kind.to_string())
        .bind(address.to_string())
        .bind(secret.map(String::from))
        .bind(micros(now))
        .execute(self.pool())
        .await?;
        Ok(ContactMethod {
            id,
            person: person.into(),
            kind: kind.into(),
            address: address.into(),
        })
    }

    pub async fn contact_methods(&self, person: &str) -> Result<Vec<ContactMethod>> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT id, person, kind, address FROM contact_methods WHERE person = $1 ORDER BY created_at",
        )
        .bind(person.to_string())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, person, kind, address)| ContactMethod {
                id,
                person,
                kind,
                address,
            })
            .collect())
    }

    /// Removes a person's contact method and the rules that use it.
    pub async fn delete_contact_method(&self, person: &str, id: &str) -> Result<()> {
        let mut tx = self.pool().begin_with(begin_write(self.backend())).await?;
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
        let method = self
            .contact_methods(person)
            .await?
            .into_iter()
            .find(|it| it.id == contact_method_id)
            .ok_or(StoreError::NotFound("contact method"))?;
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
