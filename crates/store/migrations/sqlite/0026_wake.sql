-- Pages that wake people: SMS, calls and push.
-- A phone number is verified before it is paged (NULL: not yet); a number that replied STOP
-- is stopped until START; a permanent failure (a landline, a blocked number) is kept in words.
ALTER TABLE contact_methods ADD COLUMN verified_at BIGINT;
UPDATE contact_methods SET verified_at = created_at;
ALTER TABLE contact_methods ADD COLUMN stopped_at BIGINT;
ALTER TABLE contact_methods ADD COLUMN failure TEXT;
CREATE INDEX contact_methods_address ON contact_methods (address);
-- The one verification code a contact method is waiting for (its SHA-256), for 15 minutes.
CREATE TABLE contact_verifications (
    contact_method_id TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    sent_at BIGINT NOT NULL
);
-- What the provider says became of a page (its id for the page, queued / sent / delivered /
-- failed, and its error), and the page a rate-limited one was sent with.
ALTER TABLE notifications ADD COLUMN provider_ref TEXT;
ALTER TABLE notifications ADD COLUMN delivery TEXT;
ALTER TABLE notifications ADD COLUMN delivery_error TEXT;
ALTER TABLE notifications ADD COLUMN grouped_into TEXT;
CREATE INDEX notifications_provider ON notifications (provider_ref) WHERE provider_ref IS NOT NULL;
CREATE INDEX notifications_grouped ON notifications (grouped_into) WHERE grouped_into IS NOT NULL;
CREATE INDEX notifications_sent_to ON notifications (address, channel, sent_at);
-- The short reply code an SMS page carried, per phone number ("reply 1a").
CREATE TABLE sms_codes (
    phone TEXT NOT NULL,
    code BIGINT NOT NULL,
    notification_id TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (phone, code)
);
-- A push notification's buttons: single-use, for one alert and one action, until they expire.
CREATE TABLE action_tokens (
    token_hash TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    person TEXT NOT NULL,
    action TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
-- Replies that did nothing (not understood, an unknown code, an error) per number since its
-- last page or action: only the first five are answered, so a bot's or a carrier's
-- auto-reply cannot start a loop.
CREATE TABLE sms_passive_replies (
    phone TEXT PRIMARY KEY,
    replies BIGINT NOT NULL
);
