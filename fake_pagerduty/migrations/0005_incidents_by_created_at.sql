-- The REST API lists incidents in a time window (the last 30 days by default), often sorted by created_at:
-- this index serves both without sorting the whole account.
CREATE INDEX incidents_account_created ON incidents(account_id, created_at, incident_number);
