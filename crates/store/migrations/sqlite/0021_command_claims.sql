-- Every committed incident command claims its id in its own transaction: when a commit's
-- answer is lost (a PostgreSQL connection dropped between COMMIT and its reply), the batch
-- retried job by job finds each claim and answers what was committed instead of appending the
-- command a second time.
CREATE TABLE command_claims (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    created BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX command_claims_created ON command_claims (created_at);
