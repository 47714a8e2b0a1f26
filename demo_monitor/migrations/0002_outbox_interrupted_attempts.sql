-- An attempt in flight is recorded before the event is sent: attempt_started_at is set just before the POST and
-- cleared with the outcome. A row picked up with it still set is an attempt whose answer was never recorded (the
-- monitor stopped mid-send); it is counted in attempts and in interrupted, and the event is sent again.
ALTER TABLE outbox ADD COLUMN attempt_started_at TEXT;
ALTER TABLE outbox ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0;
