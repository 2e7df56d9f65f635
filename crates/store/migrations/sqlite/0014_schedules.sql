-- On-call schedules: layers of rotations (stored as the API's JSON; the wall-clock rules and
-- the IANA zone are kept as written, never as UTC), overrides, and secret calendar feeds.
CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    time_zone TEXT NOT NULL,
    layers TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE schedule_overrides (
    id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES schedules (id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    person TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX schedule_overrides_of ON schedule_overrides (schedule_id, ends_at);
-- A feed is a schedule's shifts or one person's shifts across schedules; the URL's secret is
-- kept as its SHA-256.
CREATE TABLE calendar_feeds (
    secret_hash TEXT PRIMARY KEY,
    schedule_id TEXT REFERENCES schedules (id),
    person TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
