PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_usage` (
	`id` integer PRIMARY KEY NOT NULL,
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
INSERT INTO `__new_usage`("id", "request_id", "key_id", "model_requested", "model_answered", "provider", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_nano_usd", "estimated", "upstream_status", "latency_ms", "streamed", "created_at") SELECT "id", "request_id", "key_id", "model_requested", "model_answered", "provider", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_nano_usd", "estimated", "upstream_status", "latency_ms", "streamed", "created_at" FROM `usage`;--> statement-breakpoint
DROP TABLE `usage`;--> statement-breakpoint
ALTER TABLE `__new_usage` RENAME TO `usage`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `usage_key_created_idx` ON `usage` (`key_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `usage_created_idx` ON `usage` (`created_at`);