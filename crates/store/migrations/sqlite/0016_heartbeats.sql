-- Heartbeat monitors: a service expects a ping every `interval_minutes`; a missed one raises
-- an alert (`missed` = 1 while it is open), the next ping resolves it.
CREATE TABLE heartbeats (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    name TEXT NOT NULL,
    interval_minutes BIGINT NOT NULL,
    last_ping_at BIGINT,
    due_at BIGINT NOT NULL,
    missed BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (service_id, name)
);
CREATE INDEX heartbeats_due ON heartbeats (due_at);
