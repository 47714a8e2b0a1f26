-- The OAuth journal (issue 14): every request to /oauth/authorize, /oauth/token and /oauth/revoke with its
-- outcome, so a partner can see why a token request failed (GET /_sandbox/oauth/requests). Never a secret, a
-- code or a token: the client id, what was asked, and the answer's error code and description. Activity: a
-- plain reset wipes it.
CREATE TABLE oauth_requests (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at        TEXT NOT NULL,
    endpoint           TEXT NOT NULL,        -- authorize | token | revoke
    method             TEXT NOT NULL,        -- GET | POST
    client_id          TEXT NOT NULL,        -- as the request gave it ('' when it gave none)
    grant_type         TEXT,                 -- token requests: as given; authorize: 'authorization_code'
    status             INTEGER NOT NULL,     -- the HTTP status answered
    outcome            TEXT NOT NULL,        -- ok, or the error code (invalid_grant, access_denied, …)
    description        TEXT NOT NULL         -- the error_description, or what was done
);
CREATE INDEX oauth_requests_client ON oauth_requests(client_id, id);
