//! Post-mortems: the draft written from an incident's timeline (summary, impact with its
//! durations from the named timestamps, the key events, and the sections people fill in),
//! and the states a post-mortem moves through.

use jiff::{SignedDuration, Timestamp};

use crate::event::EventData;
use crate::incident::{Incident, TimestampName, text_enum};
use crate::narrate::{Reader, narrate};
use std::fmt;

text_enum!(PostmortemStatus {
    Draft = "draft",
    InReview = "in_review",
    Published = "published",
});

impl PostmortemStatus {
    /// The states a post-mortem may move to from this one (back to draft to rework it).
    pub fn next(self) -> &'static [PostmortemStatus] {
        match self {
            PostmortemStatus::Draft => &[PostmortemStatus::InReview],
            PostmortemStatus::InReview => &[PostmortemStatus::Draft, PostmortemStatus::Published],
            PostmortemStatus::Published => &[PostmortemStatus::InReview],
        }
    }
}

/// One timeline event as the draft reads it.
pub struct TimelineItem<'a> {
    pub event: &'a EventData,
    /// When it happened (a person's assertion when there is one).
    pub at: Timestamp,
}

/// "1 h 35 min", "12 min", "2 d 3 h".
pub fn duration_words(duration: SignedDuration) -> String {
    let minutes = duration.as_mins().max(0);
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, _) => format!("{hours} h {mins} min"),
        _ => format!("{days} d {hours} h"),
    }
}

fn between(incident: &Incident, from: TimestampName, to: TimestampName) -> Option<SignedDuration> {
    let (from, to) = (
        incident.timestamp(from).effective()?,
        incident.timestamp(to).effective()?,
    );
    (to >= from).then(|| to.duration_since(from))
}

