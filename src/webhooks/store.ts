// What webhook delivery needs from a database; each dialect implements it (src/store/). The outbox
// (webhook_events) is written in the transaction of a change, or under a dedupe name for watched state;
// deliveries are claimed with a lease, so several servers on one database deliver each event once.

/** An event to put in the outbox: `dedupe` makes it once ever (a second add with the same name is ignored). */
export interface NewEvent {
  type: string;
  subject: string;
  dedupe: string | null;
  data: unknown;
  createdAt: number;
}

/** A delivery claimed for sending: its event, and how many attempts this is. */
export interface ClaimedDelivery {
  eventId: number;
  endpoint: string;
  attempts: number;
  type: string;
  /** The event's data, JSON. */
  data: string;
  createdAt: number;
}

export interface DeliveryRow {
  eventId: number;
  endpoint: string;
  type: string;
  subject: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  nextAt: number;
  lastError: string | null;
  createdAt: number;
}

export interface WebhookStore {
  /** Adds events; returns how many were new. */
  add(events: NewEvent[]): Promise<number>;
  /**
   * Hands the events after each endpoint's cursor out as pending deliveries (those of the types it takes),
   * and moves the cursor. An endpoint seen for the first time starts after the newest event.
   */
  fanOut(endpoints: { name: string; events: ReadonlySet<string> }[], now: number): Promise<void>;
  /**
   * Claims up to `limit` due deliveries for `leaseMs` (counting the attempt): only the oldest pending one of
   * each endpoint and subject, so each subject's events arrive in order.
   */
  claim(endpoints: string[], now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]>;
  /** The delivery's outcome: delivered, retried at `nextAt`, or failed for good. */
  settle(eventId: number, endpoint: string, outcome: { status: "delivered" | "failed"; at: number; error?: string } | { status: "pending"; nextAt: number; error: string }): Promise<void>;
  /** Deliveries with this status (undelivered: pending or failed), newest first. */
  list(status: DeliveryRow["status"] | "undelivered" | "all", limit: number): Promise<DeliveryRow[]>;
}

/** The store with each write run by `retry` (SQLite: the server's connection never waits on a lock; it retries asynchronously). */
export function retrying(store: WebhookStore, retry: <T>(fn: () => Promise<T>) => Promise<T>): WebhookStore {
  return {
    add: (events) => retry(() => store.add(events)),
    fanOut: (endpoints, now) => retry(() => store.fanOut(endpoints, now)),
    claim: (endpoints, now, leaseMs, limit) => retry(() => store.claim(endpoints, now, leaseMs, limit)),
    settle: (eventId, endpoint, outcome) => retry(() => store.settle(eventId, endpoint, outcome)),
    list: (status, limit) => store.list(status, limit),
  };
}
