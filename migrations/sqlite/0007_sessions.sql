-- Signed-in sessions. Only a SHA-256 of the opaque token the browser holds is stored, so reading
-- this table does not let anyone act as a signed-in user.
CREATE TABLE sessions (
    token_sha256  TEXT    PRIMARY KEY,
    login         TEXT    NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    created_at_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL
);
CREATE INDEX sessions_login ON sessions (login);
