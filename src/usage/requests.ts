import { ApiError } from "../errors.ts";
import { nanoToUsd } from "./analytics.ts";
import type { TimeRange } from "./time-range.ts";

export interface RequestsQuery extends TimeRange {
  keyId?: string;
  /** The model requested. */
  model?: string;
  /** ok: the provider answered 2xx/3xx; error: it did not (or could not be reached). */
  status?: "ok" | "error";
  limit: number;
  cursor?: string;
}

export interface RequestRecord {
  request_id: string;
  key_id: string;
  key_name: string | null;
  model_requested: string;
  model_answered: string | null;
  provider: string;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number | null;
  reasoning_tokens: number | null;
  cost_nano_usd: number | null;
  cost_usd: number | null;
  estimated: boolean;
  upstream_status: number;
  latency_ms: number;
  streamed: boolean;
  created_at: string;
}

export interface RequestsPage {
  data: RequestRecord[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

export interface RequestRow extends Omit<RequestRecord, "cost_usd" | "estimated" | "streamed" | "created_at"> {
  id: number;
  estimated: number | boolean;
  streamed: number | boolean;
  created_at: number;
}

/** The page's statement (`?` placeholders), one row more than the page to know whether another follows. */
export function requestsQuery(q: RequestsQuery): { sql: string; params: (string | number)[] } {
  const where = ["u.created_at >= ?", "u.created_at < ?"];
  const params: (string | number)[] = [q.from, q.to];
  if (q.keyId !== undefined) {
    where.push("u.key_id = ?");
    params.push(q.keyId);
  }
  if (q.model !== undefined) {
    where.push("u.model_requested = ?");
    params.push(q.model);
  }
  if (q.status !== undefined) where.push(q.status === "ok" ? "u.upstream_status BETWEEN 200 AND 399" : "(u.upstream_status >= 400 OR u.upstream_status < 200)");
  if (q.cursor !== undefined) {
    const [createdAt, id] = decodeCursor(q.cursor);
    where.push("(u.created_at < ? OR (u.created_at = ? AND u.id < ?))");
    params.push(createdAt, createdAt, id);
  }
  params.push(q.limit + 1);
  return {
    sql: `SELECT u.id, u.request_id, u.key_id, k.name AS key_name, u.model_requested, u.model_answered, u.provider, u.prompt_tokens,
              u.completion_tokens, u.cached_tokens, u.reasoning_tokens, u.cost_nano_usd, u.estimated, u.upstream_status,
              u.latency_ms, u.streamed, u.created_at
       FROM usage u LEFT JOIN api_keys k ON k.id = u.key_id
       WHERE ${where.join(" AND ")} ORDER BY u.created_at DESC, u.id DESC LIMIT ?`,
    params,
  };
}

/** The page from its statement's rows (flags as 0/1 or booleans, numbers already numbers). */
export function shapeRequests(q: RequestsQuery, rows: RequestRow[]): RequestsPage {
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    data: page.map(({ id: _id, ...r }) => ({
      ...r,
      cost_usd: r.cost_nano_usd === null ? null : nanoToUsd(r.cost_nano_usd),
      estimated: Boolean(r.estimated),
      streamed: Boolean(r.streamed),
      created_at: new Date(r.created_at).toISOString(),
    })),
    next_cursor: rows.length > q.limit && last ? encodeCursor(last.created_at, last.id) : null,
  };
}

function encodeCursor(createdAt: number, id: number): string {
  return Buffer.from(`${createdAt}.${id}`).toString("base64url");
}

function decodeCursor(cursor: string): [number, number] {
  const m = /^(\d{1,15})\.(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!m) throw new ApiError(400, "Invalid 'cursor': pass the next_cursor of a previous page.", "invalid_request_error", "invalid_value", "cursor");
  return [Number(m[1]), Number(m[2])];
}
