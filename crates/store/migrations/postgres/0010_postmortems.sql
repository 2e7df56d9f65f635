-- A post-mortem per incident (drafted from its timeline when it resolves, or on demand) and
-- every saved revision (who, when, the whole text), so any two can be compared.
CREATE TABLE postmortems (
    incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    published_at BIGINT
);

CREATE TABLE postmortem_revisions (
    incident_id TEXT NOT NULL REFERENCES postmortems (incident_id),
    revision BIGINT NOT NULL,
    body TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, revision)
);
