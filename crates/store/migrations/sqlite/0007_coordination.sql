-- When the clock next owes a live incident something (an update reminder, an overdue task,
-- a nudge, a digest): the clock worker finds due incidents with this index. Every write
-- recomputes it; live incidents from before get one look right away.
ALTER TABLE incidents ADD COLUMN wake_at BIGINT;
CREATE INDEX incidents_wake_at ON incidents (wake_at) WHERE wake_at IS NOT NULL;
UPDATE incidents SET wake_at = updated_at
    WHERE status IN ('triage', 'investigating', 'identified', 'monitoring');
-- How many status updates were posted (the passive stakeholders' digest counts new ones).
ALTER TABLE incidents ADD COLUMN updates_posted BIGINT NOT NULL DEFAULT 0;
UPDATE incidents SET updates_posted =
    (SELECT COUNT(*) FROM events e WHERE e.incident_id = incidents.id AND e.kind = 'update_posted');

-- Participants, stakeholders, required roles, a rule's cadence, nudges given (JSON object;
-- '{}' is the empty state).
ALTER TABLE incident_lists ADD COLUMN coordination TEXT NOT NULL DEFAULT '{}';

-- Notifications to rule targets, stakeholders and people: one per event and address, queued
-- by the outbox fan-out and sent (with retries) by the delivery worker.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id TEXT NOT NULL UNIQUE,
    incident_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    UNIQUE (incident_id, seq, channel, address)
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_incident ON notifications (incident_id, seq);
