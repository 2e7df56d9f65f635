-- The full-text index of events is written by the batching writer with the events it inserts
-- (the text from `core::event::search_text`, one multi-row statement per batch), no longer by
-- a trigger that parsed each event's JSON body seven times inside the write transaction: that
-- trigger was half the database's work per incident command.
DROP TRIGGER events_search;
