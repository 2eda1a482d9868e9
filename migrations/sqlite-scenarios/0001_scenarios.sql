-- Scenarios imported from files, in a database file of their own beside the live log (never in
-- it): an import writes here without holding the live log's write lock.
CREATE TABLE scenarios (
    scenario_id    INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    from_ms        INTEGER NOT NULL,
    to_ms          INTEGER NOT NULL,
    events         INTEGER NOT NULL,
    imported_at_ms INTEGER NOT NULL,
    -- 0 while the import runs (or after it failed): such a scenario is not listed or replayed.
    complete       INTEGER NOT NULL DEFAULT 0
);

-- Same shape and encoding as the live `events`, keyed by scenario; seqs are the exporting log's.
CREATE TABLE scenario_events (
    scenario_id INTEGER NOT NULL REFERENCES scenarios (scenario_id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    PRIMARY KEY (scenario_id, seq)
) WITHOUT ROWID;
CREATE INDEX scenario_events_at_ms ON scenario_events (scenario_id, at_ms);

CREATE TABLE scenario_snapshots (
    scenario_id INTEGER NOT NULL REFERENCES scenarios (scenario_id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    state       BLOB    NOT NULL,
    PRIMARY KEY (scenario_id, seq)
) WITHOUT ROWID;
CREATE INDEX scenario_snapshots_at_ms ON scenario_snapshots (scenario_id, at_ms);
