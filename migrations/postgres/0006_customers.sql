CREATE TABLE "credit_ledger" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"customer_id" text NOT NULL,
	"amount_nano_usd" bigint NOT NULL,
	"note" text,
	"actor" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "customers" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"is_active" boolean NOT NULL,
	"rate_limit_per_minute" integer,
	"tpm_limit" integer,
	"max_parallel" integer,
	"budget_nano_usd" bigint,
	"budget_period" text DEFAULT 'month' NOT NULL,
	"prepaid" boolean DEFAULT false NOT NULL,
	"members_version" integer DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "customers_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "customer_id" text;--> statement-breakpoint
CREATE INDEX "credit_ledger_customer_idx" ON "credit_ledger" USING btree ("customer_id");--> statement-breakpoint
CREATE INDEX "api_keys_customer_idx" ON "api_keys" USING btree ("customer_id");--> statement-breakpoint
-- Key rows are read with their customer's limits and balance: changes to either notify every instance.
CREATE TRIGGER customers_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON customers
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_keys_changed();
--> statement-breakpoint
CREATE TRIGGER credit_ledger_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON credit_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION gateway_keys_changed();
--> statement-breakpoint
-- A key joining or leaving a customer (however it is done) restarts the customer's counters from the database.
CREATE FUNCTION gateway_customer_members_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE customers SET members_version = members_version + 1 WHERE id = NEW.customer_id;
  ELSIF OLD.customer_id IS DISTINCT FROM NEW.customer_id THEN
    UPDATE customers SET members_version = members_version + 1 WHERE id = OLD.customer_id OR id = NEW.customer_id;
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER api_keys_customer_changed AFTER INSERT OR UPDATE OF customer_id ON api_keys
  FOR EACH ROW EXECUTE FUNCTION gateway_customer_members_changed();
