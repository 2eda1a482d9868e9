-- The room's log: append-only, one row per event, `seq` gap-free and assigned by the sequencer.
-- `body` is the event as JSON, except `positions_reported`, whose fixes are a compact binary
-- encoding (postcard, fixed-point) so a day of positions stays small and fast to replay.
CREATE TABLE events (
    seq   INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT    NOT NULL,
    kind  TEXT    NOT NULL,
    body  BLOB    NOT NULL
);
CREATE INDEX events_at_ms ON events (at_ms);

-- The room's state as of `seq`, written every N events so startup and replay start near the end.
CREATE TABLE snapshots (
    seq   INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    state BLOB    NOT NULL
);
