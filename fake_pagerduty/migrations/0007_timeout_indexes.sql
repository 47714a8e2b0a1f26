-- The timeout sweep runs every second: find due incidents through an index instead of scanning every
-- incident ever made (with 100,000 incidents the scan held the write lock ~50 ms a second).
CREATE INDEX incidents_auto_resolve_due ON incidents(auto_resolve_at) WHERE auto_resolve_at IS NOT NULL;
CREATE INDEX incidents_ack_timeout_due ON incidents(ack_timeout_at) WHERE ack_timeout_at IS NOT NULL;
