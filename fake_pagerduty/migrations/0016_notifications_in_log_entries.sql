-- A notification is its notify_log_entry (issue 13): a new incident wrote each notification twice, as the notify
-- log entry (PagerDuty's object: who, how, when) and as a `notifications` row with the same facts and the text
-- sent. Now the entry carries what only the notification row had — whom it went to, the address (a push's device
-- is not in the entry's channel, as at PagerDuty) and the text — NULL on every other entry, and `notifications`
-- is a view with the old table's columns over the notify entries (its id: the entry's rowid, so newest first is
-- rowid order; rowids start again after a reset). The REST shape of a log entry does not show these columns.

ALTER TABLE log_entries ADD COLUMN user_id TEXT;               -- a notify entry's: whom it went to
ALTER TABLE log_entries ADD COLUMN notification_address TEXT;  -- the contact method's address (a push: its label)
ALTER TABLE log_entries ADD COLUMN notification_text TEXT;     -- the message as PagerDuty words it

UPDATE log_entries SET user_id = n.user_id, notification_address = n.address, notification_text = n.text
  FROM notifications n WHERE n.log_entry_id = log_entries.id;

DROP TABLE notifications;

CREATE INDEX log_entries_notified ON log_entries(user_id) WHERE user_id IS NOT NULL;  -- a person's, by rowid

CREATE VIEW notifications AS
SELECT l.rowid AS id, l.account_id, l.incident_id, l.user_id,
       json_extract(l.channel, '$.notification.type') AS type, l.notification_address AS address,
       l.notification_text AS text, l.id AS log_entry_id, l.created_at AS sent_at
  FROM log_entries l WHERE l.user_id IS NOT NULL;
