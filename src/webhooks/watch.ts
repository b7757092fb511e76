// The state the gateway watches for webhooks: a key's or customer's spend crossing a budget threshold, a
// prepaid balance running low or out, a key nearing its expiry. Checked every few seconds from the
// committed rows; each event is written under a dedupe name (once per period and threshold; once
// per top-up; once per expiry), so however many servers check, and whenever a check was missed (a crash,
// a restart), each event is written exactly once and none is lost.
import { formatUsd } from "../admission/money.ts";
import { isBudgetPeriod, periodBounds } from "../admission/periods.ts";
import type { KeyStore } from "../keys/store.ts";
import type { CustomerStore } from "../customers/store.ts";
import type { WebhookSettings } from "./config.ts";
import type { NewEvent, WebhookStore } from "./store.ts";

const DAY_MS = 86_400_000;

export interface WatchOptions {
  settings: WebhookSettings;
  keys: KeyStore;
  customers: CustomerStore;
  store: WebhookStore;
  clock?: () => number;
  /** Events were added: the sender should look now. */
  added?: () => void;
  log: (line: string) => void;
}

/** Budget threshold events of one key or customer, given its spend this period. */
function thresholdEvents(s: WebhookSettings, who: { type: "key" | "customer"; id: string; name: string }, budget: number, period: string, start: number, end: number | null, spent: number, now: number): NewEvent[] {
  return s.budgetThresholds
    .filter((pct) => spent * 100 >= budget * pct)
    .map((pct) => ({
      type: "budget.threshold",
      subject: `${who.type}:${who.id}`,
      dedupe: `budget:${who.type}:${who.id}:${start}:${pct}`,
      data: { [who.type]: { id: who.id, name: who.name }, threshold_percent: pct, budget_usd: formatUsd(budget), spent_usd: formatUsd(spent), period, period_start: new Date(start).toISOString(), period_end: end === null ? null : new Date(end).toISOString() },
      createdAt: now,
    }));
}

/** One look at every budgeted or expiring key and every budgeted or prepaid customer. */
export async function watchOnce({ settings: s, keys, customers, store, clock = Date.now }: Omit<WatchOptions, "log" | "added">): Promise<number> {
  const now = clock();
  const events: NewEvent[] = [];
  for (const k of await keys.list()) {
    if (k.deletedAt !== null || !k.isActive) continue;
    if (k.budgetNanoUsd !== null && isBudgetPeriod(k.budgetPeriod)) {
      const { start, end } = periodBounds(k.budgetPeriod, now);
      events.push(...thresholdEvents(s, { type: "key", id: k.id, name: k.name }, k.budgetNanoUsd, k.budgetPeriod, start, end, await keys.spentSince(k.id, start), now));
    }
    if (k.expiresAt !== null && k.expiresAt > now) {
      // The nearest warning that applies (a key made to last 12 hours gets the 1-day one only).
      const days = s.keyExpiringDays.filter((d) => now >= k.expiresAt! - d * DAY_MS).at(-1);
      if (days !== undefined) {
        events.push({ type: "key.expiring", subject: `key:${k.id}`, dedupe: `expiring:${k.id}:${k.expiresAt}:${days}`, data: { key: { id: k.id, name: k.name }, expires_at: new Date(k.expiresAt).toISOString(), within_days: days }, createdAt: now });
      }
    }
  }
  for (const c of await customers.list()) {
    if (!c.isActive) continue;
    if (c.budgetNanoUsd !== null && isBudgetPeriod(c.budgetPeriod)) {
      const { start, end } = periodBounds(c.budgetPeriod, now);
      events.push(...thresholdEvents(s, { type: "customer", id: c.id, name: c.name }, c.budgetNanoUsd, c.budgetPeriod, start, end, await customers.spentSince(c.id, start), now));
    }
    if (!c.prepaid) continue;
    const credits = await customers.credits(c.id);
    const balance = credits - (await customers.spentSince(c.id, 0));
    const data = { customer: { id: c.id, name: c.name }, balance_usd: formatUsd(balance), credits_usd: formatUsd(credits) };
    // Once per ledger total: a top-up (or an adjustment) arms them again.
    if (balance <= 0) events.push({ type: "credits.exhausted", subject: `customer:${c.id}`, dedupe: `exhausted:${c.id}:${credits}`, data, createdAt: now });
    else if (s.creditsLowNano !== null && balance < s.creditsLowNano) {
      events.push({ type: "credits.low", subject: `customer:${c.id}`, dedupe: `low:${c.id}:${credits}`, data: { ...data, below_usd: formatUsd(s.creditsLowNano) }, createdAt: now });
    }
  }
  return events.length === 0 ? 0 : store.add(events);
}

export function startWatching(o: WatchOptions) {
  let running: Promise<void> | undefined;
  const look = () => {
    running ??= watchOnce(o)
      .then((n) => void (n > 0 && o.added?.()))
      .catch((err) => o.log(`[gateway] webhook alerts check failed (trying again): ${(err as Error).message}`))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(look, o.settings.checkMs);
  timer.unref();
  look();
  return {
    async stop(): Promise<void> {
      clearInterval(timer);
      await running;
    },
  };
}
