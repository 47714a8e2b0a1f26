-- Incident changes that webhooks must still be made for, written in the same transaction as the change
-- itself (by the Events API writer, REST, the console and service timeouts). The webhook writer turns them
-- into delivery rows and deletes them in one transaction, so a change committed before a crash still gets
-- its deliveries after the restart, once.
CREATE TABLE webhook_changes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order the changes were made in
    account_id   TEXT NOT NULL,
    incident_id  TEXT NOT NULL,
    event_type   TEXT NOT NULL,                      -- incident.triggered | incident.acknowledged | ...
    created_at   TEXT NOT NULL
);
