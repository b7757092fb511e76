CREATE TABLE "key_shares" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"key_id" text NOT NULL,
	"sealed" text,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"claimed_at" bigint,
	"claimed_from" text
);
