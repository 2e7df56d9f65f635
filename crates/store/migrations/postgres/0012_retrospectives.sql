-- The retrospective meeting of an incident; each change re-sends the invitation with the
-- next SEQUENCE, so calendars update the same event.
CREATE TABLE retrospectives (
    incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    attendees TEXT NOT NULL,
    uid TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- An iCalendar invitation sent with an email notification.
ALTER TABLE notifications ADD COLUMN calendar TEXT;
