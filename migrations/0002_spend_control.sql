ALTER TABLE `api_keys` ADD `budget_nano_usd` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `budget_period` text DEFAULT 'month' NOT NULL;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `tpm_limit` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `max_parallel` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `expires_at` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `allowed_models` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `deleted_at` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `previous_lookup` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `previous_key_hash` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `previous_valid_until` integer;--> statement-breakpoint
CREATE INDEX `api_keys_previous_lookup_idx` ON `api_keys` (`previous_lookup`);