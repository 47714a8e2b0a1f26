-- The sandbox's first schema: accounts and people, partner apps, services and their integrations,
-- the events journal, alerts, incidents and their log entries, change events.
-- Timestamps are ISO 8601 UTC strings ('2026-11-26T11:14:43Z'); JSON columns hold JSON text.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    subdomain   TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    email          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

CREATE TABLE api_keys (
    token        TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);

CREATE TABLE partner_apps (
    vendor_key        TEXT PRIMARY KEY,
    app_id            TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    callback_origins  TEXT NOT NULL DEFAULT '[]',   -- JSON list of allowed origins, e.g. "http://127.0.0.1:*"
    webhook_url       TEXT,
    webhook_secret    TEXT,
    created_at        TEXT NOT NULL
);

CREATE TABLE services (
    id                       TEXT PRIMARY KEY,
    account_id               TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name                     TEXT NOT NULL,
    description              TEXT NOT NULL DEFAULT '',
    status                   TEXT NOT NULL DEFAULT 'active',
    urgency_rule             TEXT NOT NULL DEFAULT 'severity_based',  -- severity_based | high | low
    acknowledgement_timeout  INTEGER DEFAULT 1800,
    auto_resolve_timeout     INTEGER DEFAULT 14400,
    vendor_key               TEXT REFERENCES partner_apps(vendor_key) ON DELETE SET NULL,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE integrations (
    id               TEXT PRIMARY KEY,
    service_id       TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    integration_key  TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    type             TEXT NOT NULL DEFAULT 'events_api_v2_inbound_integration',
    vendor_key       TEXT,
    created_at       TEXT NOT NULL
);

-- The journal: every request to an events endpoint, whatever became of it.
CREATE TABLE events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at      TEXT NOT NULL,
    api              TEXT NOT NULL,            -- v1 | v2 | change
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    content_type     TEXT,
    raw_body         BLOB,
    routing_key      TEXT,
    dedup_key        TEXT,
    action           TEXT,                     -- trigger | acknowledge | resolve | change
    response_status  INTEGER NOT NULL,
    response_body    TEXT NOT NULL,
    outcome          TEXT NOT NULL,            -- created | deduplicated | acknowledged | resolved | recorded | dropped | rejected
    outcome_detail   TEXT NOT NULL DEFAULT '',
    account_id       TEXT,
    service_id       TEXT,
    incident_id      TEXT,
    alert_id         TEXT,
    warnings         TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX events_routing_key ON events(routing_key, id);
CREATE INDEX events_dedup_key ON events(dedup_key, id);
CREATE INDEX events_account ON events(account_id, id);

CREATE TABLE incidents (
    id                      TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    service_id              TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    incident_number         INTEGER NOT NULL,
    title                   TEXT NOT NULL,
    status                  TEXT NOT NULL,     -- triggered | acknowledged | resolved
    urgency                 TEXT NOT NULL,     -- high | low
    incident_key            TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    last_status_change_at   TEXT NOT NULL,
    resolved_at             TEXT,
    acknowledgements        TEXT NOT NULL DEFAULT '[]',  -- JSON list of {at, acknowledger}
    last_status_change_by   TEXT,                        -- JSON reference of who changed it last
    ack_timeout_at          TEXT,                        -- when an acknowledged incident returns to triggered
    auto_resolve_at         TEXT,                        -- when an open incident resolves by itself
    UNIQUE (account_id, incident_number)
);
CREATE INDEX incidents_account_status ON incidents(account_id, status, incident_number);
CREATE INDEX incidents_service ON incidents(service_id, incident_number);
CREATE INDEX incidents_key ON incidents(account_id, incident_key);

CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL,
    service_id      TEXT NOT NULL,
    integration_id  TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    incident_id     TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    alert_key       TEXT NOT NULL,
    status          TEXT NOT NULL,            -- triggered | resolved
    severity        TEXT NOT NULL,
    summary         TEXT NOT NULL,
    body            TEXT NOT NULL,            -- JSON: the normalised event (payload, details, client, links, images, contexts)
    created_at      TEXT NOT NULL,
    resolved_at     TEXT
);
-- One open alert per (integration, key): the database itself refuses a second one.
CREATE UNIQUE INDEX alerts_one_open_per_key ON alerts(integration_id, alert_key) WHERE status != 'resolved';
CREATE INDEX alerts_incident ON alerts(incident_id);

CREATE TABLE log_entries (
    id           TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL,            -- order within the account
    account_id   TEXT NOT NULL,
    incident_id  TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    alert_id     TEXT,
    type         TEXT NOT NULL,               -- trigger_log_entry | acknowledge_log_entry | resolve_log_entry | ...
    summary      TEXT NOT NULL,
    agent        TEXT NOT NULL,               -- JSON reference: user_reference | generic_events_api_inbound_integration_reference | service_reference
    channel      TEXT NOT NULL DEFAULT '{}',  -- JSON: how it happened (api, event id, details)
    event_id     INTEGER,                     -- journal row that caused it, if any
    created_at   TEXT NOT NULL
);
CREATE INDEX log_entries_incident ON log_entries(incident_id, seq);

CREATE TABLE change_events (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL,
    service_id      TEXT NOT NULL,
    integration_id  TEXT NOT NULL,
    summary         TEXT NOT NULL,
    source          TEXT,
    timestamp       TEXT NOT NULL,
    custom_details  TEXT NOT NULL DEFAULT '{}',
    links           TEXT NOT NULL DEFAULT '[]',
    images          TEXT NOT NULL DEFAULT '[]',
    event_id        INTEGER,
    created_at      TEXT NOT NULL
);
CREATE INDEX change_events_account ON change_events(account_id, created_at);
