ALTER TABLE "api_keys" ADD COLUMN "hint" text;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "allowed_ips" text;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "max_output_tokens" integer;