//! Status updates in the shape the seeds ask for — what is affected, who and how many, what
//! we are doing, when we expect it fixed, when the next update comes — as plain text that
//! can be pasted into chat, email or a status page.

use jiff::Timestamp;

/// The optional structured parts of an update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateParts {
    pub affected: String,
    pub who: String,
    pub doing: String,
    pub expected_resolution: String,
}

/// The update's text: the free message, then one line per part given.
pub fn compose(message: &str, parts: &UpdateParts) -> String {
    let mut lines: Vec<String> = Vec::new();
    if !message.trim().is_empty() {
        lines.push(message.trim().to_string());
    }
    let labelled = [
        ("What is affected", &parts.affected),
        ("Who is affected", &parts.who),
        ("What we are doing", &parts.doing),
        ("Expected resolution", &parts.expected_resolution),
    ];
    for (label, value) in labelled {
        if !value.trim().is_empty() {
            lines.push(format!("{label}: {}", value.trim()));
        }
    }
    lines.join("\n")
}

/// An update ready to paste anywhere: a header naming the incident, the text, and when the
/// next update is due (`when` formats a time for the reader).
pub fn plain_text(
    header: &str,
    text: &str,
    next_update_due: Option<Timestamp>,
    when: &dyn Fn(Timestamp) -> String,
) -> String {
    let mut out = format!("{header}\n{text}\n");
    match next_update_due {
        Some(due) => out.push_str(&format!("Next update: {}\n", when(due))),
        None => out.push_str("No further updates are scheduled.\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_compose_into_pasteable_text() {
        let parts = UpdateParts {
            affected: "card payments at checkout".into(),
            who: "EU customers, about 400 so far".into(),
            doing: "rolling back release 42".into(),
            expected_resolution: " ".into(),
        };
        let table = [
            (
                "",
                parts.clone(),
                "What is affected: card payments at checkout\nWho is affected: EU customers, about 400 so far\nWhat we are doing: rolling back release 42",
            ),
            (
                "Rollback started.",
                UpdateParts::default(),
                "Rollback started.",
            ),
            (
                "Rollback started.",
                UpdateParts {
                    expected_resolution: "within the hour".into(),
                    ..UpdateParts::default()
                },
                "Rollback started.\nExpected resolution: within the hour",
            ),
            ("  ", UpdateParts::default(), ""),
        ];
        for (message, parts, expected) in table {
            assert_eq!(compose(message, &parts), expected, "{message:?}");
        }
        let due = Timestamp::from_second(1_800_000_000).unwrap();
        let text = plain_text("INC-3 · Checkout down", "Rolling back.", Some(due), &|at| {
            at.to_string()
        });
        assert_eq!(
            text,
            "INC-3 · Checkout down\nRolling back.\nNext update: 2027-01-15T08:00:00Z\n"
        );
        assert!(plain_text("h", "t", None, &|at| at.to_string()).ends_with("scheduled.\n"));
    }
}
