// Customer administration shared by the CLI and the admin HTTP API: a company with several keys, limits
// of its own that its keys share, and optionally prepaid credit (a ledger).
import { ConflictError, NotFoundError, UserError } from "../errors.ts";
import { formatUsd, MAX_BUDGET_NANO, parseUsd } from "../admission/money.ts";
import { isBudgetPeriod, periodBounds, type BudgetPeriod } from "../admission/periods.ts";
import { validateName, validateRateLimit } from "../keys/validate.ts";
import { iso, limitChanges } from "../keys/key-info.ts";
import { hasHiddenCharacters } from "../text.ts";
import { UniqueViolation } from "../keys/store.ts";
import type { CreditEntry, Customer, CustomerStore } from "./store.ts";

/** What is shown of a customer (CLI --json and admin API). */
export interface CustomerInfo {
  id: string;
  name: string;
  is_active: boolean;
  rate_limit_per_minute: number | null;
  tpm_limit: number | null;
  max_parallel: number | null;
  budget_usd: string | null;
  budget_period: BudgetPeriod;
  prepaid: boolean;
  /** Spent in the current budget period; without a budget, this calendar month (UTC). */
  spent_usd: string;
  budget_resets_at: string | null;
  /** Credits minus every cost ever recorded (a prepaid customer's requests must fit in it); null when the customer has no credits and is not prepaid. */
  balance_usd: string | null;
  keys: number;
  /** At each period's start the balance is topped up to this amount. */
  refill_usd: string | null;
  refill_period: "day" | "week" | "month" | null;
  created_at: string;
  updated_at: string;
}

export interface CustomerSettings {
  rateLimitPerMinute?: unknown;
  tpmLimit?: unknown;
  maxParallel?: unknown;
  budgetUsd?: unknown;
  budgetPeriod?: unknown;
  prepaid?: unknown;
  /** null removes the refill. */
  refillUsd?: unknown;
  refillPeriod?: unknown;
}

const REFILL_PERIODS = ["day", "week", "month"] as const;
type RefillPeriod = (typeof REFILL_PERIODS)[number];
const isRefillPeriod = (v: unknown): v is RefillPeriod => typeof v === "string" && (REFILL_PERIODS as readonly string[]).includes(v);

export interface CreditView {
  customer: string;
  balance_usd: string;
  credits_usd: string;
  spent_usd: string;
  ledger: { id: number; amount_usd: string; note: string | null; actor: string; created_at: string }[];
}

function settingsChanges(s: CustomerSettings): Partial<Customer> {
  const c: Partial<Customer> = limitChanges(s);
  if (s.rateLimitPerMinute !== undefined) c.rateLimitPerMinute = s.rateLimitPerMinute === null ? null : validateRateLimit(s.rateLimitPerMinute);
  if (s.refillUsd !== undefined) c.refillNanoUsd = s.refillUsd === null ? null : parseUsd(s.refillUsd, "refill");
  if (s.refillUsd === null) c.refillPeriod = null;
  if (s.refillPeriod !== undefined && s.refillPeriod !== null) {
    if (!isRefillPeriod(s.refillPeriod)) throw new UserError(`refill period must be one of ${REFILL_PERIODS.join(", ")}, got '${String(s.refillPeriod)}'`);
    c.refillPeriod = s.refillPeriod;
  }
  if (s.prepaid !== undefined) {
    if (typeof s.prepaid !== "boolean") throw new UserError("prepaid must be true or false");
    c.prepaid = s.prepaid;
  }
  return c;
}

/** A signed amount of US dollars ("50", "-12.5") as nano-dollars; zero is refused. */
export function parseSignedUsd(value: unknown): number {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : typeof value === "string" ? value.trim() : "";
  const negative = text.startsWith("-");
  const nano = parseUsd(negative ? text.slice(1) : text, "amount");
  if (nano > MAX_BUDGET_NANO) throw new UserError(`amount must be at most ${MAX_BUDGET_NANO / 1e9} dollars`);
  return negative ? -nano : nano;
}

