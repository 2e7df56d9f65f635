-- Deploy freeze per incident: {"since": micros, "reason": text} while frozen, else NULL.
-- (Not named `freeze`: that is a reserved word in PostgreSQL.)
ALTER TABLE incidents ADD COLUMN deploy_freeze TEXT;
CREATE INDEX incidents_frozen ON incidents (number) WHERE deploy_freeze IS NOT NULL;
