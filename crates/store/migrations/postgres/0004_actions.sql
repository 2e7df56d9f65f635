-- Lists that belong to an incident but change rarely (the action register here; tasks and
-- playbooks later) live beside the incident row, so the row every command rewrites stays
-- small. JSON arrays, projected from the incident's events.
CREATE TABLE incident_lists (
    incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
    actions TEXT NOT NULL DEFAULT '[]'
);
