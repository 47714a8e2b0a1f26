-- Incidents go to people (issue 15): who an incident is assigned to and by which escalation policy, where its
-- escalation stands (level, loops, when it escalates next, like ack_timeout_at), its priority; the notifications
-- people were sent (push, SMS… as the on-call phone shows them); the incident's notes. The rules are
-- domain/escalation.py's; the statements, store/escalations.py's.
--
-- The references an incident object shows (assignees, escalation policy, priority) are kept as JSON on the
-- incident, like `acknowledgements` and `last_status_change_by`, so that every `SELECT i.*` (REST, console,
-- webhooks) renders them without joins.

ALTER TABLE incidents ADD COLUMN assignments TEXT NOT NULL DEFAULT '[]';  -- JSON [{at, assignee: user reference}]
ALTER TABLE incidents ADD COLUMN assigned_via TEXT;                       -- escalation_policy | direct_assignment
ALTER TABLE incidents ADD COLUMN escalation_policy TEXT;                  -- JSON {id, type, summary}; NULL: none
ALTER TABLE incidents ADD COLUMN escalation_level INTEGER;                -- 1 is the first level
ALTER TABLE incidents ADD COLUMN escalation_loops INTEGER NOT NULL DEFAULT 0;  -- times the policy went round
ALTER TABLE incidents ADD COLUMN escalation_delay INTEGER;                -- the current level's delay, minutes
ALTER TABLE incidents ADD COLUMN next_escalation_at TEXT;                 -- when a triggered incident escalates
ALTER TABLE incidents ADD COLUMN priority TEXT;                           -- JSON priority {id, name, color, …}
ALTER TABLE incidents ADD COLUMN resolve_reason TEXT;                     -- JSON, e.g. merge_resolve_reason
ALTER TABLE incidents ADD COLUMN body TEXT;                               -- JSON incident_body of POST /incidents

-- What a log entry of some types adds to the common fields (JSON merged into the object): `assignees` of
-- assign and escalate entries, the `user` a notify entry notified, a snooze's `changed_actions`.
ALTER TABLE log_entries ADD COLUMN extra TEXT;

-- The sweep (the same as the service timeouts') finds due escalations through this index.
CREATE INDEX incidents_escalation_due ON incidents(next_escalation_at) WHERE next_escalation_at IS NOT NULL;

-- What each person was sent, in order: the on-call phone lists a user's, the console an incident's.
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    TEXT NOT NULL,
    incident_id   TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    type          TEXT NOT NULL,        -- push_notification | sms_notification | email_notification | phone_notification
    address       TEXT,                 -- the contact method's address (a push goes to the device: its label)
    text          TEXT NOT NULL,        -- the message as PagerDuty words it
    log_entry_id  TEXT NOT NULL,        -- its notify_log_entry
    sent_at       TEXT NOT NULL
);
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_incident ON notifications(incident_id, id);

CREATE TABLE incident_notes (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    incident_id  TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    user         TEXT NOT NULL,         -- JSON reference of who wrote it
    channel      TEXT NOT NULL,         -- JSON {type, summary}: api | website
    content      TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX incident_notes_incident ON incident_notes(incident_id, created_at);
