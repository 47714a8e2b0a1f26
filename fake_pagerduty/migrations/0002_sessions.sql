-- People's sign-in sessions for the console and the handshake pages. The cookie holds a random id;
-- the table keeps only its SHA-256, so a copy of the database signs nobody in.

CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- The service page lists a service's recent events from the journal.
CREATE INDEX events_service ON events(service_id, id);
