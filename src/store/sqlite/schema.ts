import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Customer API keys. The plain key is never stored: `keyHash` is bcrypt, `lookup` an HMAC keyed by a secret kept outside the database. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  keyHash: text("key_hash").notNull(),
  lookup: text("lookup").notNull().unique(),
  rateLimitPerMinute: integer("rate_limit_per_minute").notNull(),
  isActive: integer("is_active", { mode: "boolean" }).notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  // Spend control; NULL means no such limit. Each may be edited directly with SQL: the server reads the
  // row again on the next request.
  /** Spend limit per period, integer nano-dollars. */
  budgetNanoUsd: integer("budget_nano_usd"),
  /** day | week | month (calendar periods in UTC) | total (never resets). */
  budgetPeriod: text("budget_period").notNull().default("month"),
  /** Prompt + completion tokens per clock minute. */
  tpmLimit: integer("tpm_limit"),
  /** Requests in flight at once. */
  maxParallel: integer("max_parallel"),
  /** Milliseconds since the epoch after which the key is refused (401 api_key_expired). */
  expiresAt: integer("expires_at"),
  /** Comma-separated glob patterns (* and ?) of the models the key may use. */
  allowedModels: text("allowed_models"),
  /** Set when the key was deleted: it stops working, its usage stays. */
  deletedAt: integer("deleted_at"),
  // The previous value of a rotated key, accepted until previous_valid_until (the grace period).
  previousLookup: text("previous_lookup"),
  previousKeyHash: text("previous_key_hash"),
  previousValidUntil: integer("previous_valid_until"),
  /** The key value's last 4 characters (set at creation and rotation), to trace a leaked value to its key. */
  hint: text("hint"),
  /** Comma-separated CIDR blocks the key may be used from (IPv4 and IPv6), or null for anywhere. */
  allowedIps: text("allowed_ips"),
  /** The most output tokens a request may ask for: larger asks are clamped, none given is sent. */
  maxOutputTokens: integer("max_output_tokens"),
  /** Seconds a deterministic answer is kept in the response cache for this key; null: cached only when a request asks (x-gateway-cache-ttl). */
  cacheTtlS: integer("cache_ttl_s"),
  /** The customer (account) the key belongs to, or null: a request must fit the customer's limits too. */
  customerId: text("customer_id"),
  /** Who is making the change being written (audit log); the database's trigger records it and clears it. */
  auditActor: text("audit_actor"),
}, (t) => [index("api_keys_previous_lookup_idx").on(t.previousLookup), index("api_keys_customer_idx").on(t.customerId)]);

/** One-time key hand-overs (keys/share.ts): the link's token only as a hash, the key sealed under it until shown. */
export const keyShares = sqliteTable("key_shares", {
  tokenHash: text("token_hash").primaryKey(),
  keyId: text("key_id").notNull(),
  sealed: text("sealed"),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  claimedAt: integer("claimed_at"),
  claimedFrom: text("claimed_from"),
});

/** A company with several keys: limits of its own shared by its keys, and optionally prepaid credit. */
export const customers = sqliteTable("customers", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  isActive: integer("is_active", { mode: "boolean" }).notNull(),
  // NULL means no such limit, as for keys.
  rateLimitPerMinute: integer("rate_limit_per_minute"),
  tpmLimit: integer("tpm_limit"),
  maxParallel: integer("max_parallel"),
  budgetNanoUsd: integer("budget_nano_usd"),
  budgetPeriod: text("budget_period").notNull().default("month"),
  /** Requests are admitted only while the balance (credits minus all spend) covers them. */
  prepaid: integer("prepaid", { mode: "boolean" }).notNull().default(false),
  /** Bumped whenever a key joins or leaves the customer: its counters start again from the database. */
  membersVersion: integer("members_version").notNull().default(0),
  /** Automatic refill: at each period's start the balance is topped up to this amount (one ledger entry). */
  refillNanoUsd: integer("refill_nano_usd"),
  refillPeriod: text("refill_period"),
  /** The start of the last period refilled (claimed by whichever server got there first). */
  refilledFrom: integer("refilled_from"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  /** Who is making the change being written (audit log); the database's trigger records it and clears it. */
  auditActor: text("audit_actor"),
});

