ALTER TABLE `usage` ADD `response_id` text;--> statement-breakpoint
CREATE INDEX `usage_response_idx` ON `usage` (`response_id`) WHERE response_id IS NOT NULL;