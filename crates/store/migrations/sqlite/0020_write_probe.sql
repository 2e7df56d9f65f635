-- `/readyz` after a failed write: a probe writes a quarter MiB here and deletes it in the same
-- transaction, so "ready" means there is room for real writes again.
CREATE TABLE write_probe (
    id BIGINT PRIMARY KEY,
    payload TEXT NOT NULL
);
