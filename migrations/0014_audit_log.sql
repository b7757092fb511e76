CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`subject_type` text NOT NULL,
	`subject_id` text NOT NULL,
	`subject_name` text NOT NULL,
	`before` text,
	`after` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_at_idx` ON `audit_log` (`at`);--> statement-breakpoint
CREATE INDEX `audit_log_subject_idx` ON `audit_log` (`subject_id`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `audit_actor` text;--> statement-breakpoint
ALTER TABLE `customers` ADD `audit_actor` text;--> statement-breakpoint
-- The audit log is written by these triggers, so every change is recorded however it was made. The CLI and the
-- admin API write audit_actor with their change; the trigger records it and clears it, so a later direct
-- UPDATE (which leaves it NULL) is recorded as the database's.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER api_keys_audit_insert AFTER INSERT ON api_keys BEGIN
  INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), coalesce(NEW.audit_actor, 'database'), 'key.created', 'key', NEW.id, NEW.name, NULL, json_object('name', NEW.name, 'is_active', json(CASE WHEN NEW.is_active THEN 'true' ELSE 'false' END), 'rate_limit_per_minute', NEW.rate_limit_per_minute, 'budget_nano_usd', NEW.budget_nano_usd, 'budget_period', NEW.budget_period, 'tpm_limit', NEW.tpm_limit, 'max_parallel', NEW.max_parallel, 'expires_at', NEW.expires_at, 'allowed_models', NEW.allowed_models, 'deleted_at', NEW.deleted_at, 'hint', NEW.hint, 'allowed_ips', NEW.allowed_ips, 'max_output_tokens', NEW.max_output_tokens, 'customer_id', NEW.customer_id, 'previous_valid_until', NEW.previous_valid_until));
  UPDATE api_keys SET audit_actor = NULL WHERE id = NEW.id AND audit_actor IS NOT NULL;
END;
--> statement-breakpoint
CREATE TRIGGER api_keys_audit_update AFTER UPDATE ON api_keys WHEN OLD.name IS NOT NEW.name OR OLD.is_active IS NOT NEW.is_active OR OLD.rate_limit_per_minute IS NOT NEW.rate_limit_per_minute OR OLD.budget_nano_usd IS NOT NEW.budget_nano_usd OR OLD.budget_period IS NOT NEW.budget_period OR OLD.tpm_limit IS NOT NEW.tpm_limit OR OLD.max_parallel IS NOT NEW.max_parallel OR OLD.expires_at IS NOT NEW.expires_at OR OLD.allowed_models IS NOT NEW.allowed_models OR OLD.deleted_at IS NOT NEW.deleted_at OR OLD.hint IS NOT NEW.hint OR OLD.allowed_ips IS NOT NEW.allowed_ips OR OLD.max_output_tokens IS NOT NEW.max_output_tokens OR OLD.customer_id IS NOT NEW.customer_id OR OLD.previous_valid_until IS NOT NEW.previous_valid_until OR OLD.lookup IS NOT NEW.lookup BEGIN
  INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), coalesce(NEW.audit_actor, 'database'),
    CASE WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN 'key.deleted'
      WHEN OLD.lookup IS NOT NEW.lookup THEN 'key.rotated'
      WHEN OLD.is_active AND NOT NEW.is_active THEN 'key.disabled'
      WHEN NOT OLD.is_active AND NEW.is_active THEN 'key.enabled'
      ELSE 'key.updated' END,
    'key', NEW.id, NEW.name, json_object('name', OLD.name, 'is_active', json(CASE WHEN OLD.is_active THEN 'true' ELSE 'false' END), 'rate_limit_per_minute', OLD.rate_limit_per_minute, 'budget_nano_usd', OLD.budget_nano_usd, 'budget_period', OLD.budget_period, 'tpm_limit', OLD.tpm_limit, 'max_parallel', OLD.max_parallel, 'expires_at', OLD.expires_at, 'allowed_models', OLD.allowed_models, 'deleted_at', OLD.deleted_at, 'hint', OLD.hint, 'allowed_ips', OLD.allowed_ips, 'max_output_tokens', OLD.max_output_tokens, 'customer_id', OLD.customer_id, 'previous_valid_until', OLD.previous_valid_until), json_object('name', NEW.name, 'is_active', json(CASE WHEN NEW.is_active THEN 'true' ELSE 'false' END), 'rate_limit_per_minute', NEW.rate_limit_per_minute, 'budget_nano_usd', NEW.budget_nano_usd, 'budget_period', NEW.budget_period, 'tpm_limit', NEW.tpm_limit, 'max_parallel', NEW.max_parallel, 'expires_at', NEW.expires_at, 'allowed_models', NEW.allowed_models, 'deleted_at', NEW.deleted_at, 'hint', NEW.hint, 'allowed_ips', NEW.allowed_ips, 'max_output_tokens', NEW.max_output_tokens, 'customer_id', NEW.customer_id, 'previous_valid_until', NEW.previous_valid_until));
  UPDATE api_keys SET audit_actor = NULL WHERE id = NEW.id AND audit_actor IS NOT NULL;
END;
--> statement-breakpoint
CREATE TRIGGER api_keys_audit_delete AFTER DELETE ON api_keys BEGIN
  INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), coalesce(OLD.audit_actor, 'database'), 'key.deleted', 'key', OLD.id, OLD.name, json_object('name', OLD.name, 'is_active', json(CASE WHEN OLD.is_active THEN 'true' ELSE 'false' END), 'rate_limit_per_minute', OLD.rate_limit_per_minute, 'budget_nano_usd', OLD.budget_nano_usd, 'budget_period', OLD.budget_period, 'tpm_limit', OLD.tpm_limit, 'max_parallel', OLD.max_parallel, 'expires_at', OLD.expires_at, 'allowed_models', OLD.allowed_models, 'deleted_at', OLD.deleted_at, 'hint', OLD.hint, 'allowed_ips', OLD.allowed_ips, 'max_output_tokens', OLD.max_output_tokens, 'customer_id', OLD.customer_id, 'previous_valid_until', OLD.previous_valid_until), NULL);
END;
--> statement-breakpoint
CREATE TRIGGER key_shares_audit_claim AFTER UPDATE OF claimed_at ON key_shares WHEN OLD.claimed_at IS NULL AND NEW.claimed_at IS NOT NULL BEGIN
  INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
  SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER), 'link from ' || coalesce(NEW.claimed_from, 'unknown'), 'key.claimed', 'key', NEW.key_id, coalesce((SELECT name FROM api_keys WHERE id = NEW.key_id), ''), NULL,
    json_object('claimed_from', NEW.claimed_from, 'claimed_at', NEW.claimed_at);
END;
--> statement-breakpoint
CREATE TRIGGER customers_audit_insert AFTER INSERT ON customers BEGIN
  INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), coalesce(NEW.audit_actor, 'database'), 'customer.created', 'customer', NEW.id, NEW.name, NULL, json_object('name', NEW.name, 'is_active', json(CASE WHEN NEW.is_active THEN 'true' ELSE 'false' END), 'rate_limit_per_minute', NEW.rate_limit_per_minute, 'tpm_limit', NEW.tpm_limit, 'max_parallel', NEW.max_parallel, 'budget_nano_usd', NEW.budget_nano_usd, 'budget_period', NEW.budget_period, 'prepaid', json(CASE WHEN NEW.prepaid THEN 'true' ELSE 'false' END), 'refill_nano_usd', NEW.refill_nano_usd, 'refill_period', NEW.refill_period));
  UPDATE customers SET audit_actor = NULL WHERE id = NEW.id AND audit_actor IS NOT NULL;
END;
--> statement-breakpoint
CREATE TRIGGER customers_audit_update AFTER UPDATE ON customers WHEN OLD.name IS NOT NEW.name OR OLD.is_active IS NOT NEW.is_active OR OLD.rate_limit_per_minute IS NOT NEW.rate_limit_per_minute OR OLD.tpm_limit IS NOT NEW.tpm_limit OR OLD.max_parallel IS NOT NEW.max_parallel OR OLD.budget_nano_usd IS NOT NEW.budget_nano_usd OR OLD.budget_period IS NOT NEW.budget_period OR OLD.prepaid IS NOT NEW.prepaid OR OLD.refill_nano_usd IS NOT NEW.refill_nano_usd OR OLD.refill_period IS NOT NEW.refill_period BEGIN
  INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), coalesce(NEW.audit_actor, 'database'),
    CASE WHEN OLD.is_active AND NOT NEW.is_active THEN 'customer.disabled'
      WHEN NOT OLD.is_active AND NEW.is_active THEN 'customer.enabled'
      ELSE 'customer.updated' END,
    'customer', NEW.id, NEW.name, json_object('name', OLD.name, 'is_active', json(CASE WHEN OLD.is_active THEN 'true' ELSE 'false' END), 'rate_limit_per_minute', OLD.rate_limit_per_minute, 'tpm_limit', OLD.tpm_limit, 'max_parallel', OLD.max_parallel, 'budget_nano_usd', OLD.budget_nano_usd, 'budget_period', OLD.budget_period, 'prepaid', json(CASE WHEN OLD.prepaid THEN 'true' ELSE 'false' END), 'refill_nano_usd', OLD.refill_nano_usd, 'refill_period', OLD.refill_period), json_object('name', NEW.name, 'is_active', json(CASE WHEN NEW.is_active THEN 'true' ELSE 'false' END), 'rate_limit_per_minute', NEW.rate_limit_per_minute, 'tpm_limit', NEW.tpm_limit, 'max_parallel', NEW.max_parallel, 'budget_nano_usd', NEW.budget_nano_usd, 'budget_period', NEW.budget_period, 'prepaid', json(CASE WHEN NEW.prepaid THEN 'true' ELSE 'false' END), 'refill_nano_usd', NEW.refill_nano_usd, 'refill_period', NEW.refill_period));
  UPDATE customers SET audit_actor = NULL WHERE id = NEW.id AND audit_actor IS NOT NULL;
END;
--> statement-breakpoint
CREATE TRIGGER customers_audit_delete AFTER DELETE ON customers BEGIN
  INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), coalesce(OLD.audit_actor, 'database'), 'customer.deleted', 'customer', OLD.id, OLD.name, json_object('name', OLD.name, 'is_active', json(CASE WHEN OLD.is_active THEN 'true' ELSE 'false' END), 'rate_limit_per_minute', OLD.rate_limit_per_minute, 'tpm_limit', OLD.tpm_limit, 'max_parallel', OLD.max_parallel, 'budget_nano_usd', OLD.budget_nano_usd, 'budget_period', OLD.budget_period, 'prepaid', json(CASE WHEN OLD.prepaid THEN 'true' ELSE 'false' END), 'refill_nano_usd', OLD.refill_nano_usd, 'refill_period', OLD.refill_period), NULL);
END;
--> statement-breakpoint
CREATE TRIGGER credit_ledger_audit_insert AFTER INSERT ON credit_ledger BEGIN
  INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
  SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER), NEW.actor, 'credits.added', 'customer', NEW.customer_id, coalesce((SELECT name FROM customers WHERE id = NEW.customer_id), ''), NULL,
    json_object('entry', NEW.id, 'amount_nano_usd', NEW.amount_nano_usd, 'note', NEW.note);
END;
