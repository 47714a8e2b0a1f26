-- The monitor's first schema: settings, threshold rules, faults, alerts, the PagerDuty outbox,
-- the connected integration, Connect state tokens and processed webhook event ids.
-- Timestamps are ISO 8601 UTC strings; outbox.next_attempt_at is epoch seconds (compared with the clock).

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE rules (
    id           INTEGER PRIMARY KEY,
    metric       TEXT NOT NULL,
    operator     TEXT NOT NULL DEFAULT '>',
    threshold    REAL NOT NULL,
    severity     TEXT NOT NULL,
    for_seconds  INTEGER NOT NULL DEFAULT 0,
    enabled      INTEGER NOT NULL DEFAULT 1
);

INSERT INTO rules (id, metric, operator, threshold, severity, for_seconds) VALUES
    (1, 'memory_usage', '>', 90, 'critical', 2),
    (2, 'cpu_usage',    '>', 85, 'warning',  5),
    (3, 'disk_usage',   '>', 95, 'error',    2),
    (4, 'error_rate',   '>', 5,  'critical', 2);

CREATE TABLE faults (
    server      TEXT NOT NULL,
    metric      TEXT NOT NULL,
    value       REAL NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (server, metric)
);

CREATE TABLE alerts (
    id               TEXT PRIMARY KEY,
    number           INTEGER NOT NULL UNIQUE,
    server           TEXT NOT NULL,
    metric           TEXT NOT NULL,
    rule_id          INTEGER NOT NULL,
    severity         TEXT NOT NULL,
    operator         TEXT NOT NULL,
    threshold        REAL NOT NULL,
    value            REAL NOT NULL,
    description      TEXT NOT NULL,
    details          TEXT NOT NULL DEFAULT '{}',
    state            TEXT NOT NULL DEFAULT 'open',   -- open | acknowledged | resolved
    opened_at        TEXT NOT NULL,
    acknowledged_at  TEXT,
    acknowledged_by  TEXT,
    resolved_at      TEXT,
    resolved_by      TEXT,
    pd_status        TEXT,
    pd_agent         TEXT,
    pd_incident_url  TEXT
);
CREATE INDEX alerts_state ON alerts (state);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id         TEXT NOT NULL REFERENCES alerts(id),
    incident_key     TEXT NOT NULL,
    event_type       TEXT NOT NULL,                  -- trigger | acknowledge | resolve
    api_version      INTEGER NOT NULL,
    url              TEXT NOT NULL,
    body             TEXT NOT NULL,                  -- the JSON sent, fixed when queued
    status           TEXT NOT NULL DEFAULT 'queued', -- queued | retrying | sent | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL DEFAULT 0,
    last_error       TEXT,
    response         TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outbox_pending ON outbox (status, incident_key, id);
CREATE INDEX outbox_alert ON outbox (alert_id, id);

CREATE TABLE integration (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    account       TEXT NOT NULL,
    service_key   TEXT NOT NULL,
    service_name  TEXT NOT NULL,
    connected_at  TEXT NOT NULL
);

CREATE TABLE connect_states (
    token       TEXT PRIMARY KEY,
    created_at  REAL NOT NULL
);

CREATE TABLE webhook_events (
    id           TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
