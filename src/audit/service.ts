// The audit log as the CLI, the admin API and the dashboard show it: each entry's changed fields only,
// money in USD and times as ISO dates — never a key value, hash or digest (the triggers never copy them).
import { UserError } from "../errors.ts";
import { formatUsd } from "../admission/money.ts";
import { parseDuration } from "../keys/validate.ts";
import type { AuditRow, AuditStore } from "./store.ts";

export interface AuditEntry {
  id: number;
  at: string;
  /** cli:USER@HOST, admin:NAME, dashboard:NAME, refill, 'link from ADDRESS', or database (a direct change). */
  actor: string;
  /** key.created|updated|disabled|enabled|rotated|deleted|claimed, customer.created|updated|disabled|enabled|deleted, credits.added */
  action: string;
  subject: { type: string; id: string; name: string };
  /** Each field that changed: its value before and after (null: none, or not there before/after). */
  changes: Record<string, { before: unknown; after: unknown }>;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `before` for the next (older) page; null at the end. */
  next_before: number | null;
}

const TIME_FIELDS = new Set(["expires_at", "deleted_at", "previous_valid_until", "claimed_at"]);

/** A field as shown: nano-dollars as a USD string (budget_nano_usd → budget_usd), times as ISO dates. */
function shown(field: string, value: unknown): [string, unknown] {
  if (field.endsWith("_nano_usd")) return [field.replace(/_nano_usd$/, "_usd"), typeof value === "number" ? formatUsd(value) : value];
  if (TIME_FIELDS.has(field) && typeof value === "number") return [field, new Date(value).toISOString()];
  if (field === "is_active" || field === "prepaid") return [field, value === null ? null : Boolean(value)];
  return [field, value];
}

function parse(json: string | null): Record<string, unknown> {
  return json === null ? {} : (JSON.parse(json) as Record<string, unknown>);
}

export function toEntry(row: AuditRow): AuditEntry {
  const changes = changesOf(parse(row.before), parse(row.after));
  return { id: row.id, at: new Date(row.at).toISOString(), actor: row.actor, action: row.action, subject: { type: row.subjectType, id: row.subjectId, name: row.subjectName }, changes };
}

/** The fields whose value differs between two versions of a row, as shown. */
export function changesOf(before: Record<string, unknown> | null, after: Record<string, unknown> | null): AuditEntry["changes"] {
  before ??= {};
  after ??= {};
  const changes: AuditEntry["changes"] = {};
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = before[field] ?? null;
    const a = after[field] ?? null;
    if (JSON.stringify(b) === JSON.stringify(a)) continue;
    const [name, bv] = shown(field, b);
    changes[name] = { before: bv, after: shown(field, a)[1] };
  }
  return changes;
}

/** `since`: a duration back from now (7d, 12h) or an ISO date. */
export function parseSince(since: string, now: number): number {
  const ago = parseDuration(since);
  if (ago !== null) return now - ago;
  const at = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(since.trim()) ? `${since.trim()}T00:00:00Z` : since);
  if (!Number.isFinite(at)) throw new UserError(`since must be a duration such as 7d or 12h, or an ISO date such as 2026-12-01, got '${since}'`);
  return at;
}

export function createAuditService({ store, clock = Date.now }: { store: AuditStore; clock?: () => number }) {
  return {
    async list({ since, subject, limit, before }: { since?: string; subject?: string; limit?: unknown; before?: unknown } = {}): Promise<AuditPage> {
      const n = limit === undefined ? 100 : Number(limit);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UserError(`limit must be a whole number from 1 to 1000, got '${String(limit)}'`);
      const beforeId = before === undefined || before === "" ? undefined : Number(before);
      if (beforeId !== undefined && (!Number.isSafeInteger(beforeId) || beforeId < 1)) throw new UserError(`before must be an entry id (next_before of the previous page), got '${String(before)}'`);
      const rows = await store.list({ since: since === undefined ? undefined : parseSince(since, clock()), subject: subject?.trim() || undefined, beforeId, limit: n + 1 });
      const page = rows.slice(0, n);
      return { entries: page.map(toEntry), next_before: rows.length > n ? page[page.length - 1]!.id : null };
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
