import { Elysia, t } from "elysia";
import type { UsageQueries } from "./queries.ts";
import { ApiError } from "../errors.ts";
import { adminErrors, errors, RangeQuery, ReportSchema, RequestsPageSchema } from "../docs/schemas.ts";
import type { CustomerGate } from "../keys/auth.ts";
import { reportCsv, requestsCsv } from "./csv.ts";
import { parseTimeRange } from "./time-range.ts";

export interface UsageRoutesOptions {
  usage: UsageQueries;
  gate: CustomerGate;
}

const ADMIN_GROUPS = t.Optional(t.Union([t.Literal("key"), t.Literal("model"), t.Literal("day"), t.Literal("customer")], { description: "Grouping (default key)" }));
const FORMAT = t.Optional(t.Union([t.Literal("json"), t.Literal("csv")], { description: "json (default) or csv (a file: the report with a TOTAL row; request rows streamed, all of the range)" }));

function csvResponse(body: string | ReadableStream<Uint8Array>, filename: string): Response {
  return new Response(body, { headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${filename}"` } });
}

const CUSTOMER_GROUPS = t.Optional(t.Union([t.Literal("model"), t.Literal("day")], { description: "Grouping (default model)" }));

/** Cost analytics: all keys for admins, one's own key for customers. */
export function usageRoutes(opts: UsageRoutesOptions) {
  return new Elysia({ name: "usage-routes" }).use(adminUsageRoutes(opts)).use(customerUsageRoutes(opts));
}

function adminUsageRoutes({ usage }: UsageRoutesOptions) {
  return (
    // The admin token was checked before routing (app.ts).
    new Elysia({ name: "admin-usage-routes" })
    .get(
      "/admin/usage",
      async ({ query }) => {
        const report = await usage.report({
          ...parseTimeRange(query.from, query.to),
          groupBy: query.group_by ?? "key",
          keyId: query.key_id,
          model: query.model,
        });
        if (query.format !== "csv") return report;
        // A Response is passed through as it is; the 200 schema documents the JSON answer.
        return csvResponse(reportCsv(report), `usage-by-${report.group_by}.csv`) as unknown as typeof report;
      },
      {
        query: t.Object({ ...RangeQuery, group_by: ADMIN_GROUPS, key_id: t.Optional(t.String()), model: t.Optional(t.String()), format: FORMAT }),
        response: { 200: ReportSchema, ...adminErrors(400, 401) },
        detail: {
          tags: ["Admin"],
          summary: "Usage and cost report, grouped by key, model or UTC day",
          description: "Default range: the last 30 days. `to` is exclusive. Requests with unknown cost are counted in `unpriced_requests`, not priced at zero.",
          security: [{ adminToken: [] }],
        },
      },
    )
    .get(
      "/admin/usage/requests",
      ({ query }) => {
        const range = parseTimeRange(query.from, query.to);
        const filters = { ...range, keyId: query.key_id, model: query.model, status: query.status };
        if (query.format === "csv") return csvResponse(requestsCsv(usage, filters), "requests.csv");
        return usage.requests({ ...filters, limit: parseLimit(query.limit), cursor: query.cursor });
      },
      {
        query: t.Object({
          ...RangeQuery,
          format: FORMAT,
          key_id: t.Optional(t.String()),
          model: t.Optional(t.String({ description: "Only this requested model" })),
          status: t.Optional(t.Union([t.Literal("ok"), t.Literal("error")], { description: "ok: the provider answered 2xx/3xx; error: it did not" })),
          limit: t.Optional(t.String({ description: "Page size, 1-1000 (default 100)", examples: ["100"] })),
          cursor: t.Optional(t.String({ description: "next_cursor from the previous page" })),
        }),
        response: { 200: RequestsPageSchema, ...adminErrors(400, 401) },
        detail: { tags: ["Admin"], summary: "Individual request records, newest first, cursor-paginated", security: [{ adminToken: [] }] },
      },
    )
  );
}

function customerUsageRoutes({ usage, gate }: UsageRoutesOptions) {
  return new Elysia({ name: "customer-usage-routes" })
    .derive(async ({ request, set }) => ({ customer: await gate(request, set.headers, { counted: false }) }))
    .get(
      "/v1/usage",
      ({ query, customer }) => usage.report({ ...parseTimeRange(query.from, query.to), groupBy: query.group_by ?? "model", keyId: customer.id }),
      {
        query: t.Object({ ...RangeQuery, group_by: CUSTOMER_GROUPS }),
        response: { 200: ReportSchema, ...errors(400, 401, 403, 429) },
        detail: { tags: ["Customer"], summary: "Your own usage and cost, grouped by model or UTC day", security: [{ customerKey: [] }] },
      },
    )
    .get(
      "/v1/usage/requests",
      ({ query, customer }) => usage.requests({ ...parseTimeRange(query.from, query.to), keyId: customer.id, limit: parseLimit(query.limit), cursor: query.cursor }),
      {
        query: t.Object({
          ...RangeQuery,
          limit: t.Optional(t.String({ description: "Page size, 1-1000 (default 100)", examples: ["50"] })),
          cursor: t.Optional(t.String({ description: "next_cursor from the previous page" })),
        }),
        response: { 200: RequestsPageSchema, ...errors(400, 401, 403, 429) },
        detail: { tags: ["Customer"], summary: "Your own requests with their tokens and cost, newest first, cursor-paginated", security: [{ customerKey: [] }] },
      },
    );
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 100;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new ApiError(400, "Invalid 'limit': expected an integer from 1 to 1000.", "invalid_request_error", "invalid_value", "limit");
  }
  return n;
}