/**
 * Every change to keys, customers, credits and hand-over links, written by the database's triggers (so a
 * direct UPDATE is recorded too, by actor 'database'), append-only. `before`/`after` are JSON objects of
 * the row's fields, never a key value, hash or lookup digest.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
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

/**
 * The webhook outbox: each event once, written in the transaction of the change that caused it (key events by
 * a trigger on audit_log) or, for state the server watches (budgets, balances, expiry), under a `dedupe`
 * name that makes it once per period and threshold whichever server notices first.
 */
export const webhookEvents = sqliteTable("webhook_events", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  type: text("type").notNull(),
  /** What it is about (key:ID, customer:ID, provider:NAME): deliveries of one subject go in order. */
  subject: text("subject").notNull(),
  dedupe: text("dedupe").unique(),
  data: text("data").notNull(),
  createdAt: integer("created_at").notNull(),
});

/** One event's delivery to one configured endpoint: pending (with its next attempt), delivered or failed. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    eventId: integer("event_id").notNull(),
    endpoint: text("endpoint").notNull(),
    subject: text("subject").notNull(),
    status: text("status").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAt: integer("next_at").notNull(),
    /** A sender claimed it until then (another may take it after: the sender died mid-delivery). */
    leaseUntil: integer("lease_until"),
    lastError: text("last_error"),
    doneAt: integer("done_at"),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.endpoint] }), index("webhook_deliveries_due_idx").on(t.status, t.nextAt), index("webhook_deliveries_order_idx").on(t.endpoint, t.subject, t.eventId)],
);

/** Per endpoint, the last event handed out as deliveries. */
export const webhookCursors = sqliteTable("webhook_cursors", {
  endpoint: text("endpoint").primaryKey(),
  lastEventId: integer("last_event_id").notNull(),
});

/** A customer's credits: top-ups (positive) and adjustments (negative), append-only, integer nano-dollars. */
export const creditLedger = sqliteTable(
  "credit_ledger",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    customerId: text("customer_id").notNull(),
    amountNanoUsd: integer("amount_nano_usd").notNull(),
    note: text("note"),
    /** Who added it: cli, admin-api, dashboard. */
    actor: text("actor").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("credit_ledger_customer_idx").on(t.customerId)],
);

/** One row per request that reached an upstream. Money is integer nano-dollars so sums never drift. */
export const usage = sqliteTable(
  "usage",
  {
    // No AUTOINCREMENT: its sqlite_sequence row added a page to the WAL on every commit. Ids stay monotonic
    // because the newest row is never deleted (the roll-up watermark relies on that).
    id: integer("id").primaryKey(),
    // Not unique (a client may reuse its x-request-id) and not indexed (random ids make every insert slower).
    requestId: text("request_id").notNull(),
    keyId: text("key_id")
      .notNull()
      .references(() => apiKeys.id),
    modelRequested: text("model_requested").notNull(),
    modelAnswered: text("model_answered"),
    provider: text("provider").notNull(),
    promptTokens: integer("prompt_tokens").notNull(),
    completionTokens: integer("completion_tokens").notNull(),
    cachedTokens: integer("cached_tokens"),
    reasoningTokens: integer("reasoning_tokens"),
    costNanoUsd: integer("cost_nano_usd"),
    estimated: integer("estimated", { mode: "boolean" }).notNull(),
    upstreamStatus: integer("upstream_status").notNull(),
    latencyMs: integer("latency_ms").notNull(),
    streamed: integer("streamed", { mode: "boolean" }).notNull(),
    createdAt: integer("created_at").notNull(),
    /** Upstream attempts it took (retries after connection failures or 429/5xx). */
    attempts: integer("attempts").notNull().default(1),
    /** The provider's id of a Responses API answer: GET/DELETE /v1/responses/{id} go to the provider that served it. */
    responseId: text("response_id"),
    /** Prompt tokens written to the provider's prompt cache (Anthropic's cache_creation_input_tokens), part of prompt_tokens. */
    cacheWriteTokens: integer("cache_write_tokens"),
    /** The upstream reported more than the request could use (its bound): the cost is the bound's, the tokens as reported. */
    overBound: integer("over_bound", { mode: "boolean" }).notNull().default(false),
    /** Answered from the response cache: cost 0, the tokens as first reported, the cost it saved in saved_nano_usd. */
    cacheHit: integer("cache_hit", { mode: "boolean" }).notNull().default(false),
    savedNanoUsd: integer("saved_nano_usd"),
  },
  (t) => [
    index("usage_key_created_idx").on(t.keyId, t.createdAt),
    index("usage_created_idx").on(t.createdAt),
    // Partial: chat and embeddings rows (no response id) add nothing to it.
    index("usage_response_idx").on(t.responseId).where(sql`response_id IS NOT NULL`),
  ],
);

