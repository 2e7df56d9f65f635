-- Firebreak schema v1 (PostgreSQL). Times are i64 microseconds since the Unix epoch; flags are 0/1.
CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL DEFAULT 0);
INSERT INTO counters (name, value) VALUES ('incident_reference', 0);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL,
    incident_type TEXT NOT NULL,
    impact TEXT NOT NULL,
    affected_text TEXT NOT NULL DEFAULT '',
    affected_count BIGINT,
    services TEXT NOT NULL DEFAULT '[]',
    private BIGINT NOT NULL DEFAULT 0,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    roles TEXT NOT NULL DEFAULT '{}',
    next_update_due BIGINT,
    timestamps TEXT NOT NULL DEFAULT '{}',
    merged_into BIGINT,
    created_by TEXT NOT NULL,
    declared_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0,
    last_hash TEXT NOT NULL
);
CREATE INDEX incidents_status_number ON incidents (status, number);

CREATE TABLE events (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    observed_at BIGINT NOT NULL,
    occurred_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);

CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    private BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    processed_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE processed_at IS NULL;

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    event_kinds TEXT NOT NULL DEFAULT '[]',
    include_private BIGINT NOT NULL DEFAULT 0,
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    delivery_id TEXT NOT NULL UNIQUE,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    incident_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    last_status_code BIGINT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX deliveries_order ON webhook_deliveries (webhook_id, incident_id, status, seq);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
