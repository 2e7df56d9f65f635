-- What an import made from another system's objects: each vendor object (`kind`: person,
-- contact, rule, team, schedule, policy, service) by the vendor's id, the Firebreak object it
-- became, and a digest of what was written, so a second run changes nothing and a run after a
-- change at the source updates just what changed.
CREATE TABLE import_refs (
    vendor TEXT NOT NULL,
    kind TEXT NOT NULL,
    vendor_id TEXT NOT NULL,
    local_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (vendor, kind, vendor_id)
);
