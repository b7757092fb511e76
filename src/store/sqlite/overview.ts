// SQLite's read of the dashboard's overview: one snapshot of the roll-ups plus the rows not yet folded.
import type { Db } from "./client.ts";
import { DAY_MS } from "../../usage/time-range.ts";
import { type Cell, ERRORS_TODAY_SQL, type Overview, buildOverview, overviewDays } from "../../dashboard/overview.ts";

export function overview(db: Db, now: number): Omit<Overview, "failures"> {
  const { from, today } = overviewDays(now);
  return db.$client.transaction(() => {
    const cells = db.$client
      .query<Cell, [number, number]>(
        `SELECT c.day, c.key_id, k.name AS key_name, k.customer_id, cu.name AS customer_name, c.model, sum(c.requests) AS requests, sum(c.cost) AS cost, sum(c.unpriced) AS unpriced, sum(c.saved) AS saved FROM (
           SELECT day, key_id, model, requests, cost_nano_usd AS cost, unpriced_requests AS unpriced, saved_nano_usd AS saved FROM usage_daily WHERE day >= ?1
           UNION ALL
           SELECT created_at / ${DAY_MS}, key_id, model_requested, 1, coalesce(cost_nano_usd, 0), cost_nano_usd IS NULL, coalesce(saved_nano_usd, 0) FROM usage
           WHERE id > (SELECT last_usage_id FROM rollup_state WHERE id = 1) AND created_at >= ?1 * ${DAY_MS}
         ) c LEFT JOIN api_keys k ON k.id = c.key_id LEFT JOIN customers cu ON cu.id = k.customer_id
         WHERE c.day <= ?2 GROUP BY c.day, c.key_id, c.model`,
      )
      .all(from, today);
    const errors = db.$client.query<{ n: number }, [number]>(ERRORS_TODAY_SQL).get(today * DAY_MS)!.n;
    return buildOverview(cells, errors, now);
  }).deferred();
}
