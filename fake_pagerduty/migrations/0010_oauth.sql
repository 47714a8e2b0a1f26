-- OAuth 2.0 apps (issue 14): the apps, their authorization codes and the tokens they were given.
-- Codes and tokens are random; the tables keep only their SHA-256 (a copy of the database grants nothing),
-- and an app's client secret likewise.

CREATE TABLE oauth_apps (
    client_id      TEXT PRIMARY KEY,
    secret_hash    TEXT NOT NULL,                -- SHA-256 hex of the client secret
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,                -- scoped | classic
    client_type    TEXT NOT NULL,                -- confidential | public
    redirect_uris  TEXT NOT NULL,                -- JSON list; `http://127.0.0.1:*/path` allows any port
    scopes         TEXT NOT NULL,                -- JSON list of the scopes the app may ask for
    account_id     TEXT REFERENCES accounts(id) ON DELETE CASCADE,  -- NULL: users of any account may use it
    created_at     TEXT NOT NULL
);

CREATE TABLE oauth_codes (
    code_hash              TEXT PRIMARY KEY,
    client_id              TEXT NOT NULL REFERENCES oauth_apps(client_id) ON DELETE CASCADE,
    account_id             TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id                TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri           TEXT NOT NULL,
    scopes                 TEXT NOT NULL,        -- space-separated, as granted
    code_challenge         TEXT,
    code_challenge_method  TEXT,
    expires_at             TEXT NOT NULL,
    used                   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE oauth_tokens (
    token_hash   TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,                  -- access | refresh
    client_id    TEXT NOT NULL REFERENCES oauth_apps(client_id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id      TEXT REFERENCES users(id) ON DELETE CASCADE,  -- NULL for app tokens (client credentials)
    scopes       TEXT NOT NULL,                  -- space-separated
    expires_at   TEXT NOT NULL,
    revoked      INTEGER NOT NULL DEFAULT 0,
    refresh_hash TEXT,                           -- the refresh token this one was issued with (rotation)
    created_at   TEXT NOT NULL
);
CREATE INDEX oauth_tokens_refresh ON oauth_tokens(refresh_hash);

-- The RSA key ID tokens are signed with: made at first use, one per database.
CREATE TABLE oauth_signing_keys (
    kid          TEXT PRIMARY KEY,
    private_pem  TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
