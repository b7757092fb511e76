// [[webhooks]] and [alerts] of the config file: where events go, signed with whose secret, and when the
// watched state (budgets, balances, expiry) makes an event.
import { t } from "elysia";
import { UserError } from "../errors.ts";

export const EVENT_TYPES = [
  "budget.threshold",
  "credits.low",
  "credits.exhausted",
  "key.expiring",
  "key.created",
  "key.updated",
  "key.disabled",
  "key.enabled",
  "key.rotated",
  "key.deleted",
  "provider.down",
  "provider.up",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const WebhookSchema = t.Object(
  {
    /** Names the endpoint in deliveries, metrics and logs (default: the URL's host and path). */
    name: t.Optional(t.String({ minLength: 1, maxLength: 100, pattern: "^[A-Za-z0-9_.:/-]+$" })),
    url: t.String({ pattern: "^https?://" }),
    secret_env: t.String({ minLength: 1 }),
    events: t.Optional(t.Array(t.Union(EVENT_TYPES.map((e) => t.Literal(e))), { minItems: 1 })),
  },
  { additionalProperties: false },
);

export const AlertsSchema = t.Object(
  {
    /** Percent of a budget whose crossing makes a budget.threshold event (once per period and threshold). */
    budget_thresholds: t.Optional(t.Array(t.Integer({ minimum: 1, maximum: 1000 }), { minItems: 1 })),
    /** A prepaid balance below this many USD makes a credits.low event (once per top-up). */
    credits_low_usd: t.Optional(t.Number({ exclusiveMinimum: 0 })),
    /** Days before a key's expiry that make key.expiring events. */
    key_expiring_days: t.Optional(t.Array(t.Integer({ minimum: 1, maximum: 365 }), { minItems: 1 })),
  },
  { additionalProperties: false },
);

export interface WebhookEndpoint {
  name: string;
  url: string;
  /** The HMAC key: the secret's base64 after whsec_. */
  key: Uint8Array;
  events: ReadonlySet<string>;
}

export interface WebhookSettings {
  endpoints: WebhookEndpoint[];
  budgetThresholds: number[];
  /** Nano-dollars, or null for no credits.low events. */
  creditsLowNano: number | null;
  keyExpiringDays: number[];
  /** How often the watched state is checked (GATEWAY_ALERT_CHECK_MS). */
  checkMs: number;
  /** The first retry's wait, doubling each time (GATEWAY_WEBHOOK_RETRY_MS). */
  retryMs: number;
  /** How long a failing delivery is retried (GATEWAY_WEBHOOK_GIVE_UP_MS, default 24 h). */
  giveUpMs: number;
  /** How often the outbox is looked at (GATEWAY_WEBHOOK_POLL_MS). */
  pollMs: number;
  /** How long a receiver may take to answer (GATEWAY_WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
}

type File = { webhooks?: (typeof WebhookSchema.static)[]; alerts?: typeof AlertsSchema.static };

/** A Standard Webhooks secret: whsec_ and the base64 of 24 to 64 random bytes. */
export function secretKey(secret: string, where: string): Uint8Array {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret.trim());
  const key = m ? Buffer.from(m[1]!, "base64") : Buffer.alloc(0);
  if (!m || key.length < 24 || key.length > 64) {
    throw new UserError(`${where}: the secret must be whsec_ followed by the base64 of 24 to 64 random bytes (make one with: echo "whsec_$(openssl rand -base64 32)")`);
  }
  return new Uint8Array(key);
}

/** `int` reads a whole-number environment setting (config.ts's rule). */
export function webhooksOf(file: File, path: string | undefined, env: Record<string, string | undefined>, int: (name: string, fallback: number, min: number) => number): WebhookSettings {
  const endpoints: WebhookEndpoint[] = [];
  for (const [i, w] of (file.webhooks ?? []).entries()) {
    const url = new URL(w.url);
    const name = w.name ?? `${url.host}${url.pathname === "/" ? "" : url.pathname}`;
    const where = `config file ${path}: webhooks[${i}] ('${name}')`;
    const secret = env[w.secret_env];
    if (secret === undefined || secret.trim() === "") throw new UserError(`${where}: environment variable ${w.secret_env} is not set`);
    if (endpoints.some((e) => e.name === name)) throw new UserError(`${where}: another webhook has this name; give each a distinct name`);
    endpoints.push({ name, url: w.url, key: secretKey(secret, where), events: new Set(w.events ?? EVENT_TYPES) });
  }
  const a = file.alerts ?? {};
  return {
    endpoints,
    budgetThresholds: [...new Set(a.budget_thresholds ?? [50, 80, 100])].sort((x, y) => x - y),
    creditsLowNano: a.credits_low_usd === undefined ? null : Math.round(a.credits_low_usd * 1e9),
    keyExpiringDays: [...new Set(a.key_expiring_days ?? [7, 1])].sort((x, y) => y - x),
    checkMs: int("GATEWAY_ALERT_CHECK_MS", 10_000, 100),
    retryMs: int("GATEWAY_WEBHOOK_RETRY_MS", 5000, 10),
    giveUpMs: int("GATEWAY_WEBHOOK_GIVE_UP_MS", 86_400_000, 1000),
    pollMs: int("GATEWAY_WEBHOOK_POLL_MS", 1000, 10),
    timeoutMs: int("GATEWAY_WEBHOOK_TIMEOUT_MS", 10_000, 100),
  };
}
