import { defineCommand } from "citty";
import type { AuditEntry } from "../../src/audit/service.ts";
import { dbArgs, parseStrict } from "../args.ts";
import { withAudit } from "../context.ts";
import { printTable } from "../table.ts";

const value = (v: unknown) => (v === null || v === undefined ? "-" : typeof v === "string" ? v : JSON.stringify(v));

/** The changed fields on one line: "budget_usd: 10.00 → 20.00, is_active: true → false". */
export function changesLine(e: AuditEntry): string {
  return Object.entries(e.changes)
    .map(([field, c]) => (c.before === null ? `${field}: ${value(c.after)}` : `${field}: ${value(c.before)} → ${value(c.after)}`))
    .join(", ");
}

export const audit = defineCommand({
  meta: {
    name: "audit",
    description: "Who changed which key, customer or credit, and what: newest first. Example: gateway audit --since 7d --subject acme-corp",
  },
  args: {
    since: { type: "string", description: "Only this far back: a duration (7d, 12h) or an ISO date (2026-12-01)", valueHint: "WHEN" },
    subject: { type: "string", description: "Only entries about this key or customer (name or id)", valueHint: "NAME" },
    limit: { type: "string", description: "At most this many entries (default 100, up to 1000)", valueHint: "N" },
    json: { type: "boolean", description: "Print JSON for scripts" },
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { flags } = parseStrict(rawArgs, cmd.args as never);
    const page = await withAudit(flags, (a) => a.list({ since: flags.since as string | undefined, subject: flags.subject as string | undefined, limit: flags.limit }));
    if (flags.json) return void console.log(JSON.stringify(page.entries, null, 2));
    if (page.entries.length === 0) return void console.log("No changes recorded in that range.");
    printTable(["AT", "ACTOR", "ACTION", "SUBJECT", "CHANGES"], page.entries.map((e) => [e.at, e.actor, e.action, e.subject.name, changesLine(e)]));
    if (page.next_before !== null) console.log(`(more: narrow with --since or --subject, or raise --limit)`);
  },
});