// Daily roll-ups of `usage` (day = days since the Unix epoch, UTC). Rows with id > rollup_state.last_usage_id
// are folded into them, and the watermark advanced, in one transaction (the server's writer folds the rows
// it wrote from memory every 250 ms; a background job folds any others), so roll-ups + rows above the
// watermark always equal the raw rows exactly.
// Three grains keep every report small: per key and model (filtered reports), per key (all keys by
// key), per model (all keys by model or day).
const rollupColumns = {
  requests: integer("requests").notNull(),
  promptTokens: integer("prompt_tokens").notNull(),
  completionTokens: integer("completion_tokens").notNull(),
  /** Sum of the known costs; requests with unknown cost are counted in `unpricedRequests`. */
  costNanoUsd: integer("cost_nano_usd").notNull(),
  unpricedRequests: integer("unpriced_requests").notNull(),
  estimatedRequests: integer("estimated_requests").notNull(),
  /** Requests answered from the response cache, and what they would have cost. */
  cacheHits: integer("cache_hits").notNull().default(0),
  savedNanoUsd: integer("saved_nano_usd").notNull().default(0),
};

export const usageDaily = sqliteTable(
  "usage_daily",
  { day: integer("day").notNull(), keyId: text("key_id").notNull(), model: text("model").notNull(), ...rollupColumns },
  (t) => [primaryKey({ columns: [t.day, t.keyId, t.model] }), index("usage_daily_key_day_idx").on(t.keyId, t.day), index("usage_daily_model_day_idx").on(t.model, t.day)],
);

export const usageDailyKey = sqliteTable(
  "usage_daily_key",
  { day: integer("day").notNull(), keyId: text("key_id").notNull(), ...rollupColumns },
  (t) => [primaryKey({ columns: [t.day, t.keyId] })],
);

export const usageDailyModel = sqliteTable(
  "usage_daily_model",
  { day: integer("day").notNull(), model: text("model").notNull(), ...rollupColumns },
  (t) => [primaryKey({ columns: [t.day, t.model] })],
);

/** The response cache (cache/): an answer in the customer's API by its cache key, until it expires; the oldest go first past the size cap. */
export const responseCache = sqliteTable(
  "response_cache",
  {
    key: text("key").primaryKey(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    bytes: integer("bytes").notNull(),
    value: text("value").notNull(),
  },
  (t) => [index("response_cache_created_idx").on(t.createdAt), index("response_cache_expires_idx").on(t.expiresAt)],
);

/** One row: the highest usage id already folded into the roll-ups. */
// The output items of Responses API answers (message, reasoning, function call ids): an input's
// item_reference is forwarded only for the key whose answer created the item. `tokens` is that answer's
// completion tokens, an upper bound of what referencing the item adds to a prompt.
export const responseItems = sqliteTable(
  "response_items",
  {
    itemId: text("item_id").primaryKey(),
    keyId: text("key_id").notNull(),
    tokens: integer("tokens").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("response_items_created_idx").on(t.createdAt)],
);

export const rollupState = sqliteTable("rollup_state", {
  id: integer("id").primaryKey(),
  lastUsageId: integer("last_usage_id").notNull(),
});

/** Small facts about the database itself, e.g. the fingerprint of the lookup secret it was created with. */
export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

export type ApiKey = typeof apiKeys.$inferSelect;
export type UsageRow = typeof usage.$inferInsert;

/**
 * Failed requests per minute, by kind (refused by the gateway, upstream error, unreachable, timeout) and
 * provider ("" for refusals): what the dashboard draws over time. Refusals and unreachable providers
 * leave no usage row, so they are counted here (added up in memory, written every few seconds).
 */
export const failures = sqliteTable(
  "failures",
  { minute: integer("minute").notNull(), kind: text("kind").notNull(), provider: text("provider").notNull(), count: integer("count").notNull() },
  (t) => [primaryKey({ columns: [t.minute, t.kind, t.provider] })],
);
