-- SQLite's full-text index moved from a trigger to the writer (0024 there). PostgreSQL keeps
-- its generated `search` column; nothing changes here. The version exists so both folders
-- hold the same versions.
SELECT 1;
