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
INSERT INTO `usage_daily` (`day`, `key_id`, `model`, `requests`, `prompt_tokens`, `completion_tokens`, `cost_nano_usd`, `unpriced_requests`, `estimated_requests`)
SELECT `created_at` / 86400000, `key_id`, `model_requested`, count(*), sum(`prompt_tokens`), sum(`completion_tokens`), coalesce(sum(`cost_nano_usd`), 0), sum(`cost_nano_usd` IS NULL), sum(`estimated`)
FROM `usage` GROUP BY 1, 2, 3;
--> statement-breakpoint
CREATE TRIGGER `usage_daily_rollup` AFTER INSERT ON `usage` BEGIN
  INSERT INTO `usage_daily` (`day`, `key_id`, `model`, `requests`, `prompt_tokens`, `completion_tokens`, `cost_nano_usd`, `unpriced_requests`, `estimated_requests`)
  VALUES (NEW.`created_at` / 86400000, NEW.`key_id`, NEW.`model_requested`, 1, NEW.`prompt_tokens`, NEW.`completion_tokens`, coalesce(NEW.`cost_nano_usd`, 0), NEW.`cost_nano_usd` IS NULL, NEW.`estimated`)
  ON CONFLICT (`day`, `key_id`, `model`) DO UPDATE SET
    `requests` = `requests` + 1,
    `prompt_tokens` = `prompt_tokens` + excluded.`prompt_tokens`,
    `completion_tokens` = `completion_tokens` + excluded.`completion_tokens`,
    `cost_nano_usd` = `cost_nano_usd` + excluded.`cost_nano_usd`,
    `unpriced_requests` = `unpriced_requests` + excluded.`unpriced_requests`,
    `estimated_requests` = `estimated_requests` + excluded.`estimated_requests`;
END;
