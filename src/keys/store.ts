// What the key service needs from a database; each dialect implements it (src/store/).
import type { ShareStore } from "./share.ts";

/** A key's row as every dialect stores it (times in ms since the epoch, money in nano-dollars). */
export interface ApiKey {
  id: string;
  name: string;
  /** bcrypt of the plain key. */
  keyHash: string;
  /** HMAC-SHA256 of the plain key under the lookup secret. */
  lookup: string;
  rateLimitPerMinute: number;
  isActive: boolean;
  createdAt: number;
  updatedAt: number;
  budgetNanoUsd: number | null;
  budgetPeriod: string;
  tpmLimit: number | null;
  maxParallel: number | null;
  expiresAt: number | null;
  /** Comma-separated globs of the models the key may use, or null for all. */
  allowedModels: string | null;
  deletedAt: number | null;
  /** A rotated key's previous value, accepted until previousValidUntil. */
  previousLookup: string | null;
  previousKeyHash: string | null;
  previousValidUntil: number | null;
  /** The value's last 4 characters (null for keys made before hints existed). */
  hint: string | null;
  /** Comma-separated CIDR blocks the key may be used from, or null for anywhere. */
  allowedIps: string | null;
  /** The most output tokens a request may ask for (clamped), or null. */
  maxOutputTokens: number | null;
  /** The customer the key belongs to (its limits apply too), or null. */
  customerId: string | null;
  /** Seconds its deterministic answers stay in the response cache, or null. */
  cacheTtlS: number | null;
}

/** A write lost to a unique constraint (a name or key value taken meanwhile). */
export class UniqueViolation extends Error {}

/** Rows of `api_keys`, their one-time hand-overs, and the database's secret fingerprint. */
export interface KeyStore extends ShareStore {
  /** Keys whose id or name is `nameOrId` (deleted ones included). */
  find(nameOrId: string): Promise<ApiKey[]>;
  /** The key that has this name, deleted or not. */
  nameOwner(name: string): Promise<{ id: string; deletedAt: number | null } | undefined>;
  /** True when a key's current or previous value has this lookup digest. */
  valueTaken(lookup: string): Promise<boolean>;
  /** `by`: who makes the change, for the audit log (the database's trigger records it). */
  insert(row: ApiKey, by: string): Promise<void>;
  update(id: string, changes: Partial<ApiKey>, by: string): Promise<void>;
  /** Every key, oldest first. */
  list(): Promise<ApiKey[]>;
  /** A key's exact spend (nano-dollars) since `from`. */
  spentSince(keyId: string, from: number): Promise<number>;
  /** When the key's latest request was recorded (its day, once retention deleted the rows), or null. */
  lastUsed(keyId: string): Promise<number | null>;
  /** The lookup secret's fingerprint, stored by the first process that had one; `fingerprint` when none was. */
  claimSecret(fingerprint: string): Promise<string>;
  /** True once the database has keys or a secret fingerprint. */
  secretInUse(): Promise<boolean>;
}
