CREATE TABLE "response_items" (
	"item_id" text PRIMARY KEY NOT NULL,
	"key_id" text NOT NULL,
	"tokens" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "response_items_created_idx" ON "response_items" USING btree ("created_at");