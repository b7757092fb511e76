import { UserError } from "../errors.ts";
import { hasHiddenCharacters } from "../text.ts";

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
