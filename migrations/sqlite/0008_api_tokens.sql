-- API tokens of integrations (AVL gateways, CoT/CAP adapters, the load generator). A token acts as
-- its owner's account (agency, roles) limited to its scopes. Only a SHA-256 of the token is kept;
-- a revoked token stays listed so the record can name it.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    login         TEXT    NOT NULL REFERENCES users (login) ON DELETE CASCADE,
    scopes        TEXT    NOT NULL, -- JSON array of scope names
    token_sha256  TEXT    NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    last_used_ms  INTEGER,
    revoked_at_ms INTEGER
);
CREATE INDEX api_tokens_login ON api_tokens (login);
