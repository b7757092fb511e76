ALTER TABLE "api_keys" ADD COLUMN "cache_ttl_s" integer;--> statement-breakpoint
ALTER TABLE "usage" ADD COLUMN "cache_hit" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "usage" ADD COLUMN "saved_nano_usd" bigint;--> statement-breakpoint
ALTER TABLE "usage_daily" ADD COLUMN "cache_hits" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_daily" ADD COLUMN "saved_nano_usd" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_daily_key" ADD COLUMN "cache_hits" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_daily_key" ADD COLUMN "saved_nano_usd" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_daily_model" ADD COLUMN "cache_hits" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_daily_model" ADD COLUMN "saved_nano_usd" bigint DEFAULT 0 NOT NULL;