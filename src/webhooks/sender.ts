// Delivers the outbox: hands new events out to each endpoint, claims due deliveries (the oldest of each
// subject, so a subject's events arrive in order), POSTs them signed, and settles each: delivered; retried
// with exponential backoff on 5xx, 408, 429, timeouts and connection errors until 24 h after the event;
// failed on any other 4xx. A sender that dies mid-delivery leaves a lease that expires: the event is sent
// again (receivers deduplicate by webhook-id, as Standard Webhooks asks).
import { changesOf } from "../audit/service.ts";
import type { WebhookEndpoint } from "./config.ts";
import { signatureHeaders } from "./sign.ts";
import type { ClaimedDelivery, WebhookStore } from "./store.ts";

export interface SenderOptions {
  store: WebhookStore;
  endpoints: WebhookEndpoint[];
  log: (line: string) => void;
  clock?: () => number;
  /** Counts each attempt's outcome (metrics). */
  counted?: (endpoint: string, outcome: "delivered" | "retried" | "failed") => void;
  /** The first retry's wait; each next one doubles, up to an hour. */
  retryMs?: number;
  /** After this long since the event, a failing delivery is given up. */
  giveUpMs?: number;
  pollMs?: number;
  timeoutMs?: number;
}

/** The event as sent: key events carry the changed fields as the audit log shows them. */
export function eventBody(d: Pick<ClaimedDelivery, "eventId" | "type" | "data" | "createdAt">): string {
  const { before, after, ...rest } = JSON.parse(d.data) as Record<string, unknown>;
  const data = before === undefined && after === undefined ? rest : { ...rest, changes: changesOf(before as Record<string, unknown> | null, after as Record<string, unknown> | null) };
  return JSON.stringify({ type: d.type, id: `evt_${d.eventId}`, timestamp: new Date(d.createdAt).toISOString(), data });
}

/** POSTs one signed event; the receiver's answer, or a thrown network error or TimeoutError. */
export async function postEvent(ep: Pick<WebhookEndpoint, "url" | "key">, id: string, body: string, now: number, timeoutMs: number): Promise<Response> {
  const res = await fetch(ep.url, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "llm-gateway-webhooks", ...signatureHeaders(ep.key, id, body, now) },
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.body?.cancel().catch(() => {});
  return res;
}

export function startWebhookSender({ store, endpoints, log, clock = Date.now, counted = () => {}, retryMs = 5000, giveUpMs = 86_400_000, pollMs = 1000, timeoutMs = 10_000 }: SenderOptions) {
  const byName = new Map(endpoints.map((e) => [e.name, e]));
  const names = [...byName.keys()];
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  async function deliver(d: ClaimedDelivery): Promise<void> {
    const ep = byName.get(d.endpoint)!;
    const body = eventBody(d);
    let error: string;
    let retry = true;
    try {
      const res = await postEvent(ep, `evt_${d.eventId}`, body, clock(), timeoutMs);
      if (res.status >= 200 && res.status < 300) {
        counted(d.endpoint, "delivered");
        return store.settle(d.eventId, d.endpoint, { status: "delivered", at: clock() });
      }
      error = `HTTP ${res.status}`;
      retry = res.status >= 500 || res.status === 408 || res.status === 429;
    } catch (err) {
      error = (err as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : `could not connect: ${(err as Error).message}`;
    }
    const nextAt = clock() + Math.min(retryMs * 2 ** (d.attempts - 1), 3_600_000);
    if (retry && nextAt <= d.createdAt + giveUpMs) {
      counted(d.endpoint, "retried");
      return store.settle(d.eventId, d.endpoint, { status: "pending", nextAt, error });
    }
    counted(d.endpoint, "failed");
    log(`[gateway] webhook ${d.type} (evt_${d.eventId}) to '${d.endpoint}' failed for good after ${d.attempts} attempt(s): ${error}${retry ? "" : " (a 4xx other than 408/429 is not retried)"}`);
    return store.settle(d.eventId, d.endpoint, { status: "failed", at: clock(), error });
  }

  async function round(): Promise<void> {
    await store.fanOut(endpoints, clock());
    for (;;) {
      const claimed = await store.claim(names, clock(), timeoutMs + 5000, 20);
      if (claimed.length === 0) return;
      await Promise.all(claimed.map((d) => deliver(d).catch((err) => log(`[gateway] webhook delivery not settled (it will be sent again): ${(err as Error).message}`))));
    }
  }

  /** One round at a time; a wake during a round runs another after it. */
  function tick(): Promise<void> {
    if (stopped || names.length === 0) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = round()
      .catch((err) => log(`[gateway] webhook sender: ${(err as Error).message} (trying again)`))
      .finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          void tick();
        }
      });
    return running;
  }

  const timer = setInterval(() => void tick(), pollMs);
  timer.unref();
  void tick();
  return {
    /** Something was added to the outbox: deliver it now rather than at the next poll. */
    wake: () => void tick(),
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
