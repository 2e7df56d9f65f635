-- The update reminder and overdue notice already sent for the current due time:
-- {"reminded_for": micros|null, "overdue_for": micros|null}.
ALTER TABLE incidents ADD COLUMN update_notices TEXT NOT NULL DEFAULT '{}';
CREATE INDEX incidents_next_update_due ON incidents (next_update_due) WHERE next_update_due IS NOT NULL;
