-- Playbooks and rules made through the API (those from the settings file are not stored).
-- `body` is the item as JSON, in the settings file's shape; `position` keeps rules in the
-- order they were added.
CREATE TABLE workflow_items (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (kind, name)
);
