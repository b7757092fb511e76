import { Elysia, t, type TSchema } from "elysia";
import { FAILURE_KINDS } from "../observe/failures.ts";
import { adminErrors } from "../docs/schemas.ts";
import type { MetricsView } from "../observe/metrics.ts";
import type { OverviewQuery } from "./overview.ts";

const Series = t.Array(t.Number());
const Kinds = <T extends TSchema>(s: T) => Object.fromEntries(FAILURE_KINDS.map((k) => [k, s])) as Record<(typeof FAILURE_KINDS)[number], T>;
const Unpriced = t.Integer({ description: "Requests whose model had no price: not in cost_usd" });

/** GET /admin/overview: the dashboard's first page in one call (admin token checked before routing). */
export function dashboardRoutes({ usage, metrics, clock = Date.now }: { usage: OverviewQuery; metrics: MetricsView; clock?: () => number }) {
  return new Elysia({ name: "dashboard-routes" }).get(
    "/admin/overview",
    async () => ({ ...(await usage.overview(clock())), refusals: await metrics.refusalCounts() }),
    {
      response: {
        200: t.Object({
          today: t.Object({ requests: t.Integer(), cost_usd: t.Number(), unpriced: Unpriced, errors: t.Integer({ description: "Requests the provider failed (or could not be reached for)" }) }),
          month: t.Object({ requests: t.Integer(), cost_usd: t.Number(), unpriced: Unpriced, saved_usd: t.Number({ description: "What answers from the response cache would have cost" }) }),
          days: t.Array(t.String({ format: "date" })),
          by_model: t.Array(t.Object({ name: t.String(), cost_usd: Series })),
          by_key: t.Array(t.Object({ id: t.String(), name: t.String(), cost_usd: Series })),
          by_customer: t.Array(t.Object({ id: t.Union([t.String(), t.Null()]), name: t.String(), cost_usd: Series }), { description: "Keys without a customer together (id null)" }),
          top_keys: t.Array(t.Object({ id: t.String(), name: t.String(), requests: t.Integer(), cost_usd: t.Number(), unpriced: Unpriced })),
          top_models: t.Array(t.Object({ name: t.String(), requests: t.Integer(), cost_usd: t.Number(), unpriced: Unpriced })),
          refusals: t.Record(t.String(), t.Number(), { description: "Refusals by reason since the server started" }),
          failures: t.Object(
            {
              hours: t.Array(t.String({ format: "date-time" }), { description: "The last 24 hours' starts, oldest first" }),
              by_kind: t.Object(Kinds(Series)),
              today: t.Object(Kinds(t.Integer())),
            },
            { description: "Failed requests by kind (refused by the gateway, upstream error, unreachable, timeout), from every instance, including those that left no usage row" },
          ),
        }),
        ...adminErrors(401),
      },
      detail: { tags: ["Admin"], summary: "Dashboard overview: spend today and this month, 30 days of spend by model and key, top keys and models, refusals", security: [{ adminToken: [] }] },
    },
  );
}
