-- Whether a new alert's key is flapping counts the alerts that key opened in the window. With
-- only (service_id, created_at) to go by, that count read every alert of the service in the
-- window, so a service under a storm paid more for each new alert than the last.
CREATE INDEX alerts_flapping ON alerts (service_id, dedup_key, created_at);
