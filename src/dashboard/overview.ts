// What the dashboard's overview shows, in one read: spend and requests today and this month, the error
// rate today, spend per day for 30 days by model and by key, top keys and models. Whole days come from
// the daily roll-up plus the rows not yet folded into it, like every report.
import { DAY_MS } from "../usage/time-range.ts";
import type { FailureSeries } from "./failures.ts";

export interface Overview {
  /** `unpriced`: requests whose model had no price (not in cost_usd, never counted as zero). */
  today: { requests: number; cost_usd: number; unpriced: number; errors: number };
  /** `saved_usd`: what answers from the response cache would have cost. */
  month: { requests: number; cost_usd: number; unpriced: number; saved_usd: number };
  /** UTC days (YYYY-MM-DD), oldest first, and per model / per key the cost of each day. */
  days: string[];
  by_model: { name: string; cost_usd: number[] }[];
  by_key: { id: string; name: string; cost_usd: number[] }[];
  /** Per customer (keys without one together, id null). */
  by_customer: { id: string | null; name: string; cost_usd: number[] }[];
  top_keys: { id: string; name: string; requests: number; cost_usd: number; unpriced: number }[];
  top_models: { name: string; requests: number; cost_usd: number; unpriced: number }[];
  /** Failed requests of the last 24 hours by kind, including those that left no usage row. */
  failures: FailureSeries;
}

/** What the dashboard's first page needs from a database; each dialect implements it (src/store/). */
export interface OverviewQuery {
  overview(now: number): Promise<Overview>;
}

export interface Cell {
  day: number;
  key_id: string;
  key_name: string | null;
  customer_id: string | null;
  customer_name: string | null;
  model: string;
  requests: number;
  cost: number;
  unpriced: number;
  /** What answers from the response cache saved (nano-USD). */
  saved?: number;
}

/** Today (a day number) and the first day the overview reads: 30 days back or the month's start. */
export function overviewDays(now: number): { from: number; today: number } {
  const today = Math.floor(now / DAY_MS);
  return { from: Math.min(today - 29, monthStartDay(now)), today };
}

/** Requests today the provider refused or never answered (`?`: today's first millisecond). */
export const ERRORS_TODAY_SQL = "SELECT count(*) AS n FROM usage WHERE created_at >= ? AND (upstream_status >= 400 OR upstream_status = 0)";

/** The overview from its (day, key, model) cells and today's errors. */
export function buildOverview(cells: Cell[], errors: number, now: number): Omit<Overview, "failures"> {
  const today = Math.floor(now / DAY_MS);
  const first = today - 29;
  const monthStart = monthStartDay(now);
  const usd = (nano: number) => nano / 1e9;
  const days = Array.from({ length: 30 }, (_, i) => new Date((first + i) * DAY_MS).toISOString().slice(0, 10));
  const models = new Map<string, number[]>();
  const keys = new Map<string, { name: string; cost: number[] }>();
  const customers = new Map<string | null, { name: string; cost: number[] }>();
  const topKeys = new Map<string, Overview["top_keys"][number]>();
  const topModels = new Map<string, Overview["top_models"][number]>();
  const result: Omit<Overview, "failures"> = { today: { requests: 0, cost_usd: 0, unpriced: 0, errors }, month: { requests: 0, cost_usd: 0, unpriced: 0, saved_usd: 0 }, days, by_model: [], by_key: [], by_customer: [], top_keys: [], top_models: [] };
  for (const c of cells) {
    const unpriced = Number(c.unpriced ?? 0);
    if (c.day === today) {
      result.today.requests += c.requests;
      result.today.cost_usd += usd(c.cost);
      result.today.unpriced += unpriced;
    }
    if (c.day >= monthStart) {
      result.month.requests += c.requests;
      result.month.cost_usd += usd(c.cost);
      result.month.unpriced += unpriced;
      result.month.saved_usd += usd(Number(c.saved ?? 0));
    }
    if (c.day < first) continue;
    const name = c.key_name ?? c.key_id;
    const m = models.get(c.model) ?? models.set(c.model, new Array<number>(30).fill(0)).get(c.model)!;
    m[c.day - first]! += usd(c.cost);
    const k = keys.get(c.key_id) ?? keys.set(c.key_id, { name, cost: new Array<number>(30).fill(0) }).get(c.key_id)!;
    k.cost[c.day - first]! += usd(c.cost);
    const cid = c.customer_id ?? null;
    const cu = customers.get(cid) ?? customers.set(cid, { name: cid === null ? "(no customer)" : (c.customer_name ?? cid), cost: new Array<number>(30).fill(0) }).get(cid)!;
    cu.cost[c.day - first]! += usd(c.cost);
    const tk = topKeys.get(c.key_id) ?? topKeys.set(c.key_id, { id: c.key_id, name, requests: 0, cost_usd: 0, unpriced: 0 }).get(c.key_id)!;
    tk.requests += c.requests;
    tk.cost_usd += usd(c.cost);
    tk.unpriced += unpriced;
    const tm = topModels.get(c.model) ?? topModels.set(c.model, { name: c.model, requests: 0, cost_usd: 0, unpriced: 0 }).get(c.model)!;
    tm.requests += c.requests;
    tm.cost_usd += usd(c.cost);
    tm.unpriced += unpriced;
  }
  result.by_model = [...models].map(([name, cost_usd]) => ({ name, cost_usd }));
  result.by_key = [...keys].map(([id, k]) => ({ id, name: k.name, cost_usd: k.cost }));
  result.by_customer = [...customers].map(([id, c]) => ({ id, name: c.name, cost_usd: c.cost }));
  const top = <T extends { cost_usd: number; requests: number }>(xs: Iterable<T>) => [...xs].sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests).slice(0, 10);
  result.top_keys = top(topKeys.values());
  result.top_models = top(topModels.values());
  return result;
}

function monthStartDay(now: number): number {
  return Math.floor(Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1) / DAY_MS);
}
