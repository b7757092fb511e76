import { DAY_MS, isoDay, type TimeRange } from "./time-range.ts";

export type GroupBy = "key" | "model" | "day" | "customer";

export interface ReportQuery extends TimeRange {
  groupBy: GroupBy;
  keyId?: string;
  model?: string;
}

export interface Totals {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Exact sum of the known costs, integer nano-dollars; null when no request of the group had a price. */
  cost_nano_usd: number | null;
  cost_usd: number | null;
  /** Requests whose model had no price: counted here, not priced at zero in the cost. */
  unpriced_requests: number;
  /** Requests whose tokens were estimated (no usage reported upstream, or client disconnect). */
  estimated_requests: number;
  /** Requests answered from the response cache (cost 0), and what they would have cost. */
  cache_hits: number;
  saved_nano_usd: number;
  saved_usd: number;
}

export interface ReportRow extends Totals {
  key_id?: string;
  key_name?: string | null;
  /** group_by=customer: the customer of the keys (null: keys without one). */
  customer_id?: string | null;
  customer_name?: string | null;
  model?: string;
  day?: string;
}

export interface UsageReport {
  from: string;
  to: string;
  group_by: GroupBy;
  rows: ReportRow[];
  total: Totals;
}

export interface RawRow {
  g: string | number;
  key_name: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
  unpriced: number;
  estimated: number;
  hits: number;
  saved: number;
}

// A customer's rows are its keys' rows: grouped by key first, then by the keys' customer.
const GROUP_COLUMN: Record<GroupBy, string> = { key: "key_id", model: "model", day: "day", customer: "key_id" };

/** What the report's SQL says differently per dialect. */
export interface ReportDialect {
  /** An exact sum that cannot overflow, as a number. */
  sum(expr: string): string;
  /** A boolean expression or column as 0/1. */
  flag(expr: string): string;
}

/**
 * The report's one statement (`?` placeholders). `folded`: the roll-up watermark, when rows above it
 * are not in the roll-ups yet (SQLite; PostgreSQL updates them with the rows).
 */
