-- Imported scenarios moved to a database file of their own (`<log>-scenarios.db`), so a large
-- import never holds the live log's write lock. Scenarios imported before this change are dropped
-- with these tables (they can be imported again from their files).
DROP INDEX IF EXISTS scenario_snapshots_at_ms;
DROP INDEX IF EXISTS scenario_events_at_ms;
DROP TABLE IF EXISTS scenario_snapshots;
DROP TABLE IF EXISTS scenario_events;
DROP TABLE IF EXISTS scenarios;
