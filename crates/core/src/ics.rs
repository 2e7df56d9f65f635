//! iCalendar (RFC 5545) invitations: one event with `METHOD:REQUEST`, as calendar clients
//! (Outlook, Google Calendar, Apple Calendar, Thunderbird) accept from email.

use jiff::Timestamp;

pub struct Invite<'a> {
    /// Stable per meeting, so an update replaces the invitation instead of adding one.
    pub uid: &'a str,
    pub sequence: i64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: &'a str,
    pub description: &'a str,
    pub location: &'a str,
    pub organizer: &'a str,
    pub attendees: &'a [String],
    pub now: Timestamp,
}

fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value: backslash, semicolon, comma, and newlines.
fn text(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
}

/// Folds a content line at 75 octets (continuations start with a space), on character
/// boundaries.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for ch in line.chars() {
        let len = ch.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += len;
    }
    out.push_str("\r\n");
    out
}

pub fn request(invite: &Invite<'_>) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//Firebreak//Incident response//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:REQUEST".to_string(),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}", invite.uid),
        format!("SEQUENCE:{}", invite.sequence),
        format!("DTSTAMP:{}", utc(invite.now)),
        format!("DTSTART:{}", utc(invite.start)),
        format!("DTEND:{}", utc(invite.end)),
        format!("SUMMARY:{}", text(invite.summary)),
        format!("DESCRIPTION:{}", text(invite.description)),
    ];
    if !invite.location.is_empty() {
        lines.push(format!("LOCATION:{}", text(invite.location)));
    }
    lines.push(format!("ORGANIZER:mailto:{}", invite.organizer));
    for attendee in invite.attendees {
        lines.push(format!(
            "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{attendee}"
        ));
    }
    lines.extend(
        [
            "STATUS:CONFIRMED",
            "TRANSP:OPAQUE",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
        .iter()
        .map(|it| it.to_string()),
    );
    lines.iter().map(|it| fold(it)).collect()
}

/// One event of a published calendar (a feed clients subscribe to).
pub struct FeedEvent<'a> {
    /// Stable for the same shift, so a refresh updates rather than duplicates.
    pub uid: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub summary: &'a str,
    pub description: &'a str,
}

/// A subscribable calendar (`METHOD:PUBLISH`) of many events, times in UTC.
pub fn feed(name: &str, events: &[FeedEvent<'_>], now: Timestamp) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//Firebreak//On call//EN".to_string(),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:PUBLISH".to_string(),
        format!("X-WR-CALNAME:{}", text(name)),
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H".to_string(),
    ];
    for event in events {
        lines.extend([
            "BEGIN:VEVENT".to_string(),
            format!("UID:{}", event.uid),
            format!("DTSTAMP:{}", utc(now)),
            format!("DTSTART:{}", utc(event.start)),
            format!("DTEND:{}", utc(event.end)),
            format!("SUMMARY:{}", text(event.summary)),
            format!("DESCRIPTION:{}", text(event.description)),
            "TRANSP:TRANSPARENT".to_string(),
            "END:VEVENT".to_string(),
        ]);
    }
    lines.push("END:VCALENDAR".to_string());
    lines.iter().map(|it| fold(it)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_is_well_formed() {
        let at = |text: &str| text.parse::<Timestamp>().unwrap();
        let attendees = vec!["ana@example.com".to_string()];
        let description = format!(
            "Post-mortem: https://fb.example/incidents/INC-7/postmortem\n{}",
            "x".repeat(100)
        );
        let ics = request(&Invite {
            uid: "retro-abc@firebreak",
            sequence: 0,
            start: at("2026-11-24T15:00:00Z"),
            end: at("2026-11-24T16:00:00Z"),
            summary: "Retrospective: INC-7, checkout; payments",
            description: &description,
            location: "",
            organizer: "firebreak@example.com",
            attendees: &attendees,
            now: at("2026-11-21T10:00:00Z"),
        });
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.contains("METHOD:REQUEST\r\n"));
        assert!(ics.contains("DTSTART:20261124T150000Z\r\n"));
        assert!(ics.contains("SUMMARY:Retrospective: INC-7\\, checkout\\; payments\r\n"));
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("RSVP=TRUE:mailto:ana@example.com"));
        assert!(ics.lines().all(|line| line.len() <= 76), "{ics}");
        assert!(ics.contains("\r\n "), "long lines are folded");
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }
}
