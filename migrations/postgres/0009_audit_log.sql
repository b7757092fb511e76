CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" bigint NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"subject_type" text NOT NULL,
	"subject_id" text NOT NULL,
	"subject_name" text NOT NULL,
	"before" text,
	"after" text
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "audit_actor" text;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "audit_actor" text;--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_log_subject_idx" ON "audit_log" USING btree ("subject_id");--> statement-breakpoint
-- The audit log is written by these triggers, so every change is recorded however it was made. The CLI and the
-- admin API write audit_actor with their change; the trigger records it and clears it (BEFORE: in the row
-- being written), so a later direct UPDATE (which leaves it NULL) is recorded as the database's.
CREATE FUNCTION gateway_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_audit_append_only();
--> statement-breakpoint
CREATE FUNCTION gateway_audit_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
    VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint, coalesce(NEW.audit_actor, 'database'), 'key.created', 'key', NEW.id, NEW.name, NULL, jsonb_build_object('name', NEW.name, 'is_active', NEW.is_active, 'rate_limit_per_minute', NEW.rate_limit_per_minute, 'budget_nano_usd', NEW.budget_nano_usd, 'budget_period', NEW.budget_period, 'tpm_limit', NEW.tpm_limit, 'max_parallel', NEW.max_parallel, 'expires_at', NEW.expires_at, 'allowed_models', NEW.allowed_models, 'deleted_at', NEW.deleted_at, 'hint', NEW.hint, 'allowed_ips', NEW.allowed_ips, 'max_output_tokens', NEW.max_output_tokens, 'customer_id', NEW.customer_id, 'previous_valid_until', NEW.previous_valid_until)::text);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
    VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint, coalesce(nullif(current_setting('gateway.actor', true), ''), 'database'), 'key.deleted', 'key', OLD.id, OLD.name, jsonb_build_object('name', OLD.name, 'is_active', OLD.is_active, 'rate_limit_per_minute', OLD.rate_limit_per_minute, 'budget_nano_usd', OLD.budget_nano_usd, 'budget_period', OLD.budget_period, 'tpm_limit', OLD.tpm_limit, 'max_parallel', OLD.max_parallel, 'expires_at', OLD.expires_at, 'allowed_models', OLD.allowed_models, 'deleted_at', OLD.deleted_at, 'hint', OLD.hint, 'allowed_ips', OLD.allowed_ips, 'max_output_tokens', OLD.max_output_tokens, 'customer_id', OLD.customer_id, 'previous_valid_until', OLD.previous_valid_until)::text, NULL);
    RETURN OLD;
  ELSIF OLD.name IS DISTINCT FROM NEW.name OR OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.rate_limit_per_minute IS DISTINCT FROM NEW.rate_limit_per_minute OR OLD.budget_nano_usd IS DISTINCT FROM NEW.budget_nano_usd OR OLD.budget_period IS DISTINCT FROM NEW.budget_period OR OLD.tpm_limit IS DISTINCT FROM NEW.tpm_limit OR OLD.max_parallel IS DISTINCT FROM NEW.max_parallel OR OLD.expires_at IS DISTINCT FROM NEW.expires_at OR OLD.allowed_models IS DISTINCT FROM NEW.allowed_models OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.hint IS DISTINCT FROM NEW.hint OR OLD.allowed_ips IS DISTINCT FROM NEW.allowed_ips OR OLD.max_output_tokens IS DISTINCT FROM NEW.max_output_tokens OR OLD.customer_id IS DISTINCT FROM NEW.customer_id OR OLD.previous_valid_until IS DISTINCT FROM NEW.previous_valid_until OR OLD.lookup IS DISTINCT FROM NEW.lookup THEN
    INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
    VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint, coalesce(NEW.audit_actor, 'database'),
      CASE WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN 'key.deleted'
        WHEN OLD.lookup IS DISTINCT FROM NEW.lookup THEN 'key.rotated'
        WHEN OLD.is_active AND NOT NEW.is_active THEN 'key.disabled'
        WHEN NOT OLD.is_active AND NEW.is_active THEN 'key.enabled'
        ELSE 'key.updated' END,
      'key', NEW.id, NEW.name, jsonb_build_object('name', OLD.name, 'is_active', OLD.is_active, 'rate_limit_per_minute', OLD.rate_limit_per_minute, 'budget_nano_usd', OLD.budget_nano_usd, 'budget_period', OLD.budget_period, 'tpm_limit', OLD.tpm_limit, 'max_parallel', OLD.max_parallel, 'expires_at', OLD.expires_at, 'allowed_models', OLD.allowed_models, 'deleted_at', OLD.deleted_at, 'hint', OLD.hint, 'allowed_ips', OLD.allowed_ips, 'max_output_tokens', OLD.max_output_tokens, 'customer_id', OLD.customer_id, 'previous_valid_until', OLD.previous_valid_until)::text, jsonb_build_object('name', NEW.name, 'is_active', NEW.is_active, 'rate_limit_per_minute', NEW.rate_limit_per_minute, 'budget_nano_usd', NEW.budget_nano_usd, 'budget_period', NEW.budget_period, 'tpm_limit', NEW.tpm_limit, 'max_parallel', NEW.max_parallel, 'expires_at', NEW.expires_at, 'allowed_models', NEW.allowed_models, 'deleted_at', NEW.deleted_at, 'hint', NEW.hint, 'allowed_ips', NEW.allowed_ips, 'max_output_tokens', NEW.max_output_tokens, 'customer_id', NEW.customer_id, 'previous_valid_until', NEW.previous_valid_until)::text);
  END IF;
  NEW.audit_actor := NULL;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER api_keys_audit BEFORE INSERT OR UPDATE OR DELETE ON api_keys FOR EACH ROW EXECUTE FUNCTION gateway_audit_key();
