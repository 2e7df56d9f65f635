//! Retrospective meetings: when, who, and the invitation emails (with their iCalendar part)
//! queued in the same transaction. Rescheduling sends the same event again with the next
//! sequence number.

use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;

use crate::clock::{from_micros, micros};
use crate::{Result, Store};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retrospective {
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub attendees: Vec<String>,
    pub uid: String,
    pub sequence: i64,
}

/// What the invitation says; `ics` is built by the caller with the uid and sequence given.
pub struct Invitation {
    pub subject: String,
    pub text: String,
}

impl Store {
    pub async fn retrospective(&self, incident_id: Uuid) -> Result<Option<Retrospective>> {
        let row: Option<(i64, i64, String, String, i64)> = sqlx::query_as(
            "SELECT starts_at, ends_at, attendees, uid, sequence FROM retrospectives WHERE incident_id = $1",
        )
        .bind(incident_id.to_string())
        .fetch_optional(self.pool())
        .await?;
        let Some((starts_at, ends_at, attendees, uid, sequence)) = row else {
            return Ok(None);
        };
        Ok(Some(Retrospective {
            starts_at: from_micros(starts_at),
            ends_at: from_micros(ends_at),
            attendees: serde_json::from_str(&attendees).unwrap_or_default(),
            uid,
            sequence,
        }))
    }

    /// Schedules (or reschedules) the meeting and queues one invitation per attendee.
    /// `ics(uid, sequence)` builds the calendar part.
    pub async fn schedule_retrospective(
        &self,
        incident_id: Uuid,
        (starts_at, ends_at, attendees): (Timestamp, Timestamp, &[String]),
        (author, invitation): (&str, &Invitation),
        ics: &(dyn Fn(&str, i64) -> String + Send + Sync),
        now: Timestamp,
    ) -> Result<Retrospective> {
        let mut tx = self.begin_write().await?;
        let existing: Option<(String, i64)> =
            sqlx::query_as("SELECT uid, sequence FROM retrospectives WHERE incident_id = $1")
                .bind(incident_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let (uid, sequence) = match existing {
            Some((uid, sequence)) => (uid, sequence + 1),
            None => (format!("retro-{}@firebreak", Uuid::now_v7()), 0),
        };
        sqlx::query(
            "INSERT INTO retrospectives (incident_id, starts_at, ends_at, attendees, uid, sequence, created_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (incident_id) DO UPDATE SET \
             starts_at = excluded.starts_at, ends_at = excluded.ends_at, attendees = excluded.attendees, \
             sequence = excluded.sequence, updated_at = excluded.updated_at",
        )
        .bind(incident_id.to_string())
        .bind(micros(starts_at))
        .bind(micros(ends_at))
        .bind(json!(attendees).to_string())
        .bind(uid.clone())
        .bind(sequence)
        .bind(author.to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        let calendar = ics(&uid, sequence);
        for attendee in attendees {
            sqlx::query(
                "INSERT INTO notifications (notification_id, incident_id, seq, kind, target, channel, address, \
                 subject, body, status, next_attempt_at, created_at, calendar) \
                 VALUES ($1, $2, $3, 'retrospective_invite', 'attendees', 'email', $4, $5, $6, 'pending', $7, $7, $8) \
                 ON CONFLICT (incident_id, seq, channel, address) DO NOTHING",
            )
            .bind(Uuid::now_v7().to_string())
            .bind(format!("retrospective:{incident_id}"))
            .bind(sequence)
            .bind(attendee.clone())
            .bind(invitation.subject.clone())
            .bind(invitation.text.clone())
            .bind(micros(now))
            .bind(calendar.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.wake_outbox();
        Ok(Retrospective {
            starts_at,
            ends_at,
            attendees: attendees.to_vec(),
            uid,
            sequence,
        })
    }
}
