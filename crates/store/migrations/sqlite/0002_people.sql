-- People, sessions, private-incident membership and its audit, and full-text search (SQLite).

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

ALTER TABLE api_tokens ADD COLUMN user_id TEXT REFERENCES users (id);

-- Emails of the people who may see a private incident (JSON array).
ALTER TABLE incidents ADD COLUMN members TEXT NOT NULL DEFAULT '[]';
UPDATE incidents SET members = json_array(created_by) WHERE private = 1;

CREATE TABLE private_reads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    actor TEXT NOT NULL,
    what TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX private_reads_incident ON private_reads (incident_id, id);

-- Every string in an event's body (titles, summaries, notes, updates…) is searchable.
CREATE VIRTUAL TABLE search_fts USING fts5 (
    incident_id UNINDEXED,
    text,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO search_fts (incident_id, text)
    SELECT e.incident_id, (SELECT group_concat(value, ' ') FROM json_tree(e.body) WHERE type = 'text')
    FROM events e;
CREATE TRIGGER events_search AFTER INSERT ON events BEGIN
    INSERT INTO search_fts (incident_id, text)
        SELECT new.incident_id, group_concat(value, ' ') FROM json_tree(new.body) WHERE type = 'text';
END;
