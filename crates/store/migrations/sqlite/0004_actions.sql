-- The action register of each incident (JSON array), projected from its action_* events.
ALTER TABLE incidents ADD COLUMN actions TEXT NOT NULL DEFAULT '[]';
