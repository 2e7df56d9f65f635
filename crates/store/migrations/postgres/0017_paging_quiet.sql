-- Pages per person in the last hour are counted at every page: index them.
CREATE INDEX notifications_pages ON notifications (kind, address, created_at);
-- Silences (and maintenance windows: a silence of a whole service) keep alerts but page
-- nobody; `service_id` NULL is every service, `matching` empty is every alert.
CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    service_id TEXT REFERENCES services (id),
    matching TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    comment TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX silences_ends ON silences (ends_at);
-- Alert-storm grouping per service: alerts opened within the window of an open alert join
-- it (one page). 0: off.
ALTER TABLE services ADD COLUMN group_window_minutes BIGINT NOT NULL DEFAULT 0;
-- Open an incident (in triage) for every new alert of at least this severity; empty: never.
ALTER TABLE services ADD COLUMN auto_declare_severity TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN group_id TEXT;
