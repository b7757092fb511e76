// /admin/customers: the customer service of the CLI over HTTP, with the same validation and errors.
import { Elysia, t } from "elysia";
import { adminErrors } from "../docs/schemas.ts";
import { adminActor } from "../keys/admin-auth.ts";
import type { CustomerService, CustomerSettings } from "./service.ts";

const security = [{ adminToken: [] }];
const nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()]);
const period = t.Union([t.Literal("day"), t.Literal("week"), t.Literal("month"), t.Literal("total")]);

export const CustomerInfoSchema = t.Object({
  id: t.String({ format: "uuid" }),
  name: t.String(),
  is_active: t.Boolean(),
  rate_limit_per_minute: nullable(t.Integer({ description: "Requests per minute, all its keys together" })),
  tpm_limit: nullable(t.Integer()),
  max_parallel: nullable(t.Integer()),
  budget_usd: nullable(t.String({ examples: ["500.00"] })),
  budget_period: period,
  prepaid: t.Boolean({ description: "Requests are admitted only while the balance covers their worst case" }),
  spent_usd: t.String({ description: "Its keys' spend this budget period (this month without a budget)" }),
  budget_resets_at: nullable(t.String({ format: "date-time" })),
  balance_usd: nullable(t.String({ description: "Credits minus every cost recorded (null: no credits and not prepaid)" })),
  keys: t.Integer({ description: "Keys that belong to it (not deleted)" }),
  refill_usd: nullable(t.String({ description: "At each refill period's start the balance is topped up to this" })),
  refill_period: nullable(t.Union([t.Literal("day"), t.Literal("week"), t.Literal("month")])),
  created_at: t.String({ format: "date-time" }),
  updated_at: t.String({ format: "date-time" }),
});

const CreditsSchema = t.Object({
  customer: t.String(),
  balance_usd: t.String(),
  credits_usd: t.String(),
  spent_usd: t.String(),
  ledger: t.Array(t.Object({ id: t.Integer(), amount_usd: t.String(), note: nullable(t.String()), actor: t.String(), created_at: t.String({ format: "date-time" }) })),
});

const settings = {
  rate_limit_per_minute: t.Optional(nullable(t.Integer())),
  tpm_limit: t.Optional(nullable(t.Integer())),
  max_parallel: t.Optional(nullable(t.Integer())),
  budget_usd: t.Optional(nullable(t.Union([t.String(), t.Number()], { examples: ["500"] }))),
  budget_period: t.Optional(period),
  prepaid: t.Optional(t.Boolean()),
  refill_usd: t.Optional(nullable(t.Union([t.String(), t.Number()], { examples: ["100"] }))),
  refill_period: t.Optional(t.Union([t.Literal("day"), t.Literal("week"), t.Literal("month")])),
};

function settingsOf(body: Record<string, unknown>): CustomerSettings {
  return { rateLimitPerMinute: body.rate_limit_per_minute, tpmLimit: body.tpm_limit, maxParallel: body.max_parallel, budgetUsd: body.budget_usd, budgetPeriod: body.budget_period, prepaid: body.prepaid, refillUsd: body.refill_usd, refillPeriod: body.refill_period };
}

const idParam = t.Object({ id: t.String({ description: "Customer id (or name)" }) });

export function adminCustomerRoutes({ customers, retryWrites: write }: { customers: CustomerService; retryWrites: <T>(fn: () => T | Promise<T>) => Promise<T> }) {
  return new Elysia({ name: "admin-customer-routes" })
    .get("/admin/customers", () => customers.list(), {
      response: { 200: t.Array(CustomerInfoSchema), ...adminErrors(401) },
      detail: { tags: ["Admin"], summary: "List customers: limits, spend, balance, keys", security },
    })
    .post(
      "/admin/customers",
      async ({ body, set, request }) => {
        const created = await write(() => customers.create({ name: body.name, ...settingsOf(body) }, adminActor(request)));
        set.status = 201;
        return created;
      },
      {
        body: t.Object({ name: t.String({ examples: ["acme-corp"] }), ...settings }, { additionalProperties: false }),
        response: { 201: CustomerInfoSchema, ...adminErrors(400, 401, 409) },
        detail: { tags: ["Admin"], summary: "Create a customer (give it keys with the keys' `customer` field)", security },
      },
    )
    .get("/admin/customers/:id", ({ params }) => customers.get(params.id), {
      params: idParam,
      response: { 200: CustomerInfoSchema, ...adminErrors(401, 404) },
      detail: { tags: ["Admin"], summary: "Get one customer", security },
    })
    .patch("/admin/customers/:id", ({ params, body, request }) => write(() => customers.update(params.id, { name: body.name, isActive: body.is_active, ...settingsOf(body) }, adminActor(request))), {
      params: idParam,
      body: t.Object({ name: t.Optional(t.String()), is_active: t.Optional(t.Boolean({ description: "false: every key of it is refused (403 customer_disabled)" })), ...settings }, { additionalProperties: false }),
      response: { 200: CustomerInfoSchema, ...adminErrors(400, 401, 404, 409) },
      detail: { tags: ["Admin"], summary: "Rename, re-limit, disable or enable a customer (null clears a limit)", security },
    })
    .delete("/admin/customers/:id", ({ params, request }) => write(() => customers.delete(params.id, adminActor(request))), {
      params: idParam,
      response: { 200: CustomerInfoSchema, ...adminErrors(401, 404, 409) },
      detail: { tags: ["Admin"], summary: "Delete a customer that has no keys left", security },
    })
    .get("/admin/customers/:id/credits", ({ params }) => customers.credits(params.id), {
      params: idParam,
      response: { 200: CreditsSchema, ...adminErrors(401, 404) },
      detail: { tags: ["Admin"], summary: "A customer's balance and credit ledger", security },
    })
    .post(
      "/admin/customers/:id/credits",
      async ({ params, body, set, request }) => {
        const v = await write(() => customers.addCredits(params.id, { amountUsd: body.amount_usd, note: body.note, by: adminActor(request) }));
        set.status = 201;
        return v;
      },
      {
        params: idParam,
        body: t.Object({ amount_usd: t.Union([t.String(), t.Number()], { description: "US dollars; negative for an adjustment", examples: ["50"] }), note: t.Optional(t.String({ examples: ["invoice 42"] })) }, { additionalProperties: false }),
        response: { 201: CreditsSchema, ...adminErrors(400, 401, 404) },
        detail: { tags: ["Admin"], summary: "Add credits (or an adjustment) to a customer's ledger", security },
      },
    );
}
