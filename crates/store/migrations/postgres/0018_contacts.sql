-- How each person is paged: contact methods (email, signed webhook) and personal rules
-- ("immediately by email, after 5 minutes by webhook"). Without rules, a page is an email to
-- the person's address. Pages name the person in `target`.
CREATE TABLE contact_methods (
    id TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    secret TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX contact_methods_person ON contact_methods (person);
CREATE TABLE notification_rules (
    id TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    contact_method_id TEXT NOT NULL REFERENCES contact_methods (id),
    delay_minutes BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notification_rules_person ON notification_rules (person);
-- Pages per person in the current hour-long window (the per-person limit), one row each: the
-- limit is checked in one statement however many pages a storm has made, and on PostgreSQL
-- in its own short transaction, so every replica and lane shares it.
DROP INDEX notifications_pages;
CREATE TABLE page_budget (
    person TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    pages BIGINT NOT NULL
);
-- Alerts grouped into a storm's first alert, found when it is acknowledged or resolved.
CREATE INDEX alerts_group ON alerts (group_id) WHERE group_id IS NOT NULL;
-- An alert whose service's auto-declare rule is owed an incident (1) until one is linked; the
-- escalation worker declares for those the request that opened them did not.
ALTER TABLE alerts ADD COLUMN declare_pending BIGINT NOT NULL DEFAULT 0;
CREATE INDEX alerts_declare_pending ON alerts (created_at) WHERE declare_pending = 1;
