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
-- Pages name the person in `target`; the per-person limit counts them by it.
DROP INDEX notifications_pages;
CREATE INDEX notifications_pages_by_person ON notifications (kind, target, created_at);