/// The draft, in Markdown.
pub fn draft(incident: &Incident, timeline: &[TimelineItem<'_>], reader: &Reader<'_>) -> String {
    let mut out = format!(
        "# Post-mortem: {} — {}\n\n*Blameless: we look for what in our systems and processes made this possible, so that it cannot happen again.*\n\n",
        incident.reference, incident.title
    );
    out.push_str("## Summary\n\n");
    if incident.summary.is_empty() {
        out.push_str("_What happened, in two or three sentences._\n\n");
    } else {
        out.push_str(&format!("{}\n\n", incident.summary));
    }
    out.push_str("## Impact\n\n");
    out.push_str(&format!(
        "- **Severity:** {}\n- **How it showed:** {}\n",
        incident.severity,
        incident.impact.as_str().replace('_', " ")
    ));
    let who = match (incident.affected.text.as_str(), incident.affected.count) {
        ("", None) => "_who and how many were affected_".to_string(),
        ("", Some(count)) => format!("{count}"),
        (text, None) => text.to_string(),
        (text, Some(count)) => format!("{text} ({count})"),
    };
    out.push_str(&format!("- **Who was affected:** {who}\n"));
    if !incident.services.is_empty() {
        out.push_str(&format!(
            "- **Services:** {}\n",
            incident.services.join(", ")
        ));
    }
    let moments = [
        ("Declared", TimestampName::Declared),
        ("Mitigated", TimestampName::Mitigated),
        ("Resolved", TimestampName::Resolved),
    ];
    for (label, name) in moments {
        let slot = incident.timestamp(name);
        if let Some(at) = slot.effective() {
            let asserted = if slot.asserted.is_some() {
                " (as stated by a responder)"
            } else {
                ""
            };
            out.push_str(&format!("- **{label}:** {}{asserted}\n", (reader.time)(at)));
        }
    }
    if let Some(duration) = between(incident, TimestampName::Declared, TimestampName::Resolved) {
        out.push_str(&format!(
            "- **Duration (declared → resolved):** {}\n",
            duration_words(duration)
        ));
    }
    if let Some(duration) = between(incident, TimestampName::Declared, TimestampName::Mitigated) {
        out.push_str(&format!(
            "- **Time to mitigate:** {}\n",
            duration_words(duration)
        ));
    }
    out.push_str("\n## Timeline\n\n");
    for item in timeline.iter().filter(|it| it.event.kind().is_key()) {
        let told = narrate(item.event, reader);
        out.push_str(&format!(
            "- **{}** — {}",
            (reader.time)(item.at),
            told.label
        ));
        let text = told.text.lines().next().unwrap_or("").trim();
        if !text.is_empty() {
            out.push_str(&format!(": {text}"));
        }
        out.push('\n');
    }
    out.push_str(
        "\n## Root cause and contributing factors\n\n_What in the system allowed this? List every contributing factor._\n\n\
         ## What went well\n\n- \n\n\
         ## What went badly\n\n- \n\n\
         ## Where we got lucky\n\n- \n\n\
         ## Action items\n\n| Action | Owner | Due | Kind |\n|---|---|---|---|\n| | | | |\n",
    );
    out
}

/// The most a customer-facing version may hold (the status page's update limit).
pub const CUSTOMER_MAX: usize = 5_000;

/// The customer-facing version of a post-mortem, as plain text for the status page: the
/// summary, the impact and the root cause as written, and the action items by name only.
/// Left out: the internal timeline, what went well or badly, where we got lucky, who owns
/// what, any line naming someone by email, the severity and the template's prompts.
pub fn customer_version(markdown: &str) -> String {
    const KEPT: &[(&str, &str)] = &[
        ("summary", "Summary"),
        ("impact", "Impact"),
        ("root cause", "Root cause"),
        ("action items", "What we are doing about it"),
    ];
    // (title, lines) of each kept section, in the order written.
    let mut sections: Vec<(&str, Vec<String>)> = Vec::new();
    let mut current: Option<&str> = None;
    for line in markdown.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            let heading = heading.trim().to_lowercase();
            current = KEPT
                .iter()
                .find(|(start, _)| heading.starts_with(start))
                .map(|(start, title)| {
                    sections.push((title, Vec::new()));
                    *start
                });
            continue;
        }
        let (Some(kind), Some((_, lines))) = (current, sections.last_mut()) else {
            continue;
        };
        let text = line.trim();
        let prompt = text.len() > 1 && text.starts_with('_') && text.ends_with('_');
        if text.is_empty() || prompt || text.starts_with('#') {
            continue;
        }
        let kept = match (kind, text.strip_prefix('|')) {
            // A table row: the first cell is the action; the header, the rule and empty rows go.
            ("action items", Some(row)) => {
                let first = row.split('|').next().unwrap_or("").trim();
                let rule = first.chars().all(|c| c == '-' || c == ':');
                if first.is_empty() || rule || first.eq_ignore_ascii_case("action") {
                    continue;
                }
                format!("- {first}")
            }
            _ if text.to_lowercase().contains("**severity:**") => continue,
            _ => text.replace("**", ""),
        };
        if kept.contains('@') || kept.trim() == "-" {
            continue;
        }
        lines.push(kept);
    }
    let out = sections
        .into_iter()
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(title, lines)| format!("{title}\n{}", lines.join("\n")))
        .collect::<Vec<_>>()
        .join("\n\n");
    if out.len() <= CUSTOMER_MAX {
        return out;
    }
    let mut end = CUSTOMER_MAX - 3;
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &out[..end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_customer_version_keeps_what_customers_should_read() {
        let markdown = "# Post-mortem: INC-1 — Checkout is down\n\n*Blameless.*\n\n\
            ## Summary\n\nCard payments failed at checkout.\n\n\
            ## Impact\n\n- **Severity:** critical\n- **How it showed:** unavailable\n\
            - **Who was affected:** EU customers (1200)\n\n\
            ## Timeline\n\n- 09:00 Declared by ana@example.com\n\n\
            ## Root cause and contributing factors\n\n_What in the system allowed this?_\n\n\
            A migration locked the orders table. Paged ana@example.com.\n\n\
            ## What went well\n\n- The rollback was fast\n\n\
            ## Where we got lucky\n\n- Low traffic\n\n\
            ## Action items\n\n| Action | Owner | Due | Kind |\n|---|---|---|---|\n\
            | Check migrations in CI | ana@example.com | 2026-12-01 | code |\n| | | | |\n";
        let expected = "Summary\nCard payments failed at checkout.\n\n\
            Impact\n- How it showed: unavailable\n- Who was affected: EU customers (1200)\n\n\
            What we are doing about it\n- Check migrations in CI";
        assert_eq!(customer_version(markdown), expected);
        // Each row: (markdown, must contain, must not contain).
        let cases: &[(&str, &str, &str)] = &[
            (
                "## Timeline\n- 09:00 paged\n## Summary\nDown.",
                "Down.",
                "paged",
            ),
            ("## Where we got lucky\n- it was night\n", "", "night"),
            (
                "## Summary\n_What happened, in two or three sentences._\n",
                "",
                "Summary",
            ),
            (
                "## Root cause\nA full disk.\n",
                "Root cause\nA full disk.",
                "##",
            ),
        ];
        for (markdown, has, lacks) in cases {
            let text = customer_version(markdown);
            assert!(text.contains(has), "{markdown:?} → {text:?}");
            assert!(
                lacks.is_empty() || !text.contains(lacks),
                "{markdown:?} → {text:?}"
            );
        }
        let long = format!("## Summary\n{}\n", "é".repeat(CUSTOMER_MAX));
        let text = customer_version(&long);
        assert!(text.len() <= CUSTOMER_MAX && text.ends_with('…'));
    }

    use super::*;
    use crate::command::tests::incident;
    use crate::lifecycle::Status;

    #[test]
    fn the_draft_tells_the_timeline_and_the_durations() {
        let at = |minutes: i64| Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap();
        let mut it = incident(Status::Resolved);
        it.summary = "Card payments failed at checkout.".into();
        it.timestamps
            .entry(TimestampName::Resolved)
            .or_default()
            .observed = Some(at(95));
        it.timestamps
            .entry(TimestampName::Mitigated)
            .or_default()
            .asserted = Some(at(40));
        let events = [
            EventData::StatusChanged {
                from: crate::Status::Investigating,
                to: crate::Status::Identified,
                merged_into: None,
            },
            EventData::Note {
                text: "chatter".into(),
            },
            EventData::UpdatePosted {
                message: "Rolling back release 42".into(),
                status: None,
                next_update_due: None,
                public: false,
            },
        ];
        let timeline = [
            TimelineItem {
                event: &events[0],
                at: at(10),
            },
            TimelineItem {
                event: &events[1],
                at: at(11),
            },
            TimelineItem {
                event: &events[2],
                at: at(12),
            },
        ];
        let person = |it: &str| it.to_string();
        let time = |at: Timestamp| at.strftime("%H:%M").to_string();
        let reader = Reader {
            person: &person,
            time: &time,
        };
        let text = draft(&it, &timeline, &reader);
        for needle in [
            "# Post-mortem: INC-1 — Checkout is down",
            "Card payments failed at checkout.",
            "- **Duration (declared → resolved):** 1 h 35 min",
            "- **Time to mitigate:** 40 min",
            "(as stated by a responder)",
            "Status investigating → identified",
            "Status update: Rolling back release 42",
            "## Root cause and contributing factors",
            "## Where we got lucky",
            "## Action items",
        ] {
            assert!(text.contains(needle), "{needle:?} in\n{text}");
        }
        assert!(!text.contains("chatter"), "notes stay out of the draft");
        // The draft itself passes its own check.
        assert_eq!(crate::blameless::check(&text, &[]), Vec::new());
        assert_eq!(
            duration_words(SignedDuration::from_mins(3 * 1440 + 125)),
            "3 d 2 h"
        );
    }

    #[test]
    fn states_move_forward_and_back_for_rework() {
        use PostmortemStatus::*;
        assert_eq!(Draft.next(), [InReview]);
        assert_eq!(InReview.next(), [Draft, Published]);
        assert_eq!(Published.next(), [InReview]);
    }
}
