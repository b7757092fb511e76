import { UserError } from "../errors.ts";
import { hasHiddenCharacters } from "../text.ts";
import { MAX_CACHE_TTL_S } from "../cache/policy.ts";

export const MAX_RATE_LIMIT = 1_000_000_000;

export function validateName(name: unknown): string {
  if (typeof name !== "string" || name.trim() === "") throw new UserError("key name must not be empty");
  if (name !== name.trim()) throw new UserError("key name must not start or end with whitespace");
  if (name.length > 200) throw new UserError("key name must be at most 200 characters");
  if (hasHiddenCharacters(name)) throw new UserError("key name must not contain control or invisible formatting characters (such as bidi overrides)");
  return name;
}

/** Keys travel in an HTTP header, so only visible ASCII is accepted. */
export function validatePlainKey(key: unknown): string {
  if (typeof key !== "string" || key.trim() === "") throw new UserError("key must not be empty or whitespace");
  if (!/^[\x21-\x7e]+$/.test(key)) throw new UserError("key must be visible ASCII characters without spaces");
  if (key.length < 8) throw new UserError("key must be at least 8 characters");
  if (key.length > 256) throw new UserError("key must be at most 256 characters");
  return key;
}

/** Accepts a number or a decimal string; anything but a positive integer is refused. */
export function validateRateLimit(value: unknown): number {
  const n = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) {
    throw new UserError(`rate limit must be a positive integer (requests per minute), got '${String(value)}'`);
  }
  if (n > MAX_RATE_LIMIT) throw new UserError(`rate limit must be at most ${MAX_RATE_LIMIT}`);
  return n;
}

/** A new random key: 32 random bytes, base64url, with a recognisable prefix. */
export function generateKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `gw-${Buffer.from(bytes).toString("base64url")}`;
}

/** A positive integer setting (tokens per minute, requests in flight). */
export function validatePositiveInt(value: unknown, what: string, max = MAX_RATE_LIMIT): number {
  const n = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) throw new UserError(`${what} must be a positive integer, got '${String(value)}'`);
  if (n > max) throw new UserError(`${what} must be at most ${max}`);
  return n;
}

const DURATION = /^(\d+)(m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "30d", "12h", "90m", "2w" as milliseconds; null when `value` is not such a duration. */
export function parseDuration(value: string): number | null {
  const m = DURATION.exec(value.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : null;
}

/** A response cache TTL: whole seconds (a number), or a duration such as 90m, 1h, 7d; at most 30 days. */
export function validateCacheTtl(value: unknown): number {
  const seconds = typeof value === "number" ? value : typeof value === "string" ? (parseDuration(value) ?? NaN) / 1000 : NaN;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_CACHE_TTL_S) throw new UserError(`cache TTL must be a duration such as 1h or 7d (seconds from 1 to ${MAX_CACHE_TTL_S} in the API), got '${String(value)}'`);
  return seconds;
}

/** An expiry: an ISO date-time with a zone (or a date, UTC midnight), or a duration from now such as 30d. */
export function validateExpiry(value: unknown, now: number): number {
  if (typeof value !== "string" || value.trim() === "") throw new UserError(`expiry must be an ISO date-time such as 2027-01-01T00:00:00Z or a duration such as 30d, got '${String(value)}'`);
  const duration = parseDuration(value);
  if (duration !== null) return now + duration;
  const text = value.trim();
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) throw new UserError(`expiry must be an ISO date-time with a zone such as 2027-01-01T00:00:00Z, or a duration such as 30d, got '${value}'`);
  return ms;
}

/** A model allow-list: glob patterns as an array or a comma-separated string; visible characters only. */
export function validateModelList(value: unknown): string {
  const items = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : null;
  if (!items) throw new UserError("allowed models must be a list of model patterns such as 'gpt-4o*,claude-*'");
  const patterns = items.map((p) => (typeof p === "string" ? p.trim() : "")).filter((p) => p !== "");
  if (patterns.length === 0) throw new UserError("allowed models must name at least one model pattern (use --all-models / null to allow every model)");
  for (const p of patterns) {
    if (p.length > 256 || p.includes(",") || hasHiddenCharacters(p) || /\s/.test(p)) throw new UserError(`invalid model pattern '${p}'`);
  }
  return patterns.join(",");
}
