-- Moving in from PagerDuty or Opsgenie.
-- What a deploy's sender said about it (a PagerDuty change event's summary, source, links and
-- custom details), and by which door it came: `api` (POST /api/v1/deploys) or `pagerduty`
-- (POST /v2/change/enqueue). Deploys are listed per service, newest first.
ALTER TABLE deploys ADD COLUMN summary TEXT NOT NULL DEFAULT '';
ALTER TABLE deploys ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
ALTER TABLE deploys ADD COLUMN via TEXT NOT NULL DEFAULT 'api';
CREATE INDEX deploys_service_at ON deploys (service, deployed_at);
-- A service in shadow mode ingests, deduplicates and escalates its alerts on paper: each
-- alert's log says whom Firebreak would have paged, and nothing is sent (running side by side
-- with the system a team is moving from).
ALTER TABLE services ADD COLUMN shadow BIGINT NOT NULL DEFAULT 0;
