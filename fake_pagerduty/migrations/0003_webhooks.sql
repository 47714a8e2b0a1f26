-- Outbound v3 webhooks: subscriptions made through the REST API, and every delivery (to a subscription or to
-- a partner app's webhook URL) as a durable row that the delivery worker sends, retries and records.

CREATE TABLE webhook_subscriptions (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    description         TEXT NOT NULL DEFAULT '',
    active              INTEGER NOT NULL DEFAULT 1,
    events              TEXT NOT NULL DEFAULT '[]',     -- JSON list of event types, e.g. "incident.triggered"
    filter_type         TEXT NOT NULL,                  -- service_reference | account_reference
    filter_id           TEXT NOT NULL,                  -- the service id, or the account id
    delivery_method_id  TEXT NOT NULL,
    url                 TEXT NOT NULL,
    secret              TEXT NOT NULL,                  -- signs deliveries; shown once, in the create response
    custom_headers      TEXT NOT NULL DEFAULT '[]',     -- JSON list of {name, value}
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX webhook_subscriptions_account ON webhook_subscriptions(account_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,  -- also the order deliveries were made in
    webhook_id       TEXT NOT NULL UNIQUE,               -- X-Webhook-Id, the same on every attempt
    event_id         TEXT NOT NULL,                      -- event.id in the body (shared by an event's deliveries)
    event_type       TEXT NOT NULL,                      -- incident.triggered | incident.acknowledged | ...
    account_id       TEXT NOT NULL,
    service_id       TEXT,
    incident_id      TEXT NOT NULL,
    target           TEXT NOT NULL,                      -- 'subscription:<id>' or 'partner_app:<vendor key>'
    subscription_id  TEXT,                               -- the subscription, if target is one
    vendor_key       TEXT,                               -- the partner app, if target is one
    url              TEXT NOT NULL,
    headers          TEXT NOT NULL DEFAULT '{}',         -- JSON object: every header sent, signature included
    body             TEXT NOT NULL,                      -- the exact bytes signed and sent (UTF-8 JSON)
    status           TEXT NOT NULL DEFAULT 'pending',    -- pending | delivered | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    last_error       TEXT,
    next_attempt_at  TEXT NOT NULL,
    delivered_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(status, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(incident_id, target, id);
CREATE INDEX webhook_deliveries_service ON webhook_deliveries(service_id, id);
