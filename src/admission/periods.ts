/** A budget's period: calendar periods in UTC, or `total` (never resets). */
export type BudgetPeriod = "day" | "week" | "month" | "total";

export const BUDGET_PERIODS: readonly BudgetPeriod[] = ["day", "week", "month", "total"];

export function isBudgetPeriod(v: unknown): v is BudgetPeriod {
  return typeof v === "string" && (BUDGET_PERIODS as readonly string[]).includes(v);
}

/** The period containing `now`: its start (inclusive) and end (exclusive; null for `total`). */
export function periodBounds(period: BudgetPeriod, now: number): { start: number; end: number | null } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = Date.UTC(y, m, d.getUTCDate());
  switch (period) {
    case "day":
      return { start: day, end: day + 86_400_000 };
    case "week": {
      // Monday 00:00 UTC: getUTCDay() is 0 on Sunday.
      const start = day - ((d.getUTCDay() + 6) % 7) * 86_400_000;
      return { start, end: start + 7 * 86_400_000 };
    }
    case "month":
      return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
    case "total":
      return { start: 0, end: null };
  }
}
