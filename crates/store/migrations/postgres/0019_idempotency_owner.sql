-- Idempotency keys belong to the caller who sent them (Stripe's rule): the same key from
-- another person is another key, and a replay must match the first request's body. Keys
-- written before this had no owner: they are kept for the person who declared the incident,
-- and an empty fingerprint matches any body.
CREATE TABLE idempotency_claims (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, key)
);
INSERT INTO idempotency_claims (owner, key, fingerprint, incident_id, created_at)
SELECT incidents.created_by, idempotency_keys.key, '', idempotency_keys.incident_id, idempotency_keys.created_at
FROM idempotency_keys JOIN incidents ON incidents.id = idempotency_keys.incident_id;
DROP TABLE idempotency_keys;
CREATE INDEX idempotency_claims_created ON idempotency_claims (created_at);
