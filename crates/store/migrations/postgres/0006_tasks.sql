-- Tasks (JSON array) and the names of the playbooks already added (JSON array).
ALTER TABLE incidents ADD COLUMN tasks TEXT NOT NULL DEFAULT '[]';
ALTER TABLE incidents ADD COLUMN playbooks TEXT NOT NULL DEFAULT '[]';
