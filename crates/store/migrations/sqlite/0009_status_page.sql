-- The public status page: components (and groups), every status change (for uptime),
-- public incidents (an explicit projection of an internal incident) and their updates.
CREATE TABLE status_components (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    group_id TEXT,
    is_group BIGINT NOT NULL DEFAULT 0,
    position BIGINT NOT NULL,
    status TEXT NOT NULL,
    showcase BIGINT NOT NULL DEFAULT 1,
    only_show_if_degraded BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE status_component_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    component_id TEXT NOT NULL REFERENCES status_components (id),
    at BIGINT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX status_component_changes_by_component ON status_component_changes (component_id, at);

CREATE TABLE public_incidents (
    id TEXT PRIMARY KEY,
    incident_id TEXT,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    impact TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    monitoring_at BIGINT,
    resolved_at BIGINT,
    -- 'incident' or 'maintenance'; a maintenance window has its times and components (JSON
    -- array of ids), which go under maintenance while it is in progress.
    kind TEXT NOT NULL DEFAULT 'incident',
    scheduled_for BIGINT,
    scheduled_until BIGINT,
    maintenance_components TEXT
);
CREATE INDEX public_incidents_due ON public_incidents (kind, status, scheduled_for);
CREATE INDEX public_incidents_recent ON public_incidents (created_at);

-- affected: JSON [{"code", "name", "old_status", "new_status"}] or null.
CREATE TABLE public_updates (
    id TEXT PRIMARY KEY,
    public_incident_id TEXT NOT NULL REFERENCES public_incidents (id),
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    affected TEXT
);
CREATE INDEX public_updates_by_incident ON public_updates (public_incident_id, created_at);

-- People and systems told about public updates: email (double opt-in) or a signed webhook,
-- for every component or the ones chosen (JSON array of ids; [] means all).
CREATE TABLE status_subscribers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    components TEXT NOT NULL DEFAULT '[]',
    confirm_hash TEXT,
    unsubscribe_token TEXT NOT NULL UNIQUE,
    secret TEXT,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    unsubscribed_at BIGINT
);
CREATE INDEX status_subscribers_confirm ON status_subscribers (confirm_hash);

-- A subscriber webhook signs with its own secret.
ALTER TABLE notifications ADD COLUMN secret TEXT;
