-- A key's hint (its value's last 4 characters), the client addresses it may be used from, and its output cap.
ALTER TABLE `api_keys` ADD `hint` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `allowed_ips` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `max_output_tokens` integer;