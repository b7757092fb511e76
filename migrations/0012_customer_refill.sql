ALTER TABLE `customers` ADD `refill_nano_usd` integer;--> statement-breakpoint
ALTER TABLE `customers` ADD `refill_period` text;--> statement-breakpoint
ALTER TABLE `customers` ADD `refilled_from` integer;