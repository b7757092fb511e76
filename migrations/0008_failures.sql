CREATE TABLE `failures` (
	`minute` integer NOT NULL,
	`kind` text NOT NULL,
	`provider` text NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`minute`, `kind`, `provider`)
);
