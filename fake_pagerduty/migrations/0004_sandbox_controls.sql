-- Sandbox controls: fault rules, sandbox settings (rate limits, clock offset), and which fault touched
-- a journaled request.

-- The fault rule that answered, cut or delayed a journaled request, if any.
ALTER TABLE events ADD COLUMN fault_id TEXT;
CREATE INDEX events_outcome ON events(outcome, id);

-- Fault rules, tried in `position` order; `rule` holds the rule as JSON; `fired` counts injections.
CREATE TABLE sandbox_faults (
    id          TEXT PRIMARY KEY,
    position    INTEGER NOT NULL,
    rule        TEXT NOT NULL,
    fired       INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

-- Small named settings of the sandbox itself: 'rate_limits' (JSON object), 'clock_offset_seconds' (number).
CREATE TABLE sandbox_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
