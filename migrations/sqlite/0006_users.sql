-- Accounts of the room's people: a login, a display name, one agency, roles, and an argon2id hash
-- of the password (never the password). A disabled account stays, so the record keeps its name.
CREATE TABLE users (
    login                  TEXT    PRIMARY KEY,
    display_name           TEXT    NOT NULL,
    agency                 TEXT    NOT NULL,
    roles                  TEXT    NOT NULL, -- JSON array of role names
    password_hash          TEXT    NOT NULL,
    disabled               INTEGER NOT NULL DEFAULT 0,
    created_at_ms          INTEGER NOT NULL,
    password_changed_at_ms INTEGER NOT NULL
);
