-- A counter of key changes, kept by the database itself (whoever changes a key: a server, the CLI, a
-- sqlite3 shell): servers cache key rows until it moves, and the usage writer's commits leave it alone.
INSERT INTO meta (key, value) VALUES ('keys_version', '0') ON CONFLICT (key) DO NOTHING;
--> statement-breakpoint
CREATE TRIGGER api_keys_version_insert AFTER INSERT ON api_keys BEGIN
  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'keys_version';
END;
--> statement-breakpoint
CREATE TRIGGER api_keys_version_update AFTER UPDATE ON api_keys BEGIN
  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'keys_version';
END;
--> statement-breakpoint
CREATE TRIGGER api_keys_version_delete AFTER DELETE ON api_keys BEGIN
  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'keys_version';
END;
