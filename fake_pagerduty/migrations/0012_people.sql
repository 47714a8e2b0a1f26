-- People (issue 15): who gets woken up. Users gain a role, time zone, title, bio and colour; their contact
-- methods and notification rules; teams; schedules (layers, their users, restrictions, overrides); escalation
-- policies (levels in order, each with its targets: users or schedules); priorities; and the escalation policy a
-- service follows. Everything belongs to an account and goes with it. The rules that read these tables are
-- domain/oncall.py's; the statements, store/people.py's.

ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user';      -- admin | owner | user | limited_user | observer | …
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'Etc/UTC';
ALTER TABLE users ADD COLUMN job_title TEXT;
ALTER TABLE users ADD COLUMN description TEXT;
ALTER TABLE users ADD COLUMN color TEXT NOT NULL DEFAULT 'green';

CREATE TABLE contact_methods (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type          TEXT NOT NULL,     -- email_contact_method | phone_contact_method | sms_contact_method | push_notification_contact_method
    label         TEXT NOT NULL,
    address       TEXT NOT NULL,
    country_code  INTEGER,           -- phone and SMS
    created_at    TEXT NOT NULL
);
CREATE INDEX contact_methods_user ON contact_methods(user_id, created_at);

CREATE TABLE notification_rules (
    id                      TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id                 TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_method_id       TEXT NOT NULL REFERENCES contact_methods(id) ON DELETE CASCADE,
    start_delay_in_minutes  INTEGER NOT NULL DEFAULT 0,
    urgency                 TEXT NOT NULL DEFAULT 'high',   -- high | low
    created_at              TEXT NOT NULL
);
CREATE INDEX notification_rules_user ON notification_rules(user_id, urgency, start_delay_in_minutes);

CREATE TABLE teams (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    default_role  TEXT NOT NULL DEFAULT 'manager',   -- manager | none
    created_at    TEXT NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE team_members (
    team_id  TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role     TEXT NOT NULL DEFAULT 'responder',   -- observer | responder | manager
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE schedules (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    time_zone    TEXT NOT NULL DEFAULT 'Etc/UTC',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX schedules_account ON schedules(account_id, name);

-- A schedule's layers; the one with the highest `position` wins where it has someone on call.
CREATE TABLE schedule_layers (
    id                            TEXT PRIMARY KEY,
    schedule_id                   TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    position                      INTEGER NOT NULL,
    name                          TEXT NOT NULL,
    start                         TEXT NOT NULL,
    "end"                         TEXT,                 -- NULL: the layer does not end
    rotation_virtual_start        TEXT NOT NULL,
    rotation_turn_length_seconds  INTEGER NOT NULL,
    UNIQUE (schedule_id, position)
);

CREATE TABLE schedule_layer_users (
    layer_id  TEXT NOT NULL REFERENCES schedule_layers(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (layer_id, position)
);
CREATE INDEX schedule_layer_users_user ON schedule_layer_users(user_id);

CREATE TABLE schedule_layer_restrictions (
    id                 INTEGER PRIMARY KEY,
    layer_id           TEXT NOT NULL REFERENCES schedule_layers(id) ON DELETE CASCADE,
    type               TEXT NOT NULL,      -- daily_restriction | weekly_restriction
    start_time_of_day  TEXT NOT NULL,      -- HH:MM:SS in the schedule's time zone
    start_day_of_week  INTEGER,            -- weekly: ISO day, 1 is Monday
    duration_seconds   INTEGER NOT NULL
);
CREATE INDEX schedule_layer_restrictions_layer ON schedule_layer_restrictions(layer_id);

CREATE TABLE schedule_overrides (
    id           TEXT PRIMARY KEY,
    schedule_id  TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    start        TEXT NOT NULL,
    "end"        TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX schedule_overrides_schedule ON schedule_overrides(schedule_id, start);

CREATE TABLE escalation_policies (
    id                             TEXT PRIMARY KEY,
    account_id                     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name                           TEXT NOT NULL,
    description                    TEXT NOT NULL DEFAULT '',
    num_loops                      INTEGER NOT NULL DEFAULT 0,
    on_call_handoff_notifications  TEXT NOT NULL DEFAULT 'if_has_services',   -- if_has_services | always
    team_id                        TEXT REFERENCES teams(id) ON DELETE SET NULL,
    created_at                     TEXT NOT NULL,
    updated_at                     TEXT NOT NULL,
    UNIQUE (account_id, name)
);

-- A policy's levels, first `position` first.
CREATE TABLE escalation_rules (
    id                           TEXT PRIMARY KEY,
    policy_id                    TEXT NOT NULL REFERENCES escalation_policies(id) ON DELETE CASCADE,
    position                     INTEGER NOT NULL,
    escalation_delay_in_minutes  INTEGER NOT NULL,
    UNIQUE (policy_id, position)
);

CREATE TABLE escalation_rule_targets (
    rule_id      TEXT NOT NULL REFERENCES escalation_rules(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    target_type  TEXT NOT NULL,       -- user_reference | schedule_reference
    target_id    TEXT NOT NULL,       -- a user's or a schedule's id (deleting either drops the target: store/people.py)
    PRIMARY KEY (rule_id, position)
);
CREATE INDEX escalation_rule_targets_target ON escalation_rule_targets(target_id);

CREATE TABLE priorities (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,       -- P1 … P5
    description  TEXT NOT NULL DEFAULT '',
    "order"      INTEGER NOT NULL,    -- PagerDuty's: higher is more urgent
    color        TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX priorities_account ON priorities(account_id, "order");

-- The escalation policy a service's incidents follow (NULL: nobody is assigned).
ALTER TABLE services ADD COLUMN escalation_policy_id TEXT REFERENCES escalation_policies(id) ON DELETE SET NULL;

-- The policy services made without one follow (the Connect handshakes, the OAuth flow, REST without
-- `escalation_policy`): the seeded "Acme Website On-Call" for the demo account.
ALTER TABLE accounts ADD COLUMN default_escalation_policy_id TEXT REFERENCES escalation_policies(id) ON DELETE SET NULL;
