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
INSERT INTO `usage_daily` SELECT `created_at` / 86400000, `key_id`, `model_requested`, count(*), sum(`prompt_tokens`), sum(`completion_tokens`), coalesce(sum(`cost_nano_usd`), 0), sum(`cost_nano_usd` IS NULL), sum(`estimated`) FROM `usage` GROUP BY 1, 2, 3;
--> statement-breakpoint
INSERT INTO `usage_daily_key` SELECT `day`, `key_id`, sum(`requests`), sum(`prompt_tokens`), sum(`completion_tokens`), sum(`cost_nano_usd`), sum(`unpriced_requests`), sum(`estimated_requests`) FROM `usage_daily` GROUP BY 1, 2;
--> statement-breakpoint
INSERT INTO `usage_daily_model` SELECT `day`, `model`, sum(`requests`), sum(`prompt_tokens`), sum(`completion_tokens`), sum(`cost_nano_usd`), sum(`unpriced_requests`), sum(`estimated_requests`) FROM `usage_daily` GROUP BY 1, 2;
