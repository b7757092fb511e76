CREATE TABLE `response_items` (
	`item_id` text PRIMARY KEY NOT NULL,
	`key_id` text NOT NULL,
	`tokens` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `response_items_created_idx` ON `response_items` (`created_at`);