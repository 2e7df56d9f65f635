-- Tasks (JSON array) and the names of the playbooks already added (JSON array).
ALTER TABLE incident_lists ADD COLUMN tasks TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incident_lists ADD COLUMN playbooks TEXT NOT NULL DEFAULT '[]';
