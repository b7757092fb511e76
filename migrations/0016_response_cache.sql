CREATE TABLE `response_cache` (
	`key` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`bytes` integer NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `response_cache_created_idx` ON `response_cache` (`created_at`);--> statement-breakpoint
CREATE INDEX `response_cache_expires_idx` ON `response_cache` (`expires_at`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `cache_ttl_s` integer;--> statement-breakpoint
ALTER TABLE `usage` ADD `cache_hit` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `usage` ADD `saved_nano_usd` integer;--> statement-breakpoint
ALTER TABLE `usage_daily` ADD `cache_hits` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_daily` ADD `saved_nano_usd` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_daily_key` ADD `cache_hits` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_daily_key` ADD `saved_nano_usd` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_daily_model` ADD `cache_hits` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_daily_model` ADD `saved_nano_usd` integer DEFAULT 0 NOT NULL;