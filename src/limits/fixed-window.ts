/** Outcome of one rate-limit check, with what the x-ratelimit-* headers report. */
export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the current window ends. */
  resetMs: number;
}

const WINDOW_MS = 60_000;

/**
 * In-process fixed-window limiter, windows aligned to the clock minute. Check and increment happen
 * in one synchronous step, so concurrent requests can never both take the last slot. The limit is
 * passed on every call (read live from the key's row), so a re-limit applies immediately.
 */
export function createFixedWindowLimiter(clock: () => number = Date.now) {
  const windows = new Map<string, { start: number; count: number }>();
  let lastSweep = 0;

  /**
   * Takes one request from the key's window; with `count` false only reports where it stands; "refund"
   * gives back one taken this window (a request another limit refused right after).
   */
  return function take(id: string, limit: number, count: Take = true): LimitDecision {
    const now = clock();
    const start = now - (now % WINDOW_MS);
    if (start !== lastSweep) {
      // Once per window: forget keys idle since an earlier window, so memory follows active keys only.
      for (const [k, w] of windows) if (w.start !== start) windows.delete(k);
      lastSweep = start;
    }
    let w = windows.get(id);
    if (!w) {
      w = { start, count: 0 };
      windows.set(id, w);
    }
    const resetMs = start + WINDOW_MS - now;
    if (count === "refund") w.count = Math.max(0, w.count - 1);
    if (count !== true) return { allowed: true, limit, remaining: Math.max(0, limit - w.count), resetMs };
    if (w.count >= limit) return { allowed: false, limit, remaining: 0, resetMs };
    w.count++;
    return { allowed: true, limit, remaining: limit - w.count, resetMs };
  };
}

export type Limiter = ReturnType<typeof createFixedWindowLimiter>;

/** Count the request, only look (false), or give back one counted this window ("refund"). */
export type Take = boolean | "refund";

/** x-ratelimit-* headers in OpenAI's names and duration format ("12s"). */
export function rateLimitHeaders(d: LimitDecision): Record<string, string> {
  return {
    "x-ratelimit-limit-requests": String(d.limit),
    "x-ratelimit-remaining-requests": String(d.remaining),
    "x-ratelimit-reset-requests": `${Math.max(1, Math.ceil(d.resetMs / 1000))}s`,
  };
}
