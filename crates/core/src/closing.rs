//! Whether an incident may close. The status table decides first (`identified → closed` is
//! not a move at all); from there, closing waits for what learning owes: a published
//! post-mortem and no open follow-up. The writer loads these facts inside the transaction
//! that closes, so a follow-up reopened a moment earlier is seen.

use crate::command::DomainError;
use crate::incident::Incident;
use crate::postmortem::PostmortemStatus;

/// What learning from the incident still owes, as the write transaction reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learning {
    /// The post-mortem's state; `None` when there is none.
    pub postmortem: Option<PostmortemStatus>,
    /// Follow-ups neither done nor won't-do.
    pub open_followups: i64,
}

/// `Ok` when the incident may close, else what is missing, in words.
pub fn check(incident: &Incident, learning: &Learning) -> Result<(), DomainError> {
    let mut missing = Vec::new();
    match learning.postmortem {
        Some(PostmortemStatus::Published) => {}
        Some(_) => missing.push("the post-mortem is not published".to_string()),
        None => missing.push("there is no post-mortem".to_string()),
    }
    if learning.open_followups > 0 {
        missing.push(format!(
            "{} follow-up(s) are still open (mark them done or won't do)",
            learning.open_followups
        ));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DomainError::NotReadyToClose {
            reference: incident.reference,
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::tests::incident;

    #[test]
    fn closing_waits_for_a_published_post_mortem_and_every_follow_up() {
        use PostmortemStatus::*;
        let table: [(Option<PostmortemStatus>, i64, Option<&str>); 5] = [
            (Some(Published), 0, None),
            (
                Some(Published),
                2,
                Some(
                    "INC-1 cannot close yet: 2 follow-up(s) are still open (mark them done or won't do)",
                ),
            ),
            (
                Some(InReview),
                0,
                Some("INC-1 cannot close yet: the post-mortem is not published"),
            ),
            (
                None,
                0,
                Some("INC-1 cannot close yet: there is no post-mortem"),
            ),
            (
                Some(Draft),
                1,
                Some(
                    "INC-1 cannot close yet: the post-mortem is not published; 1 follow-up(s) are still open (mark them done or won't do)",
                ),
            ),
        ];
        let it = incident(crate::Status::Resolved);
        for (postmortem, open_followups, expected) in table {
            let learning = Learning {
                postmortem,
                open_followups,
            };
            let got = check(&it, &learning).err().map(|it| it.to_string());
            assert_eq!(got.as_deref(), expected, "{learning:?}");
        }
    }
}