export function reportQuery(q: ReportQuery, dialect: ReportDialect, folded?: number): { sql: string; params: (string | number)[] } {
  const firstFullDay = Math.ceil(q.from / DAY_MS);
  const endFullDay = Math.floor(q.to / DAY_MS);
  const parts: string[] = [];
  const params: (string | number)[] = [];
  const filters = (keyCol: string, modelCol: string) => {
    let sql = "";
    if (q.keyId !== undefined) {
      sql += ` AND ${keyCol} = ?`;
      params.push(q.keyId);
    }
    if (q.model !== undefined) {
      sql += ` AND ${modelCol} = ?`;
      params.push(q.model);
    }
    return sql;
  };
  const raw = (from: number, to: number, aboveId?: number) => {
    // Rows above the watermark are found by rowid range; NOT INDEXED stops the planner from walking the
    // created_at index across the whole range instead.
    const source = aboveId === undefined ? "usage WHERE " : "usage NOT INDEXED WHERE id > ? AND ";
    if (aboveId !== undefined) params.push(aboveId);
    params.push(from, to);
    parts.push(
      `SELECT created_at / ${DAY_MS} AS day, key_id, model_requested AS model, 1 AS requests, prompt_tokens, completion_tokens,
              coalesce(cost_nano_usd, 0) AS cost_nano_usd, ${dialect.flag("cost_nano_usd IS NULL")} AS unpriced_requests, ${dialect.flag("estimated")} AS estimated_requests,
              ${dialect.flag("cache_hit")} AS cache_hits, coalesce(saved_nano_usd, 0) AS saved_nano_usd
       FROM ${source}created_at >= ? AND created_at < ?${filters("key_id", "model_requested")}`,
    );
  };
  if (firstFullDay < endFullDay) {
    // The smallest roll-up that still has the columns this report groups and filters by.
    const [table, keyCol, modelCol] =
      q.keyId !== undefined || q.model !== undefined
        ? ["usage_daily", "key_id", "model"]
        : q.groupBy === "key" || q.groupBy === "customer"
          ? ["usage_daily_key", "key_id", "NULL"]
          : ["usage_daily_model", "NULL", "model"];
    params.push(firstFullDay, endFullDay);
    parts.push(
      `SELECT day, ${keyCol} AS key_id, ${modelCol} AS model, requests, prompt_tokens, completion_tokens, cost_nano_usd, unpriced_requests, estimated_requests, cache_hits, saved_nano_usd
       FROM ${table} WHERE day >= ? AND day < ?${filters("key_id", "model")}`,
    );
    // Rows not yet folded into the roll-ups (above the watermark), read in the same statement and so
    // the same snapshot as the roll-ups.
    if (folded !== undefined) raw(firstFullDay * DAY_MS, endFullDay * DAY_MS, folded);
    if (q.from < firstFullDay * DAY_MS) raw(q.from, firstFullDay * DAY_MS);
    if (endFullDay * DAY_MS < q.to) raw(endFullDay * DAY_MS, q.to);
  } else {
    raw(q.from, q.to);
  }
  const col = GROUP_COLUMN[q.groupBy];
  const sum = dialect.sum;
  const sql = `
    SELECT r.g, ${q.groupBy === "key" ? "k.name" : "NULL"} AS key_name, r.requests, r.prompt_tokens, r.completion_tokens, r.cost, r.unpriced, r.estimated, r.hits, r.saved
    FROM (
      SELECT ${col} AS g, ${sum("requests")} AS requests, ${sum("prompt_tokens")} AS prompt_tokens, ${sum("completion_tokens")} AS completion_tokens,
             ${sum("cost_nano_usd")} AS cost, ${sum("unpriced_requests")} AS unpriced, ${sum("estimated_requests")} AS estimated,
             ${sum("cache_hits")} AS hits, ${sum("saved_nano_usd")} AS saved
      FROM (${parts.join(" UNION ALL ")}) AS parts GROUP BY ${col}
    ) r ${q.groupBy === "key" ? "LEFT JOIN api_keys k ON k.id = r.g" : ""}
    ORDER BY ${q.groupBy === "day" ? "r.g" : "r.cost DESC, r.requests DESC, r.g"}`;
  if (q.groupBy !== "customer") return { sql, params };
  const byCustomer = `
    SELECT k.customer_id AS g, min(c.name) AS key_name, ${sum("r.requests")} AS requests, ${sum("r.prompt_tokens")} AS prompt_tokens, ${sum("r.completion_tokens")} AS completion_tokens,
           ${sum("r.cost")} AS cost, ${sum("r.unpriced")} AS unpriced, ${sum("r.estimated")} AS estimated,
           ${sum("r.hits")} AS hits, ${sum("r.saved")} AS saved
    FROM (${sql}) r LEFT JOIN api_keys k ON k.id = r.g LEFT JOIN customers c ON c.id = k.customer_id
    GROUP BY k.customer_id ORDER BY cost DESC, requests DESC, g`;
  return { sql: byCustomer, params };
}

/** The report from its statement's rows. */
export function shapeReport(q: ReportQuery, found: RawRow[]): UsageReport {
  const sum = { requests: 0, prompt_tokens: 0, completion_tokens: 0, cost: 0, unpriced: 0, estimated: 0, hits: 0, saved: 0 };
  const rows = found.map((r): ReportRow => {
    const totals = toTotals(r);
    sum.requests += r.requests;
    sum.prompt_tokens += r.prompt_tokens;
    sum.completion_tokens += r.completion_tokens;
    sum.cost += r.cost;
    sum.unpriced += r.unpriced;
    sum.estimated += r.estimated;
    sum.hits += r.hits;
    sum.saved += r.saved;
    if (q.groupBy === "key") return { key_id: String(r.g), key_name: r.key_name, ...totals };
    if (q.groupBy === "model") return { model: String(r.g), ...totals };
    if (q.groupBy === "customer") return { customer_id: r.g === null ? null : String(r.g), customer_name: r.key_name, ...totals };
    return { day: isoDay(Number(r.g)), ...totals };
  });
  const total = toTotals({ g: "", key_name: null, ...sum });
  return { from: new Date(q.from).toISOString(), to: new Date(q.to).toISOString(), group_by: q.groupBy, rows, total };
}

/** A group whose requests all lack a price has no cost (null), never a fake zero. */
function toTotals(r: RawRow): Totals {
  const unknown = r.requests > 0 && r.unpriced === r.requests;
  return {
    requests: r.requests,
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    cost_nano_usd: unknown ? null : r.cost,
    cost_usd: unknown ? null : nanoToUsd(r.cost),
    unpriced_requests: r.unpriced,
    estimated_requests: r.estimated,
    cache_hits: r.hits,
    saved_nano_usd: r.saved,
    saved_usd: nanoToUsd(r.saved),
  };
}

export function nanoToUsd(nano: number): number {
  return nano / 1e9;
}