export function createCustomerService({ store, clock = Date.now, actor = "unknown" }: { store: CustomerStore; clock?: () => number; actor?: string }) {
  async function find(nameOrId: string): Promise<Customer> {
    const c = await store.find(nameOrId);
    if (!c) throw new NotFoundError(`no customer named or with id '${nameOrId}'`);
    return c;
  }

  async function info(c: Customer): Promise<CustomerInfo> {
    const period = c.budgetNanoUsd !== null && isBudgetPeriod(c.budgetPeriod) ? c.budgetPeriod : "month";
    const { start, end } = periodBounds(period, clock());
    const [spent, keys, credits, total] = await Promise.all([store.spentSince(c.id, start), store.keyCount(c.id), store.credits(c.id), store.spentSince(c.id, 0)]);
    return {
      id: c.id,
      name: c.name,
      is_active: c.isActive,
      rate_limit_per_minute: c.rateLimitPerMinute,
      tpm_limit: c.tpmLimit,
      max_parallel: c.maxParallel,
      budget_usd: c.budgetNanoUsd === null ? null : formatUsd(c.budgetNanoUsd),
      budget_period: isBudgetPeriod(c.budgetPeriod) ? c.budgetPeriod : "month",
      prepaid: c.prepaid,
      spent_usd: formatUsd(spent),
      budget_resets_at: c.budgetNanoUsd === null ? null : iso(end),
      balance_usd: c.prepaid || credits !== 0 ? formatUsd(credits - total) : null,
      keys,
      refill_usd: c.refillNanoUsd === null ? null : formatUsd(c.refillNanoUsd),
      refill_period: c.refillNanoUsd === null ? null : isRefillPeriod(c.refillPeriod) ? c.refillPeriod : "month",
      created_at: new Date(c.createdAt).toISOString(),
      updated_at: new Date(c.updatedAt).toISOString(),
    };
  }

  /** A write that lost a race for its name: the 409 the check before it would have given. */
  async function unique(write: Promise<void>, name: string): Promise<void> {
    try {
      await write;
    } catch (err) {
      if (err instanceof UniqueViolation) throw new ConflictError(`a customer named '${name}' already exists`);
      throw err;
    }
  }

  async function assertNameFree(name: string, exceptId?: string) {
    const other = await store.find(name);
    if (other && other.name === name && other.id !== exceptId) throw new ConflictError(`a customer named '${name}' already exists`);
  }

  return {
    /** The customer's id by name or id (create-key --customer). */
    async idOf(nameOrId: string): Promise<string> {
      return (await find(nameOrId)).id;
    },

    async create(input: CustomerSettings & { name: unknown }, by = actor): Promise<CustomerInfo> {
      const name = validateName(input.name).trim();
      const now = clock();
      const changes = settingsChanges(input);
      await assertNameFree(name);
      const row: Customer = {
        id: crypto.randomUUID(), name, isActive: true, rateLimitPerMinute: null, tpmLimit: null, maxParallel: null, budgetNanoUsd: null,
        budgetPeriod: "month", prepaid: false, membersVersion: 0, refillNanoUsd: null, refillPeriod: null, refilledFrom: null, createdAt: now, updatedAt: now, ...changes,
      };
      await unique(store.insert(row, by), name);
      return info(row);
    },

    async list(): Promise<CustomerInfo[]> {
      return Promise.all((await store.list()).map(info));
    },

    async get(nameOrId: string): Promise<CustomerInfo> {
      return info(await find(nameOrId));
    },

    async update(nameOrId: string, patch: CustomerSettings & { name?: unknown; isActive?: unknown }, by = actor): Promise<CustomerInfo> {
      const c = await find(nameOrId);
      const changes = settingsChanges(patch);
      if (patch.name !== undefined) {
        changes.name = validateName(patch.name);
        await assertNameFree(changes.name, c.id);
      }
      if (patch.isActive !== undefined) {
        if (typeof patch.isActive !== "boolean") throw new UserError("is_active must be true or false");
        changes.isActive = patch.isActive;
      }
      if (Object.keys(changes).length === 0) throw new UserError("nothing to change: give at least one setting to change");
      const updatedAt = clock();
      await unique(store.update(c.id, { ...changes, updatedAt }, by), String(changes.name ?? c.name));
      return info({ ...c, ...changes, updatedAt });
    },

    /** Refused while the customer has keys (move or delete them first). */
    async delete(nameOrId: string, by = actor): Promise<CustomerInfo> {
      const c = await find(nameOrId);
      const keys = await store.keyCount(c.id);
      if (keys > 0) throw new ConflictError(`customer '${c.name}' still has ${keys} key${keys === 1 ? "" : "s"}: delete them or move them to another customer first (update-key NAME --no-customer)`);
      const shown = await info(c);
      await store.delete(c.id, by);
      return shown;
    },

    async addCredits(nameOrId: string, { amountUsd, note, by = actor }: { amountUsd: unknown; note?: unknown; by?: string }): Promise<CreditView> {
      const c = await find(nameOrId);
      const amountNanoUsd = parseSignedUsd(amountUsd);
      if (note !== undefined && note !== null && (typeof note !== "string" || note.length > 500 || hasHiddenCharacters(note))) {
        throw new UserError("note must be text of at most 500 characters without control or invisible formatting characters");
      }
      await store.addCredit({ customerId: c.id, amountNanoUsd, note: (note as string | undefined) ?? null, actor: by, createdAt: clock() });
      return credits(c);
    },

    async credits(nameOrId: string): Promise<CreditView> {
      return credits(await find(nameOrId));
    },
  };

  async function credits(c: Customer): Promise<CreditView> {
    const [ledger, spent] = await Promise.all([store.ledger(c.id), store.spentSince(c.id, 0)]);
    const sum = ledger.reduce((n, e) => n + e.amountNanoUsd, 0);
    return {
      customer: c.name,
      balance_usd: formatUsd(sum - spent),
      credits_usd: formatUsd(sum),
      spent_usd: formatUsd(spent),
      ledger: ledger.map((e: CreditEntry) => ({ id: e.id, amount_usd: formatUsd(e.amountNanoUsd), note: e.note, actor: e.actor, created_at: new Date(e.createdAt).toISOString() })),
    };
  }
}

