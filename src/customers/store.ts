// What the customer service needs from a database; each dialect implements it (src/store/).

/** A customer (account) as every dialect stores it (times in ms since the epoch, money in nano-dollars). */
export interface Customer {
  id: string;
  name: string;
  isActive: boolean;
  rateLimitPerMinute: number | null;
  tpmLimit: number | null;
  maxParallel: number | null;
  budgetNanoUsd: number | null;
  budgetPeriod: string;
  /** Requests are admitted only while the balance (credits minus all spend) covers their worst case. */
  prepaid: boolean;
  /** Bumped by the database whenever a key joins or leaves. */
  membersVersion: number;
  /** At each period's start the balance is topped up to this amount (null: no refill). */
  refillNanoUsd: number | null;
  refillPeriod: string | null;
  /** The start of the last period refilled. */
  refilledFrom: number | null;
  createdAt: number;
  updatedAt: number;
}

/** One entry of a customer's credit ledger: a top-up (positive) or an adjustment (negative). */
export interface CreditEntry {
  id: number;
  customerId: string;
  amountNanoUsd: number;
  note: string | null;
  /** Who added it: cli, admin-api. */
  actor: string;
  createdAt: number;
}

/** The ledger note of an automatic refill. */
export function refillNote(target: number, periodStart: number): string {
  return `refill to $${(target / 1e9).toFixed(2)} for the period from ${new Date(periodStart).toISOString().slice(0, 10)}`;
}

export interface CustomerStore {
  /** The customer whose id or name is `nameOrId`. */
  find(nameOrId: string): Promise<Customer | undefined>;
  /** Every customer, oldest first. */
  list(): Promise<Customer[]>;
  /** `by`: who makes the change, for the audit log (the database's trigger records it). */
  insert(row: Customer, by: string): Promise<void>;
  update(id: string, changes: Partial<Customer>, by: string): Promise<void>;
  delete(id: string, by: string): Promise<void>;
  /** Keys of the customer that are not deleted. */
  keyCount(id: string): Promise<number>;
  /** The exact spend of the customer's keys since `from` (deleted keys' included). */
  spentSince(id: string, from: number): Promise<number>;
  /** The sum of the customer's ledger. */
  credits(id: string): Promise<number>;
  /** The customer's ledger, oldest first. */
  ledger(id: string): Promise<CreditEntry[]>;
  addCredit(entry: Omit<CreditEntry, "id">): Promise<void>;
  /**
   * Tops the balance up to `target` for the period starting at `periodStart`, once: only the first caller
   * (of any server) for that period writes, in one transaction with its claim. Returns the amount added
   * (0 when the balance was already there), or null when the period was refilled already.
   */
  refillOnce(id: string, periodStart: number, target: number, now: number): Promise<number | null>;
}
