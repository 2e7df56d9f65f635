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

-- Full-text search over the human text of every event: titles, summaries, update messages,
-- notes and new titles. A contentless FTS5 index (rowid = the event's rowid) without
-- positions: it answers "which events have all these words", which is all search asks.
CREATE VIRTUAL TABLE search_fts USING fts5 (
    text,
    content = '',
    detail = none,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO search_fts (rowid, text)
    SELECT rowid, trim(
        coalesce(json_extract(body, '$.title'), '') || ' ' ||
        coalesce(json_extract(body, '$.summary'), '') || ' ' ||
        coalesce(json_extract(body, '$.message'), '') || ' ' ||
        coalesce(json_extract(body, '$.text'), '') || ' ' ||
        coalesce(json_extract(body, '$.note'), '') || ' ' ||
        CASE WHEN json_type(body, '$.to') = 'text' THEN json_extract(body, '$.to') ELSE '' END)
    FROM events;
CREATE TRIGGER events_search AFTER INSERT ON events BEGIN
    INSERT INTO search_fts (rowid, text) VALUES (new.rowid, trim(
        coalesce(json_extract(new.body, '$.title'), '') || ' ' ||
        coalesce(json_extract(new.body, '$.summary'), '') || ' ' ||
        coalesce(json_extract(new.body, '$.message'), '') || ' ' ||
        coalesce(json_extract(new.body, '$.text'), '') || ' ' ||
        coalesce(json_extract(new.body, '$.note'), '') || ' ' ||
        CASE WHEN json_type(new.body, '$.to') = 'text' THEN json_extract(new.body, '$.to') ELSE '' END));
END;
