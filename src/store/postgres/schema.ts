// The PostgreSQL schema: the same tables and columns as the SQLite one (src/store/sqlite/schema.ts), in
// PostgreSQL's types — times are milliseconds since the epoch and money integer nano-dollars in
// bigint, flags are booleans (so `UPDATE api_keys SET is_active = false` works as operators expect).
// Migrations: `bun run db:generate` writes both dialects' (migrations/ and migrations/postgres/).
import { sql } from "drizzle-orm";
import { bigint, bigserial, boolean, index, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";

const ms = (name: string) => bigint(name, { mode: "number" });

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull().unique(),
    keyHash: text("key_hash").notNull(),
    lookup: text("lookup").notNull().unique(),
    rateLimitPerMinute: integer("rate_limit_per_minute").notNull(),
    isActive: boolean("is_active").notNull(),
    createdAt: ms("created_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    budgetNanoUsd: bigint("budget_nano_usd", { mode: "number" }),
    budgetPeriod: text("budget_period").notNull().default("month"),
    tpmLimit: integer("tpm_limit"),
    maxParallel: integer("max_parallel"),
    expiresAt: ms("expires_at"),
    allowedModels: text("allowed_models"),
    deletedAt: ms("deleted_at"),
    previousLookup: text("previous_lookup"),
    previousKeyHash: text("previous_key_hash"),
    previousValidUntil: ms("previous_valid_until"),
    hint: text("hint"),
    allowedIps: text("allowed_ips"),
    maxOutputTokens: integer("max_output_tokens"),
    cacheTtlS: integer("cache_ttl_s"),
    customerId: text("customer_id"),
    auditActor: text("audit_actor"),
  },
  (t) => [index("api_keys_previous_lookup_idx").on(t.previousLookup), index("api_keys_customer_idx").on(t.customerId)],
);

export const keyShares = pgTable("key_shares", {
  tokenHash: text("token_hash").primaryKey(),
  keyId: text("key_id").notNull(),
  sealed: text("sealed"),
  createdAt: ms("created_at").notNull(),
  expiresAt: ms("expires_at").notNull(),
  claimedAt: ms("claimed_at"),
  claimedFrom: text("claimed_from"),
});

export const customers = pgTable("customers", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  isActive: boolean("is_active").notNull(),
  rateLimitPerMinute: integer("rate_limit_per_minute"),
  tpmLimit: integer("tpm_limit"),
  maxParallel: integer("max_parallel"),
  budgetNanoUsd: bigint("budget_nano_usd", { mode: "number" }),
  budgetPeriod: text("budget_period").notNull().default("month"),
  prepaid: boolean("prepaid").notNull().default(false),
  membersVersion: integer("members_version").notNull().default(0),
  refillNanoUsd: bigint("refill_nano_usd", { mode: "number" }),
  refillPeriod: text("refill_period"),
  refilledFrom: ms("refilled_from"),
  createdAt: ms("created_at").notNull(),
  updatedAt: ms("updated_at").notNull(),
  auditActor: text("audit_actor"),
});

export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: ms("at").notNull(),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    subjectType: text("subject_type").notNull(),
    subjectId: text("subject_id").notNull(),
    subjectName: text("subject_name").notNull(),
    before: text("before"),
    after: text("after"),
  },
  (t) => [index("audit_log_at_idx").on(t.at), index("audit_log_subject_idx").on(t.subjectId)],
);

export const webhookEvents = pgTable("webhook_events", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  type: text("type").notNull(),
  subject: text("subject").notNull(),
  dedupe: text("dedupe").unique(),
  data: text("data").notNull(),
  createdAt: ms("created_at").notNull(),
});

export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    eventId: bigint("event_id", { mode: "number" }).notNull(),
    endpoint: text("endpoint").notNull(),
    subject: text("subject").notNull(),
    status: text("status").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAt: ms("next_at").notNull(),
    leaseUntil: ms("lease_until"),
    lastError: text("last_error"),
    doneAt: ms("done_at"),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.endpoint] }), index("webhook_deliveries_due_idx").on(t.status, t.nextAt), index("webhook_deliveries_order_idx").on(t.endpoint, t.subject, t.eventId)],
);

export const webhookCursors = pgTable("webhook_cursors", {
  endpoint: text("endpoint").primaryKey(),
  lastEventId: bigint("last_event_id", { mode: "number" }).notNull(),
});

