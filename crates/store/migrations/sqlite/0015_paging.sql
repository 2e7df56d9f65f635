-- Paging: teams, escalation policies, services with their integration keys, alerts (deduped
-- per service while open: `open_key` is "service/dedup key" until the alert resolves, then
-- NULL), each alert's log, and the acknowledge / resolve links sent in pages.
CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    members TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE escalation_policies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    policy TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE services (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    team_id TEXT REFERENCES teams (id),
    policy_id TEXT REFERENCES escalation_policies (id),
    depends_on TEXT NOT NULL,
    runbook_url TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE integration_keys (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services (id),
    dedup_key TEXT NOT NULL,
    open_key TEXT UNIQUE,
    status TEXT NOT NULL,
    summary TEXT NOT NULL,
    severity TEXT NOT NULL,
    source TEXT NOT NULL,
    details TEXT NOT NULL,
    links TEXT NOT NULL,
    count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    resolved_at BIGINT,
    resolved_by TEXT,
    policy TEXT,
    step BIGINT NOT NULL DEFAULT 0,
    pass BIGINT NOT NULL DEFAULT 0,
    next_escalation_at BIGINT,
    incident_id TEXT
);
CREATE INDEX alerts_escalation ON alerts (next_escalation_at);
CREATE INDEX alerts_service ON alerts (service_id, created_at);
CREATE INDEX alerts_created ON alerts (created_at);
CREATE TABLE alert_log (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX alert_log_of ON alert_log (alert_id, id);
CREATE TABLE alert_links (
    token_hash TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    person TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
