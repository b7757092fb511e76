CREATE TABLE `webhook_cursors` (
	`endpoint` text PRIMARY KEY NOT NULL,
	`last_event_id` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`event_id` integer NOT NULL,
	`endpoint` text NOT NULL,
	`subject` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_at` integer NOT NULL,
	`lease_until` integer,
	`last_error` text,
	`done_at` integer,
	PRIMARY KEY(`event_id`, `endpoint`)
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due_idx` ON `webhook_deliveries` (`status`,`next_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_order_idx` ON `webhook_deliveries` (`endpoint`,`subject`,`event_id`);--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`type` text NOT NULL,
	`subject` text NOT NULL,
	`dedupe` text,
	`data` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_events_dedupe_unique` ON `webhook_events` (`dedupe`);--> statement-breakpoint
-- Key events go to the outbox in the transaction that changed the key (the audit entry's).
CREATE TRIGGER audit_log_key_events AFTER INSERT ON audit_log
WHEN NEW.action IN ('key.created', 'key.updated', 'key.disabled', 'key.enabled', 'key.rotated', 'key.deleted') BEGIN
  INSERT INTO webhook_events (type, subject, data, created_at)
  VALUES (NEW.action, 'key:' || NEW.subject_id,
    json_object('key', json_object('id', NEW.subject_id, 'name', NEW.subject_name), 'actor', NEW.actor, 'before', json(NEW.before), 'after', json(NEW.after)), NEW.at);
END;
