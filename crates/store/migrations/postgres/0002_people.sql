-- People, sessions, private-incident membership and its audit, and full-text search (PostgreSQL).

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
UPDATE incidents SET members = json_build_array(created_by)::text WHERE private = 1;

CREATE TABLE private_reads (
    id BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    actor TEXT NOT NULL,
    what TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX private_reads_incident ON private_reads (incident_id, id);

-- Full-text search over the human text of every event: titles, summaries, update messages,
-- notes and new titles (the same fields as the SQLite index).
ALTER TABLE events ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('english',
    coalesce(body::jsonb ->> 'title', '') || ' ' ||
    coalesce(body::jsonb ->> 'summary', '') || ' ' ||
    coalesce(body::jsonb ->> 'message', '') || ' ' ||
    coalesce(body::jsonb ->> 'text', '') || ' ' ||
    coalesce(body::jsonb ->> 'note', '') || ' ' ||
    CASE WHEN jsonb_typeof(body::jsonb -> 'to') = 'string' THEN body::jsonb ->> 'to' ELSE '' END
)) STORED;
CREATE INDEX events_search ON events USING gin (search);