export type CustomerService = ReturnType<typeof createCustomerService>;

/** The period a refill belongs to now: its start. */
export function refillPeriodStart(c: Customer, now: number): number | null {
  if (c.refillNanoUsd === null) return null;
  return periodBounds(isRefillPeriod(c.refillPeriod) ? c.refillPeriod : "month", now).start;
}

/**
 * Tops every refilling customer's balance up at each period's start, once per period whichever server
 * gets there first (the claim and the ledger entry are one transaction). Checks every `everyMs`.
 */
export function startRefillJob({ store, retryWrites, clock = Date.now, everyMs, log }: { store: CustomerStore; retryWrites: <T>(fn: () => Promise<T>) => Promise<T>; clock?: () => number; everyMs: number; log: (line: string) => void }) {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      for (const c of await store.list()) {
        const start = refillPeriodStart(c, clock());
        if (start === null || (c.refilledFrom !== null && c.refilledFrom >= start)) continue;
        const added = await retryWrites(() => store.refillOnce(c.id, start, c.refillNanoUsd!, clock()));
        if (added !== null) log(`[gateway] refilled customer '${c.name}' to $${formatUsd(c.refillNanoUsd!)}: added $${formatUsd(added)}`);
      }
    } catch (err) {
      log(`[gateway] customer refill failed (retried in ${everyMs} ms): ${(err as Error).message}`);
    } finally {
      running = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
