CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"key_hash" text NOT NULL,
	"lookup" text NOT NULL,
	"rate_limit_per_minute" integer NOT NULL,
	"is_active" boolean NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"budget_nano_usd" bigint,
	"budget_period" text DEFAULT 'month' NOT NULL,
	"tpm_limit" integer,
	"max_parallel" integer,
	"expires_at" bigint,
	"allowed_models" text,
	"deleted_at" bigint,
	"previous_lookup" text,
	"previous_key_hash" text,
	"previous_valid_until" bigint,
	CONSTRAINT "api_keys_name_unique" UNIQUE("name"),
	CONSTRAINT "api_keys_lookup_unique" UNIQUE("lookup")
);
--> statement-breakpoint
CREATE TABLE "meta" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"request_id" text NOT NULL,
	"key_id" text NOT NULL,
	"model_requested" text NOT NULL,
	"model_answered" text,
	"provider" text NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	"cached_tokens" bigint,
	"reasoning_tokens" bigint,
	"cost_nano_usd" bigint,
	"estimated" boolean NOT NULL,
	"upstream_status" integer NOT NULL,
	"latency_ms" integer NOT NULL,
	"streamed" boolean NOT NULL,
	"created_at" bigint NOT NULL,
	"attempts" integer DEFAULT 1 NOT NULL,
	"response_id" text,
	"cache_write_tokens" bigint
);
--> statement-breakpoint
CREATE TABLE "usage_daily" (
	"day" integer NOT NULL,
	"key_id" text NOT NULL,
	"model" text NOT NULL,
	"requests" bigint NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	"cost_nano_usd" bigint NOT NULL,
	"unpriced_requests" bigint NOT NULL,
	"estimated_requests" bigint NOT NULL,
	CONSTRAINT "usage_daily_day_key_id_model_pk" PRIMARY KEY("day","key_id","model")
);
--> statement-breakpoint
CREATE TABLE "usage_daily_key" (
	"day" integer NOT NULL,
	"key_id" text NOT NULL,
	"requests" bigint NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	"cost_nano_usd" bigint NOT NULL,
	"unpriced_requests" bigint NOT NULL,
	"estimated_requests" bigint NOT NULL,
	CONSTRAINT "usage_daily_key_day_key_id_pk" PRIMARY KEY("day","key_id")
);
--> statement-breakpoint
CREATE TABLE "usage_daily_model" (
	"day" integer NOT NULL,
	"model" text NOT NULL,
	"requests" bigint NOT NULL,
	"prompt_tokens" bigint NOT NULL,
	"completion_tokens" bigint NOT NULL,
	"cost_nano_usd" bigint NOT NULL,
	"unpriced_requests" bigint NOT NULL,
	"estimated_requests" bigint NOT NULL,
	CONSTRAINT "usage_daily_model_day_model_pk" PRIMARY KEY("day","model")
);
--> statement-breakpoint
ALTER TABLE "usage" ADD CONSTRAINT "usage_key_id_api_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_previous_lookup_idx" ON "api_keys" USING btree ("previous_lookup");--> statement-breakpoint
CREATE INDEX "usage_key_created_idx" ON "usage" USING btree ("key_id","created_at");--> statement-breakpoint
CREATE INDEX "usage_created_idx" ON "usage" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "usage_response_idx" ON "usage" USING btree ("response_id") WHERE response_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX "usage_daily_key_day_idx" ON "usage_daily" USING btree ("key_id","day");--> statement-breakpoint
CREATE INDEX "usage_daily_model_day_idx" ON "usage_daily" USING btree ("model","day");