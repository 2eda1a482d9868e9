-- A seek in an imported scenario finds its nearest snapshot by time, as in the live log.
CREATE INDEX scenario_snapshots_at_ms ON scenario_snapshots (scenario_id, at_ms);
