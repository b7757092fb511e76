CREATE TABLE `credit_ledger` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`customer_id` text NOT NULL,
	`amount_nano_usd` integer NOT NULL,
	`note` text,
	`actor` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `credit_ledger_customer_idx` ON `credit_ledger` (`customer_id`);--> statement-breakpoint
CREATE TABLE `customers` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`is_active` integer NOT NULL,
	`rate_limit_per_minute` integer,
	`tpm_limit` integer,
	`max_parallel` integer,
	`budget_nano_usd` integer,
	`budget_period` text DEFAULT 'month' NOT NULL,
	`prepaid` integer DEFAULT false NOT NULL,
	`members_version` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `customers_name_unique` ON `customers` (`name`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `customer_id` text;--> statement-breakpoint
CREATE INDEX `api_keys_customer_idx` ON `api_keys` (`customer_id`);--> statement-breakpoint
-- Key rows are read with their customer's limits and balance: a change to either moves keys_version.
CREATE TRIGGER customers_version_insert AFTER INSERT ON customers BEGIN
  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'keys_version';
END;
--> statement-breakpoint
CREATE TRIGGER customers_version_update AFTER UPDATE ON customers BEGIN
  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'keys_version';
END;
--> statement-breakpoint
CREATE TRIGGER customers_version_delete AFTER DELETE ON customers BEGIN
  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'keys_version';
END;
--> statement-breakpoint
CREATE TRIGGER credit_ledger_version_insert AFTER INSERT ON credit_ledger BEGIN
  UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'keys_version';
END;
--> statement-breakpoint
-- A key joining or leaving a customer (however it is done) restarts the customer's counters from the database.
CREATE TRIGGER api_keys_customer_insert AFTER INSERT ON api_keys WHEN new.customer_id IS NOT NULL BEGIN
  UPDATE customers SET members_version = members_version + 1 WHERE id = new.customer_id;
END;
--> statement-breakpoint
CREATE TRIGGER api_keys_customer_update AFTER UPDATE OF customer_id ON api_keys WHEN old.customer_id IS NOT new.customer_id BEGIN
  UPDATE customers SET members_version = members_version + 1 WHERE id = old.customer_id OR id = new.customer_id;
END;
