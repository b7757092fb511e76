ALTER TABLE "customers" ADD COLUMN "refill_nano_usd" bigint;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "refill_period" text;--> statement-breakpoint
ALTER TABLE "customers" ADD COLUMN "refilled_from" bigint;