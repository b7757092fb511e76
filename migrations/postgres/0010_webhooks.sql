CREATE TABLE "webhook_cursors" (
	"endpoint" text PRIMARY KEY NOT NULL,
	"last_event_id" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"event_id" bigint NOT NULL,
	"endpoint" text NOT NULL,
	"subject" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_at" bigint NOT NULL,
	"lease_until" bigint,
	"last_error" text,
	"done_at" bigint,
	CONSTRAINT "webhook_deliveries_event_id_endpoint_pk" PRIMARY KEY("event_id","endpoint")
);
--> statement-breakpoint
CREATE TABLE "webhook_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"subject" text NOT NULL,
	"dedupe" text,
	"data" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "webhook_events_dedupe_unique" UNIQUE("dedupe")
);
--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("status","next_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_order_idx" ON "webhook_deliveries" USING btree ("endpoint","subject","event_id");--> statement-breakpoint
-- Key events go to the outbox in the transaction that changed the key (the audit entry's).
CREATE FUNCTION gateway_key_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.action IN ('key.created', 'key.updated', 'key.disabled', 'key.enabled', 'key.rotated', 'key.deleted') THEN
    INSERT INTO webhook_events (type, subject, data, created_at)
    VALUES (NEW.action, 'key:' || NEW.subject_id,
      jsonb_build_object('key', jsonb_build_object('id', NEW.subject_id, 'name', NEW.subject_name), 'actor', NEW.actor, 'before', NEW.before::jsonb, 'after', NEW.after::jsonb)::text, NEW.at);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_key_events AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION gateway_key_events();
