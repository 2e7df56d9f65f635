-- Deploys, for the change failure rate: an incident can be linked to the deploy that caused
-- it.
CREATE TABLE deploys (
    id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    version TEXT NOT NULL,
    deployed_at BIGINT NOT NULL,
    deployed_by TEXT NOT NULL,
    incident_id TEXT REFERENCES incidents (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX deploys_at ON deploys (deployed_at);
