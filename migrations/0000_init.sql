CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`key_hash` text NOT NULL,
	`lookup` text NOT NULL,
	`rate_limit_per_minute` integer NOT NULL,
	`is_active` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_name_unique` ON `api_keys` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_lookup_unique` ON `api_keys` (`lookup`);--> statement-breakpoint
CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rollup_state` (
	`id` integer PRIMARY KEY NOT NULL,
	`last_usage_id` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `usage` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`request_id` text NOT NULL,
	`key_id` text NOT NULL,
	`model_requested` text NOT NULL,
	`model_answered` text,
	`provider` text NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`cached_tokens` integer,
	`reasoning_tokens` integer,
	`cost_nano_usd` integer,
	`estimated` integer NOT NULL,
	`upstream_status` integer NOT NULL,
	`latency_ms` integer NOT NULL,
	`streamed` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`key_id`) REFERENCES `api_keys`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `usage_key_created_idx` ON `usage` (`key_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `usage_created_idx` ON `usage` (`created_at`);--> statement-breakpoint
CREATE TABLE `usage_daily` (
	`day` integer NOT NULL,
	`key_id` text NOT NULL,
	`model` text NOT NULL,
	`requests` integer NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`cost_nano_usd` integer NOT NULL,
	`unpriced_requests` integer NOT NULL,
	`estimated_requests` integer NOT NULL,
	PRIMARY KEY(`day`, `key_id`, `model`)
);
--> statement-breakpoint
CREATE INDEX `usage_daily_key_day_idx` ON `usage_daily` (`key_id`,`day`);--> statement-breakpoint
CREATE INDEX `usage_daily_model_day_idx` ON `usage_daily` (`model`,`day`);--> statement-breakpoint
CREATE TABLE `usage_daily_key` (
	`day` integer NOT NULL,
	`key_id` text NOT NULL,
	`requests` integer NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`cost_nano_usd` integer NOT NULL,
	`unpriced_requests` integer NOT NULL,
	`estimated_requests` integer NOT NULL,
	PRIMARY KEY(`day`, `key_id`)
);
--> statement-breakpoint
CREATE TABLE `usage_daily_model` (
	`day` integer NOT NULL,
	`model` text NOT NULL,
	`requests` integer NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`cost_nano_usd` integer NOT NULL,
	`unpriced_requests` integer NOT NULL,
	`estimated_requests` integer NOT NULL,
	PRIMARY KEY(`day`, `model`)
);
--> statement-breakpoint
INSERT INTO `rollup_state` (`id`, `last_usage_id`) VALUES (1, 0);
