// Usage as CSV for invoicing: a report (one row per group and a total row), and request rows streamed
// page by page so a year of them never sits in memory.
import type { UsageQueries } from "./queries.ts";
import type { UsageReport, ReportRow, Totals } from "./analytics.ts";
import type { RequestRecord, RequestsQuery } from "./requests.ts";

/** One CSV field: quoted when needed; a leading =, +, - or @ is defused so a spreadsheet never runs it as a formula. */
export function csvField(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return "";
  let s = String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const line = (fields: (string | number | boolean | null | undefined)[]) => `${fields.map(csvField).join(",")}\r\n`;

const TOTAL_COLUMNS = ["requests", "prompt_tokens", "completion_tokens", "cost_usd", "unpriced_requests", "estimated_requests", "cache_hits", "saved_usd"] as const;
const totals = (t: Totals) =>
  TOTAL_COLUMNS.map((c) => (c === "cost_usd" ? (t.cost_nano_usd === null ? null : (t.cost_nano_usd / 1e9).toFixed(9)) : c === "saved_usd" ? (t.saved_nano_usd / 1e9).toFixed(9) : t[c]));

export function reportCsv(report: UsageReport): string {
  const group: Record<UsageReport["group_by"], [string[], (r: ReportRow) => (string | null | undefined)[]]> = {
    key: [["key_id", "key_name"], (r) => [r.key_id, r.key_name]],
    model: [["model"], (r) => [r.model]],
    day: [["day"], (r) => [r.day]],
    customer: [["customer_id", "customer_name"], (r) => [r.customer_id, r.customer_name]],
  };
  const [columns, values] = group[report.group_by];
  let out = line(["from", "to", ...columns, ...TOTAL_COLUMNS]);
  for (const r of report.rows) out += line([report.from, report.to, ...values(r), ...totals(r)]);
  out += line([report.from, report.to, "TOTAL", ...columns.slice(1).map(() => ""), ...totals(report.total)]);
  return out;
}

const REQUEST_COLUMNS: (keyof RequestRecord)[] = [
  "created_at", "request_id", "key_id", "key_name", "model_requested", "model_answered", "provider", "prompt_tokens", "completion_tokens",
  "cached_tokens", "reasoning_tokens", "cost_usd", "estimated", "upstream_status", "latency_ms", "streamed",
];

/**
 * Request rows of a range, newest first, as a CSV stream read 500 rows at a time; other requests are
 * served between pages (a reader that keeps up would otherwise chain every page in one turn of the loop).
 */
export function requestsCsv(usage: UsageQueries, q: Omit<RequestsQuery, "limit" | "cursor">): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor: string | undefined;
  let started = false;
  return new ReadableStream({
    async pull(controller) {
      if (started) await new Promise((resolve) => setImmediate(resolve));
      let out = started ? "" : line(REQUEST_COLUMNS);
      started = true;
      const page = await usage.requests({ ...q, limit: 500, cursor });
      for (const r of page.data) out += line(REQUEST_COLUMNS.map((c) => (c === "cost_usd" && r.cost_nano_usd !== null ? (r.cost_nano_usd / 1e9).toFixed(9) : r[c])));
      controller.enqueue(encoder.encode(out));
      if (page.next_cursor === null) controller.close();
      else cursor = page.next_cursor;
    },
  });
}
