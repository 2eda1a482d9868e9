-- The record for oversight: the log is also a transparency log (RFC 6962/9162 Merkle tree over
-- `seq`, stored in the layout of Go's tlog). Each event's leaf commits to its seq, time, actor,
-- kind and SHA-256(salt || body); the salt (16 random bytes, per event) makes a purged short body
-- unguessable from its leaf. Once retention purges a body, `digest` keeps SHA-256(salt || body),
-- the salt and the original body are gone, and `purged` names the rule.
ALTER TABLE events ADD COLUMN salt BLOB;
ALTER TABLE events ADD COLUMN digest BLOB;
ALTER TABLE events ADD COLUMN purged TEXT;

-- Every stored hash of the tree by its stored-hash index: each leaf, and each complete subtree.
CREATE TABLE audit_hashes (
    idx  INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL
);

-- Signed checkpoints (C2SP tlog-checkpoint in a C2SP signed note), one per tree size signed.
CREATE TABLE audit_checkpoints (
    size  INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    note  TEXT    NOT NULL
);

-- Witnesses' co-signatures: the signature line over a checkpoint and the witness's public key.
CREATE TABLE audit_cosignatures (
    size      INTEGER NOT NULL,
    witness   TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    signature TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL,
    PRIMARY KEY (size, witness)
);

-- Verifications of the live log (the auditor's screen shows the latest).
CREATE TABLE audit_verifications (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms         INTEGER NOT NULL,
    ok            INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    checkpoints   INTEGER NOT NULL,
    first_bad_seq INTEGER,
    detail        TEXT    NOT NULL,
    took_ms       INTEGER NOT NULL
);

-- Records of changes made outside the running server (`vigie user …` at the console), appended to
-- the log by the server as soon as it runs (every 2 s), then removed from here.
CREATE TABLE audit_pending (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms  INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    record TEXT    NOT NULL
);
