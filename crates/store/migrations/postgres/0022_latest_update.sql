-- The room and `updates/latest.txt` show an incident's newest status update; on an incident
-- with 100,000 events a walk back through its timeline is too slow. Only update events are in
-- this index, so appending other events costs nothing more.
CREATE INDEX events_updates ON events (incident_id, seq) WHERE kind = 'update_posted';