--> statement-breakpoint
CREATE FUNCTION gateway_audit_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
    VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint, coalesce(NEW.audit_actor, 'database'), 'customer.created', 'customer', NEW.id, NEW.name, NULL, jsonb_build_object('name', NEW.name, 'is_active', NEW.is_active, 'rate_limit_per_minute', NEW.rate_limit_per_minute, 'tpm_limit', NEW.tpm_limit, 'max_parallel', NEW.max_parallel, 'budget_nano_usd', NEW.budget_nano_usd, 'budget_period', NEW.budget_period, 'prepaid', NEW.prepaid, 'refill_nano_usd', NEW.refill_nano_usd, 'refill_period', NEW.refill_period)::text);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
    VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint, coalesce(nullif(current_setting('gateway.actor', true), ''), 'database'), 'customer.deleted', 'customer', OLD.id, OLD.name, jsonb_build_object('name', OLD.name, 'is_active', OLD.is_active, 'rate_limit_per_minute', OLD.rate_limit_per_minute, 'tpm_limit', OLD.tpm_limit, 'max_parallel', OLD.max_parallel, 'budget_nano_usd', OLD.budget_nano_usd, 'budget_period', OLD.budget_period, 'prepaid', OLD.prepaid, 'refill_nano_usd', OLD.refill_nano_usd, 'refill_period', OLD.refill_period)::text, NULL);
    RETURN OLD;
  ELSIF OLD.name IS DISTINCT FROM NEW.name OR OLD.is_active IS DISTINCT FROM NEW.is_active OR OLD.rate_limit_per_minute IS DISTINCT FROM NEW.rate_limit_per_minute OR OLD.tpm_limit IS DISTINCT FROM NEW.tpm_limit OR OLD.max_parallel IS DISTINCT FROM NEW.max_parallel OR OLD.budget_nano_usd IS DISTINCT FROM NEW.budget_nano_usd OR OLD.budget_period IS DISTINCT FROM NEW.budget_period OR OLD.prepaid IS DISTINCT FROM NEW.prepaid OR OLD.refill_nano_usd IS DISTINCT FROM NEW.refill_nano_usd OR OLD.refill_period IS DISTINCT FROM NEW.refill_period THEN
    INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
    VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint, coalesce(NEW.audit_actor, 'database'),
      CASE WHEN OLD.is_active AND NOT NEW.is_active THEN 'customer.disabled'
        WHEN NOT OLD.is_active AND NEW.is_active THEN 'customer.enabled'
        ELSE 'customer.updated' END,
      'customer', NEW.id, NEW.name, jsonb_build_object('name', OLD.name, 'is_active', OLD.is_active, 'rate_limit_per_minute', OLD.rate_limit_per_minute, 'tpm_limit', OLD.tpm_limit, 'max_parallel', OLD.max_parallel, 'budget_nano_usd', OLD.budget_nano_usd, 'budget_period', OLD.budget_period, 'prepaid', OLD.prepaid, 'refill_nano_usd', OLD.refill_nano_usd, 'refill_period', OLD.refill_period)::text, jsonb_build_object('name', NEW.name, 'is_active', NEW.is_active, 'rate_limit_per_minute', NEW.rate_limit_per_minute, 'tpm_limit', NEW.tpm_limit, 'max_parallel', NEW.max_parallel, 'budget_nano_usd', NEW.budget_nano_usd, 'budget_period', NEW.budget_period, 'prepaid', NEW.prepaid, 'refill_nano_usd', NEW.refill_nano_usd, 'refill_period', NEW.refill_period)::text);
  END IF;
  NEW.audit_actor := NULL;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER customers_audit BEFORE INSERT OR UPDATE OR DELETE ON customers FOR EACH ROW EXECUTE FUNCTION gateway_audit_customer();
--> statement-breakpoint
CREATE FUNCTION gateway_audit_other() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'credit_ledger' THEN
    INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
    VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint, NEW.actor, 'credits.added', 'customer', NEW.customer_id, coalesce((SELECT name FROM customers WHERE id = NEW.customer_id), ''), NULL,
      jsonb_build_object('entry', NEW.id, 'amount_nano_usd', NEW.amount_nano_usd, 'note', NEW.note)::text);
  ELSIF OLD.claimed_at IS NULL AND NEW.claimed_at IS NOT NULL THEN
    INSERT INTO audit_log (at, actor, action, subject_type, subject_id, subject_name, before, after)
    VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint, 'link from ' || coalesce(NEW.claimed_from, 'unknown'), 'key.claimed', 'key', NEW.key_id, coalesce((SELECT name FROM api_keys WHERE id = NEW.key_id), ''), NULL,
      jsonb_build_object('claimed_from', NEW.claimed_from, 'claimed_at', NEW.claimed_at)::text);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER credit_ledger_audit AFTER INSERT ON credit_ledger FOR EACH ROW EXECUTE FUNCTION gateway_audit_other();
--> statement-breakpoint
CREATE TRIGGER key_shares_audit AFTER UPDATE OF claimed_at ON key_shares FOR EACH ROW EXECUTE FUNCTION gateway_audit_other();
