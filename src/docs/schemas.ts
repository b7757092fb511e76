// TypeBox schemas shared by routes for validation and the OpenAPI document.
import { t } from "elysia";

export const ErrorSchema = t.Object(
  {
    error: t.Object({
      message: t.String(),
      type: t.String({ examples: ["invalid_request_error"] }),
      param: t.Union([t.String(), t.Null()]),
      code: t.Union([t.String(), t.Null()], { examples: ["invalid_api_key"] }),
    }),
  },
  { description: "OpenAI-shaped error", examples: [{ error: { message: "Incorrect API key provided.", type: "invalid_request_error", param: null, code: "invalid_api_key" } }] },
);

/** Standard error responses for an operation. */
export function errors(...statuses: number[]): Record<number, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorSchema]));
}

export const KeyInfoSchema = t.Object({
  id: t.String({ format: "uuid" }),
  name: t.String(),
  rate_limit_per_minute: t.Integer({ minimum: 1 }),
  is_active: t.Boolean(),
  created_at: t.String({ format: "date-time" }),
  updated_at: t.String({ format: "date-time" }),
});

export const CreatedKeySchema = t.Composite([KeyInfoSchema, t.Object({ key: t.String({ description: "The plain key. Shown only in this response." }) })]);

const totals = {
  requests: t.Integer(),
  prompt_tokens: t.Integer(),
  completion_tokens: t.Integer(),
  cost_nano_usd: t.Integer({ description: "Exact sum of known costs in nano-dollars (1e-9 USD)" }),
  cost_usd: t.Number(),
  unpriced_requests: t.Integer({ description: "Requests whose model had no known price (not included in the cost)" }),
  estimated_requests: t.Integer({ description: "Requests whose tokens were estimated with a tokenizer" }),
};

export const ReportSchema = t.Object({
  from: t.String({ format: "date-time" }),
  to: t.String({ format: "date-time" }),
  group_by: t.Union([t.Literal("key"), t.Literal("model"), t.Literal("day")]),
  rows: t.Array(
    t.Object({
      key_id: t.Optional(t.String()),
      key_name: t.Optional(t.Union([t.String(), t.Null()])),
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

export const ModelListSchema = t.Object({
  object: t.Literal("list"),
  data: t.Array(t.Object({ id: t.String(), object: t.Literal("model"), created: t.Integer(), owned_by: t.String() })),
});

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
