-- Chat: the work each committed event owes Slack or Matrix (queued in the event's
-- transaction, claimed in order per platform and incident, retried, dead-lettered), each
-- incident's channel there, inbound events already applied, and the platforms' cursors.
CREATE TABLE chat_work (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    work_id TEXT NOT NULL UNIQUE,
    platform TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    place TEXT NOT NULL,
    op TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    done_at BIGINT,
    UNIQUE (platform, incident_id, seq, place, op)
);
CREATE INDEX chat_work_due ON chat_work (status, next_attempt_at);
CREATE INDEX chat_work_incident ON chat_work (incident_id, platform, status);
CREATE TABLE chat_channels (
    platform TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    name TEXT NOT NULL,
    remote_id TEXT,
    card_id TEXT,
    announcement_id TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (platform, incident_id)
);
CREATE UNIQUE INDEX chat_channels_remote ON chat_channels (platform, remote_id);
CREATE TABLE chat_pins (
    platform TEXT NOT NULL,
    message_id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    pin_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    unpinned BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (platform, message_id)
);
CREATE TABLE chat_seen (
    platform TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (platform, event_id)
);
CREATE INDEX chat_seen_at ON chat_seen (seen_at);
-- Direct-message rooms the bot made for pages (Matrix), and which chat message paged which
-- alert, so a reaction or a reply acknowledges the right one.
CREATE TABLE chat_dms (
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    room TEXT NOT NULL,
    PRIMARY KEY (platform, user_id)
);
CREATE TABLE chat_pages (
    platform TEXT NOT NULL,
    message_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (platform, message_id)
);
CREATE INDEX chat_pages_user ON chat_pages (platform, user_id, created_at);
CREATE TABLE chat_cursors (
    platform TEXT PRIMARY KEY,
    cursor_value TEXT NOT NULL
);
