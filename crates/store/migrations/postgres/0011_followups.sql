-- Follow-ups: action items tracked until done or accepted as won't-do, with the reminders
-- already sent (each at most once).
CREATE TABLE followups (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL,
    due_at BIGINT,
    priority TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    done_at BIGINT,
    reminded_before_due BIGINT NOT NULL DEFAULT 0,
    reminded_overdue BIGINT NOT NULL DEFAULT 0,
    reminded_escalated BIGINT NOT NULL DEFAULT 0,
    -- Exported to an issue tracker: 'github' or 'jira', its id there, and a link.
    external_kind TEXT,
    external_id TEXT,
    external_url TEXT
);
CREATE INDEX followups_open ON followups (status, due_at);
CREATE INDEX followups_by_incident ON followups (incident_id);
