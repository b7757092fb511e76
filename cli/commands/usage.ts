import { defineCommand } from "citty";
import { ApiError, UserError } from "../../src/errors.ts";
import type { GroupBy } from "../../src/usage/analytics.ts";
import { reportCsv } from "../../src/usage/csv.ts";
import { parseTimeRange } from "../../src/usage/time-range.ts";
import { dbArgs, parseStrict } from "../args.ts";
import { openKeys } from "../context.ts";
import { printTable } from "../table.ts";

export const usage = defineCommand({
  meta: { name: "usage", description: "Usage and cost report (same numbers as GET /admin/usage), default: last 30 days by key" },
  args: {
    key: { type: "string", description: "Only this key (name or id)", valueHint: "NAME_OR_ID" },
    from: { type: "string", description: "Start, inclusive: ISO date (UTC) or date-time, e.g. 2026-11-01", valueHint: "DATE" },
    to: { type: "string", description: "End, exclusive (default: now)", valueHint: "DATE" },
    by: { type: "string", description: "Group by key, model, day or customer (default key)", valueHint: "key|model|day|customer" },
    json: { type: "boolean", description: "Print the report as JSON" },
    csv: { type: "boolean", description: "Print the report as CSV (with a TOTAL row), for invoicing" },
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { flags } = parseStrict(rawArgs, cmd.args as never);
    const by = (flags.by as string | undefined) ?? "key";
    if (!["key", "model", "day", "customer"].includes(by)) throw new UserError(`--by must be key, model, day or customer, got '${by}'`);
    const { usage, keys, close } = await openKeys(flags);
    const keyId = flags.key === undefined ? undefined : (await keys.get(flags.key as string)).id;
    let range;
    try {
      range = parseTimeRange(flags.from as string | undefined, flags.to as string | undefined);
    } catch (err) {
      throw new UserError(err instanceof ApiError ? err.message.replace(/'(from|to)'/, "--$1") : String(err));
    }
    const report = await usage.report({ ...range, groupBy: by as GroupBy, keyId });
    await close();
    if (flags.json && flags.csv) throw new UserError("choose one of --json and --csv");
    if (flags.json) return void console.log(JSON.stringify(report, null, 2));
    if (flags.csv) return void process.stdout.write(reportCsv(report));
    console.log(`Usage ${report.from} to ${report.to} (exclusive), by ${by}`);
    const label = (r: (typeof report.rows)[number]) =>
      by === "key" ? `${r.key_name ?? "?"} (${r.key_id})` : by === "customer" ? (r.customer_id === null ? "(no customer)" : `${r.customer_name ?? "?"} (${r.customer_id})`) : by === "model" ? r.model! : r.day!;
    const usd = (nano: number | null) => (nano === null ? "—" : `$${(nano / 1e9).toFixed(6)}`);
    const cells = (name: string, t: (typeof report)["total"]) => [
      name,
      String(t.requests),
      String(t.prompt_tokens),
      String(t.completion_tokens),
      usd(t.cost_nano_usd),
      t.unpriced_requests ? String(t.unpriced_requests) : "",
    ];
    printTable(
      [by.toUpperCase(), "REQUESTS", "PROMPT TOKENS", "COMPLETION TOKENS", "COST", "UNPRICED"],
      [...report.rows.map((r) => cells(label(r), r)), cells("TOTAL", report.total)],
      [1, 2, 3, 4, 5],
    );
    if (report.total.cache_hits) console.log(`${report.total.cache_hits} request(s) were answered from the response cache, saving ${usd(report.total.saved_nano_usd)}.`);
    if (report.total.unpriced_requests) console.log(`${report.total.unpriced_requests} request(s) used models without a known price; their cost is not included.`);
  },
});
