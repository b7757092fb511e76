CREATE TABLE "failures" (
	"minute" bigint NOT NULL,
	"kind" text NOT NULL,
	"provider" text NOT NULL,
	"count" bigint NOT NULL,
	CONSTRAINT "failures_minute_kind_provider_pk" PRIMARY KEY("minute","kind","provider")
);
