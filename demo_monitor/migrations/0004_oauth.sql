-- Connect with OAuth (issue 14): how the integration was made, the pending authorization requests (state and
-- PKCE verifier, tied to the browser session that started them) and the OAuth connection's tokens. Tokens live
-- here only, never in a cookie.
ALTER TABLE integration ADD COLUMN via TEXT NOT NULL DEFAULT 'connect';

CREATE TABLE oauth_requests (
    state          TEXT PRIMARY KEY,
    session_id     TEXT NOT NULL,
    code_verifier  TEXT NOT NULL,
    created_at     REAL NOT NULL
);

CREATE TABLE oauth_tokens (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    access_token   TEXT NOT NULL,
    refresh_token  TEXT,
    expires_at     REAL NOT NULL,
    scope          TEXT NOT NULL,
    subdomain      TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
