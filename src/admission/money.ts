import { UserError } from "../errors.ts";

/** The largest budget: $9,000,000 keeps nano-dollar sums exact in a double. */
export const MAX_BUDGET_NANO = 9_000_000 * 1e9;

/** "25.50" (or 25.5) dollars as integer nano-dollars, exactly (no floating-point rounding). */
export function parseUsd(value: unknown, what = "budget"): number {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : typeof value === "string" ? value.trim() : "";
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) throw new UserError(`${what} must be an amount in US dollars such as 25.50, got '${String(value)}'`);
  const nano = Number(m[1]) * 1e9 + Number((m[2] ?? "").padEnd(9, "0"));
  if (nano <= 0) throw new UserError(`${what} must be more than 0`);
  if (nano > MAX_BUDGET_NANO) throw new UserError(`${what} must be at most ${MAX_BUDGET_NANO / 1e9} dollars`);
  return nano;
}

/** Integer nano-dollars as a decimal dollar string: 25500000000 -> "25.50", 1 -> "0.000000001". */
export function formatUsd(nano: number): string {
  const sign = nano < 0 ? "-" : "";
  const abs = Math.abs(Math.round(nano));
  const whole = Math.floor(abs / 1e9);
  const frac = String(abs % 1e9).padStart(9, "0").replace(/0+$/, "").padEnd(2, "0");
  return `${sign}${whole}.${frac}`;
}