export const creditLedger = pgTable(
  "credit_ledger",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    customerId: text("customer_id").notNull(),
    amountNanoUsd: bigint("amount_nano_usd", { mode: "number" }).notNull(),
    note: text("note"),
    actor: text("actor").notNull(),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [index("credit_ledger_customer_idx").on(t.customerId)],
);

export const usage = pgTable(
  "usage",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    requestId: text("request_id").notNull(),
    keyId: text("key_id")
      .notNull()
      .references(() => apiKeys.id),
    modelRequested: text("model_requested").notNull(),
    modelAnswered: text("model_answered"),
    provider: text("provider").notNull(),
    promptTokens: bigint("prompt_tokens", { mode: "number" }).notNull(),
    completionTokens: bigint("completion_tokens", { mode: "number" }).notNull(),
    cachedTokens: bigint("cached_tokens", { mode: "number" }),
    reasoningTokens: bigint("reasoning_tokens", { mode: "number" }),
    costNanoUsd: bigint("cost_nano_usd", { mode: "number" }),
    estimated: boolean("estimated").notNull(),
    upstreamStatus: integer("upstream_status").notNull(),
    latencyMs: integer("latency_ms").notNull(),
    streamed: boolean("streamed").notNull(),
    createdAt: ms("created_at").notNull(),
    attempts: integer("attempts").notNull().default(1),
    responseId: text("response_id"),
    cacheWriteTokens: bigint("cache_write_tokens", { mode: "number" }),
    overBound: boolean("over_bound").notNull().default(false),
    cacheHit: boolean("cache_hit").notNull().default(false),
    savedNanoUsd: bigint("saved_nano_usd", { mode: "number" }),
  },
  (t) => [
    index("usage_key_created_idx").on(t.keyId, t.createdAt),
    index("usage_created_idx").on(t.createdAt),
    index("usage_response_idx").on(t.responseId).where(sql`response_id IS NOT NULL`),
  ],
);

// Roll-ups are updated in the transaction that inserts the rows (instances commit concurrently, so an
// id watermark could pass a row committed later): they always equal the raw rows.
const rollupColumns = {
  requests: bigint("requests", { mode: "number" }).notNull(),
  promptTokens: bigint("prompt_tokens", { mode: "number" }).notNull(),
  completionTokens: bigint("completion_tokens", { mode: "number" }).notNull(),
  costNanoUsd: bigint("cost_nano_usd", { mode: "number" }).notNull(),
  unpricedRequests: bigint("unpriced_requests", { mode: "number" }).notNull(),
  estimatedRequests: bigint("estimated_requests", { mode: "number" }).notNull(),
  cacheHits: bigint("cache_hits", { mode: "number" }).notNull().default(0),
  savedNanoUsd: bigint("saved_nano_usd", { mode: "number" }).notNull().default(0),
};

export const usageDaily = pgTable(
  "usage_daily",
  { day: integer("day").notNull(), keyId: text("key_id").notNull(), model: text("model").notNull(), ...rollupColumns },
  (t) => [primaryKey({ columns: [t.day, t.keyId, t.model] }), index("usage_daily_key_day_idx").on(t.keyId, t.day), index("usage_daily_model_day_idx").on(t.model, t.day)],
);

export const usageDailyKey = pgTable(
  "usage_daily_key",
  { day: integer("day").notNull(), keyId: text("key_id").notNull(), ...rollupColumns },
  (t) => [primaryKey({ columns: [t.day, t.keyId] })],
);

export const usageDailyModel = pgTable(
  "usage_daily_model",
  { day: integer("day").notNull(), model: text("model").notNull(), ...rollupColumns },
  (t) => [primaryKey({ columns: [t.day, t.model] })],
);

export const responseItems = pgTable(
  "response_items",
  {
    itemId: text("item_id").primaryKey(),
    keyId: text("key_id").notNull(),
    tokens: bigint("tokens", { mode: "number" }).notNull(),
    createdAt: ms("created_at").notNull(),
  },
  (t) => [index("response_items_created_idx").on(t.createdAt)],
);

export const meta = pgTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

/** Failed requests per minute, by kind and provider (see src/store/sqlite/schema.ts). */
export const failures = pgTable(
  "failures",
  { minute: ms("minute").notNull(), kind: text("kind").notNull(), provider: text("provider").notNull(), count: bigint("count", { mode: "number" }).notNull() },
  (t) => [primaryKey({ columns: [t.minute, t.kind, t.provider] })],
);
