import type { SQL } from "bun";
import { pgFailures } from "../failures.ts";
import { buildOverview, ERRORS_TODAY_SQL, overviewDays, type Cell } from "../../dashboard/overview.ts";
import { reportQuery, shapeReport, type RawRow, type ReportDialect } from "../../usage/analytics.ts";
import { requestsQuery, shapeRequests, type RequestRow } from "../../usage/requests.ts";
import { DAY_MS } from "../../usage/time-range.ts";
import { numbered } from "./sql-text.ts";
import type { OverviewQuery } from "../../dashboard/overview.ts";
import type { UsageQueries } from "../../usage/queries.ts";

// sum() of bigint is numeric: as float8 it arrives as a number, exact below 2^53.
const PG_SQL: ReportDialect = { sum: (e) => `sum(${e})::float8`, flag: (e) => `(${e})::int` };

/** Bun returns bigint columns as strings: these become numbers. */
function numbers<T>(rows: Record<string, unknown>[], columns: readonly string[]): T[] {
  for (const r of rows) for (const c of columns) if (r[c] !== null && r[c] !== undefined) r[c] = Number(r[c]);
  return rows as T[];
}

const REQUEST_NUMBERS = ["id", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "cost_nano_usd", "created_at"] as const;

/**
 * Usage reads of PostgreSQL. The roll-ups are updated in the transaction that inserts the rows, so a
 * report reads whole days from them and partial days from the rows, in one statement (one snapshot).
 */
export function pgUsageQueries(sql: SQL): UsageQueries & OverviewQuery {
  return {
    async report(q) {
      const { sql: text, params } = reportQuery(q, PG_SQL);
      const rows = await sql.unsafe(numbered(text), params);
      return shapeReport(q, rows as RawRow[]);
    },
    async requests(q) {
      const { sql: text, params } = requestsQuery(q);
      return shapeRequests(q, numbers<RequestRow>(await sql.unsafe(numbered(text), params), REQUEST_NUMBERS));
    },
    async overview(now) {
      const { from, today } = overviewDays(now);
      const [cells, errors] = await sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => [
        await tx.unsafe(
          `SELECT d.day, d.key_id, k.name AS key_name, k.customer_id, cu.name AS customer_name, d.model, sum(d.requests)::float8 AS requests, sum(d.cost_nano_usd)::float8 AS cost, sum(d.unpriced_requests)::float8 AS unpriced, sum(d.saved_nano_usd)::float8 AS saved
           FROM usage_daily d LEFT JOIN api_keys k ON k.id = d.key_id LEFT JOIN customers cu ON cu.id = k.customer_id
           WHERE d.day >= $1 AND d.day <= $2 GROUP BY d.day, d.key_id, k.name, k.customer_id, cu.name, d.model`,
          [from, today],
        ),
        await tx.unsafe(numbered(ERRORS_TODAY_SQL), [today * DAY_MS]),
      ]);
      return { ...buildOverview(cells as Cell[], Number((errors as { n: string }[])[0]!.n), now), failures: await pgFailures(sql).recent(now) };
    },
    async itemTokens(itemIds, keyId) {
      const unique = [...new Set(itemIds)];
      const [row] = (await sql`SELECT count(*)::int AS n, coalesce(sum(tokens), 0)::bigint AS tokens FROM response_items WHERE key_id = ${keyId} AND item_id = ANY(${sql.array(unique)})`) as { n: number; tokens: string | number }[];
      return row && row.n === unique.length ? Number(row.tokens) : undefined;
    },
    async storedResponse(responseId, keyId) {
      const [row] = (await sql`SELECT provider, prompt_tokens + completion_tokens AS tokens FROM usage WHERE response_id = ${responseId} AND key_id = ${keyId} LIMIT 1`) as { provider: string; tokens: string | number }[];
      return row && { provider: row.provider, tokens: Number(row.tokens) };
    },
  };
}
