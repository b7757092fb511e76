// TypeBox schemas shared by routes for validation and the OpenAPI document.
import { t, type TSchema } from "elysia";
import { anthropicErrorType } from "../errors.ts";

type Example = [status: number, message: string, type: string, code: string, param?: string];

// One real example per status, as this gateway answers it.
const CUSTOMER_EXAMPLES: Example[] = [
  [400, "Missing required parameter: 'messages'.", "invalid_request_error", "missing_required_parameter", "messages"],
  [401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"],
  [403, "This API key has been disabled. Contact the gateway operator.", "invalid_request_error", "api_key_disabled"],
  [404, "The model 'gpt-5-turbo' does not exist or is not routed by this gateway.", "invalid_request_error", "model_not_found", "model"],
  [408, "The request body did not arrive within 30000 ms.", "invalid_request_error", "request_timeout"],
  [413, "Request body is larger than the limit of 10485760 bytes.", "invalid_request_error", "request_too_large"],
  [429, "Rate limit reached for this API key: 60 requests per minute. Retry after the window resets.", "requests", "rate_limit_exceeded"],
  [502, "The upstream provider 'openai' could not be reached.", "upstream_error", "upstream_unavailable"],
  [503, "The request was not forwarded because usage cannot be recorded right now (database file ./gateway.db was deleted). Retry later.", "server_error", "usage_not_recorded"],
  [504, "The upstream provider 'openai' did not answer within 600000 ms.", "upstream_error", "upstream_timeout"],
];

const ADMIN_EXAMPLES: Example[] = [
  [400, "rate limit must be a positive integer (requests per minute), got '0'", "invalid_request_error", "invalid_value"],
  [401, "Invalid or missing admin token. Send 'Authorization: Bearer <GATEWAY_ADMIN_TOKEN>'.", "invalid_request_error", "invalid_admin_token"],
  [404, "no key named or with id 'customer-acme'", "invalid_request_error", "not_found"],
  [409, "a key named 'customer-acme-corp' already exists", "invalid_request_error", "conflict"],
  [413, "Request body is larger than the limit of 65536 bytes.", "invalid_request_error", "request_too_large"],
  [429, "Too many failed admin authentications from this address; retry after the minute ends.", "requests", "rate_limit_exceeded"],
];

function errorSchema([status, message, type, code, param]: Example) {
  const example = { error: { message, type, param: param ?? null, code } };
  return t.Object(
    {
      error: t.Object({
        message: t.String(),
        type: t.String(),
        param: t.Union([t.String(), t.Null()]),
        code: t.Union([t.String(), t.Null()]),
      }),
    },
    { description: `OpenAI-shaped error (HTTP ${status})`, example, examples: [example] },
  );
}

function anthropicErrorSchema([status, message]: Example) {
  const example = { type: "error", error: { type: anthropicErrorType(status), message } };
  return t.Object(
    { type: t.Literal("error"), error: t.Object({ type: t.String(), message: t.String() }) },
    { description: `Anthropic-shaped error (HTTP ${status})`, example, examples: [example] },
  );
}

type ErrorSchemas = Record<number, TSchema>;

function pick(table: Example[], statuses: number[], schema: (e: Example) => TSchema = errorSchema): ErrorSchemas {
  return Object.fromEntries(
    statuses.map((s) => {
      const example = table.find((e) => e[0] === s);
      if (!example) throw new Error(`no documented example for HTTP ${s}`);
      return [s, schema(example)];
    }),
  );
}

/** Error responses of an Anthropic Messages API operation. */
export function anthropicErrors(...statuses: number[]): ErrorSchemas {
  return pick(CUSTOMER_EXAMPLES, statuses, anthropicErrorSchema);
}

/** Error responses of a customer operation, each with its own real example. */
export function errors(...statuses: number[]): ErrorSchemas {
  return pick(CUSTOMER_EXAMPLES, statuses);
}

/** Error responses of an admin operation, each with its own real example. */
export function adminErrors(...statuses: number[]): ErrorSchemas {
  return pick(ADMIN_EXAMPLES, statuses);
}

const nullable = <T extends TSchema>(schema: T) => t.Union([schema, t.Null()]);

export const KeyInfoSchema = t.Object({
  id: t.String({ format: "uuid" }),
  name: t.String(),
  rate_limit_per_minute: t.Integer({ minimum: 1 }),
  is_active: t.Boolean(),
  budget_usd: nullable(t.String({ description: "Spend limit per period in US dollars (exact decimal)", examples: ["25.50"] })),
  budget_period: t.Union([t.Literal("day"), t.Literal("week"), t.Literal("month"), t.Literal("total")]),
  tpm_limit: nullable(t.Integer({ description: "Prompt + completion tokens per minute" })),
  max_parallel: nullable(t.Integer({ description: "Requests in flight at once" })),
  expires_at: nullable(t.String({ format: "date-time" })),
  allowed_models: nullable(t.Array(t.String(), { description: "Glob patterns of the models the key may use" })),
  allowed_ips: nullable(t.Array(t.String(), { description: "CIDR blocks the key may be used from (others: 403 ip_not_allowed)", examples: [["10.0.0.0/8"]] })),
  max_output_tokens: nullable(t.Integer({ description: "Most output tokens a request may ask for: larger asks are lowered to it, a request without one gets it" })),
  cache_ttl_s: nullable(t.Integer({ description: "Seconds the key's deterministic answers are kept in the response cache (null: only requests sending x-gateway-cache-ttl are cached)" })),
  hint: nullable(t.String({ description: "The key value's last 4 characters, to trace a leaked value to its key (null for keys made before hints)", examples: ["…Ab3x"] })),
  customer: nullable(t.String({ description: "The customer the key belongs to (its name): a request must fit the customer's limits too", examples: ["acme-corp"] })),
  spent_usd: t.String({ description: "Spent in the current budget period; for a key without a budget, this calendar month (UTC)" }),
  last_used_at: nullable(t.String({ format: "date-time", description: "The key's latest recorded request (a day's start once its rows passed usage_retention_days); null when never used" })),
  budget_resets_at: nullable(t.String({ format: "date-time" })),
  created_at: t.String({ format: "date-time" }),
  updated_at: t.String({ format: "date-time" }),
  deleted_at: t.Optional(t.String({ format: "date-time" })),
});

/** The per-key settings accepted by create and update; null clears one. */
export const KeySettingsFields = {
  rate_limit_per_minute: t.Optional(t.Integer({ description: "Requests per minute (default 60)", examples: [200] })),
  budget_usd: t.Optional(nullable(t.Union([t.String(), t.Number()], { description: "Spend limit per period, US dollars", examples: ["25.50"] }))),
  budget_period: t.Optional(t.Union([t.Literal("day"), t.Literal("week"), t.Literal("month"), t.Literal("total")], { description: "Default month (calendar, UTC)" })),
  tpm_limit: t.Optional(nullable(t.Integer({ description: "Tokens per minute (prompt + completion)" }))),
  max_parallel: t.Optional(nullable(t.Integer({ description: "Requests in flight at once" }))),
  expires_at: t.Optional(nullable(t.String({ description: "ISO date-time with zone, or a duration such as 30d", examples: ["2027-01-01T00:00:00Z"] }))),
  allowed_models: t.Optional(nullable(t.Array(t.String(), { description: "Glob patterns (* and ?)", examples: [["gpt-4o*", "claude-*"]] }))),
  allowed_ips: t.Optional(nullable(t.Array(t.String(), { description: "CIDR blocks, IPv4 and IPv6", examples: [["10.0.0.0/8", "2001:db8::/32"]] }))),
  max_output_tokens: t.Optional(nullable(t.Integer({ description: "Most output tokens a request may ask for", examples: [4096] }))),
  cache_ttl: t.Optional(nullable(t.Integer({ description: "Seconds (1 to 2592000) the key's deterministic answers are kept in the response cache; null turns it off", examples: [3600] }))),
  customer: t.Optional(nullable(t.String({ description: "The customer's name or id (null: no customer)", examples: ["acme-corp"] }))),
};

export const CreatedKeySchema = t.Composite([
  KeyInfoSchema,
  t.Object({
    key: t.Optional(t.String({ description: "The plain key. Shown only in this response (absent with `share`)." })),
    claim_url: t.Optional(t.String({ description: "With `share`: the one-time link that shows the key to whoever opens it first" })),
    claim_expires_at: t.Optional(t.String({ format: "date-time" })),
  }),
]);

export const RotatedKeySchema = t.Composite([
  CreatedKeySchema,
  t.Object({ previous_valid_until: t.Union([t.String({ format: "date-time" }), t.Null()], { description: "Until when the old value still works" }) }),
]);

const totals = {
  requests: t.Integer(),
  prompt_tokens: t.Integer(),
  completion_tokens: t.Integer(),
  cost_nano_usd: t.Union([t.Integer(), t.Null()], { description: "Exact sum of known costs in nano-dollars (1e-9 USD); null when none of the requests had a price" }),
  cost_usd: t.Union([t.Number(), t.Null()]),
  unpriced_requests: t.Integer({ description: "Requests whose model had no known price (not included in the cost)" }),
  estimated_requests: t.Integer({ description: "Requests whose tokens were estimated with a tokenizer" }),
  cache_hits: t.Integer({ description: "Requests answered from the response cache (cost 0)" }),
  saved_nano_usd: t.Integer({ description: "What the cached answers would have cost, in nano-dollars" }),
  saved_usd: t.Number(),
};

export const ReportSchema = t.Object({
  from: t.String({ format: "date-time" }),
  to: t.String({ format: "date-time" }),
  group_by: t.Union([t.Literal("key"), t.Literal("model"), t.Literal("day"), t.Literal("customer")]),
  rows: t.Array(
    t.Object({
      key_id: t.Optional(t.String()),
      key_name: t.Optional(t.Union([t.String(), t.Null()])),
      customer_id: t.Optional(t.Union([t.String(), t.Null()], { description: "group_by=customer: null for keys without a customer" })),
      customer_name: t.Optional(t.Union([t.String(), t.Null()])),
      model: t.Optional(t.String()),
      day: t.Optional(t.String({ format: "date" })),
      ...totals,
    }),
  ),
  total: t.Object(totals),
});

export const RequestsPageSchema = t.Object({
  data: t.Array(
    t.Object({
      request_id: t.String(),
      key_id: t.String(),
      key_name: t.Union([t.String(), t.Null()]),
      model_requested: t.String(),
      model_answered: t.Union([t.String(), t.Null()]),
      provider: t.String(),
      prompt_tokens: t.Integer(),
      completion_tokens: t.Integer(),
      cached_tokens: t.Union([t.Integer(), t.Null()]),
      reasoning_tokens: t.Union([t.Integer(), t.Null()]),
      cost_nano_usd: t.Union([t.Integer(), t.Null()]),
      cost_usd: t.Union([t.Number(), t.Null()]),
      estimated: t.Boolean(),
      upstream_status: t.Integer(),
      latency_ms: t.Integer(),
      streamed: t.Boolean(),
      created_at: t.String({ format: "date-time" }),
    }),
  ),
  next_cursor: t.Union([t.String(), t.Null()]),
});

export const ModelSchema = t.Object({ id: t.String(), object: t.Literal("model"), created: t.Integer(), owned_by: t.String({ description: "The provider that serves it" }) });

export const ModelListSchema = t.Object({ object: t.Literal("list"), data: t.Array(ModelSchema) });

/** One model as Anthropic's API describes it (what its SDKs, which send anthropic-version, are given). */
export const AnthropicModelSchema = t.Object({ type: t.Literal("model"), id: t.String(), display_name: t.String(), created_at: t.String({ format: "date-time" }) });

const dateParam = (what: string) =>
  t.Optional(t.String({ description: `${what}: ISO date (UTC midnight) or date-time with zone`, examples: ["2026-11-01"] }));

export const RangeQuery = { from: dateParam("Start, inclusive"), to: dateParam("End, exclusive") };

export const ChatCompletionSchema = t.Object(
  {
    id: t.String(),
    object: t.String({ examples: ["chat.completion"] }),
    created: t.Integer(),
    model: t.String(),
    choices: t.Array(t.Object({ index: t.Integer(), message: t.Object({ role: t.String(), content: t.Union([t.String(), t.Null()]) }), finish_reason: t.Union([t.String(), t.Null()]) })),
    usage: t.Optional(t.Object({ prompt_tokens: t.Integer(), completion_tokens: t.Integer(), total_tokens: t.Integer() })),
  },
  {
    additionalProperties: true,
    description: "The provider's chat completion, unchanged. With stream: true, a text/event-stream of chat.completion.chunk events ending in 'data: [DONE]'.",
  },
);

export const EmbeddingListSchema = t.Object(
  {
    object: t.Literal("list"),
    data: t.Array(t.Object({ object: t.String({ examples: ["embedding"] }), index: t.Integer(), embedding: t.Union([t.Array(t.Number()), t.String()]) })),
    model: t.String(),
    usage: t.Optional(t.Object({ prompt_tokens: t.Integer(), total_tokens: t.Integer() })),
  },
  { additionalProperties: true, description: "The provider's embeddings, unchanged." },
);

export const ResponseObjectSchema = t.Object(
  { id: t.String(), object: t.String({ examples: ["response"] }), model: t.String(), status: t.Optional(t.String()) },
  { additionalProperties: true, description: "The provider's response object, unchanged." },
);

export const MessageSchema = t.Object(
  {
    id: t.String(),
    type: t.Literal("message"),
    role: t.Literal("assistant"),
    model: t.String(),
    content: t.Array(t.Object({ type: t.String() }, { additionalProperties: true })),
    stop_reason: t.Union([t.String(), t.Null()]),
    usage: t.Object({ input_tokens: t.Integer(), output_tokens: t.Integer() }, { additionalProperties: true }),
  },
  { additionalProperties: true },
);
