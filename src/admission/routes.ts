import { Elysia, t } from "elysia";
import { errors } from "../docs/schemas.ts";
import type { CustomerGate } from "../keys/auth.ts";
import type { Admission } from "./admit.ts";

const nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()]);

const CustomerViewSchema = t.Object(
  {
    id: t.String(),
    name: t.String(),
    rate_limit_per_minute: nullable(t.Integer({ description: "Requests per minute, all the customer's keys together" })),
    tpm_limit: nullable(t.Integer()),
    tokens_remaining_this_minute: nullable(t.Integer()),
    max_parallel: nullable(t.Integer()),
    in_flight: t.Integer({ description: "Requests of all the customer's keys in flight now" }),
    budget_usd: nullable(t.String()),
    budget_period: t.String(),
    spent_usd: nullable(t.String()),
    reserved_usd: nullable(t.String()),
    remaining_usd: nullable(t.String()),
    budget_resets_at: nullable(t.String({ format: "date-time" })),
    prepaid: t.Boolean({ description: "Requests are admitted only while the balance covers them" }),
    balance_usd: nullable(t.String({ description: "Credits minus every cost recorded", examples: ["41.20"] })),
  },
  { description: "The customer the key belongs to: a request must fit its limits too" },
);

export const KeyViewSchema = t.Object({
  id: t.String(),
  name: t.String(),
  rate_limit_per_minute: t.Integer(),
  tpm_limit: nullable(t.Integer()),
  tokens_remaining_this_minute: nullable(t.Integer()),
  max_parallel: nullable(t.Integer()),
  in_flight: t.Integer(),
  budget_usd: nullable(t.String({ examples: ["25.00"] })),
  budget_period: t.String({ examples: ["month"] }),
  spent_usd: nullable(t.String({ examples: ["21.80"] })),
  reserved_usd: nullable(t.String({ description: "Held by requests still running" })),
  remaining_usd: nullable(t.String({ examples: ["3.20"] })),
  period_start: nullable(t.String({ format: "date-time" })),
  budget_resets_at: nullable(t.String({ format: "date-time" })),
  expires_at: nullable(t.String({ format: "date-time" })),
  allowed_models: nullable(t.Array(t.String())),
  max_output_tokens: nullable(t.Integer({ description: "The most output tokens a request may ask for (larger asks are lowered to it)" })),
  customer: nullable(CustomerViewSchema),
  balance_usd: nullable(t.String({ description: "A prepaid customer's balance (credits minus every cost recorded)" })),
});

/** GET /v1/key: a customer's own key, its limits and what is left of its budget. */
export function keyRoutes({ gate, admission }: { gate: CustomerGate; admission: Admission }) {
  return new Elysia({ name: "key-routes" }).get(
    "/v1/key",
    async ({ request, set }) => admission.describe(await gate(request, set.headers, { counted: false })),
    {
      response: { 200: KeyViewSchema, ...errors(401, 403) },
      detail: {
        tags: ["Customer"],
        summary: "Your key: limits, budget spent and left this period, expiry, allowed models (does not count against the request limit)",
        security: [{ customerKey: [] }],
      },
    },
  );
}
