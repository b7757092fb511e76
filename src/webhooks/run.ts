// The primary thread's webhook work when [[webhooks]] are configured: the watcher adding events for
// budgets, balances and expiry, and the sender delivering the outbox.
import type { WebhookSettings } from "./config.ts";
import type { KeyStore } from "../keys/store.ts";
import type { CustomerStore } from "../customers/store.ts";
import { retrying, type WebhookStore } from "./store.ts";
import { startWebhookSender } from "./sender.ts";
import { startWatching } from "./watch.ts";

export interface WebhookParts {
  settings: WebhookSettings;
  stores: { keys: KeyStore; customers: CustomerStore; webhooks: WebhookStore; retryWrites: <T>(fn: () => T | Promise<T>) => Promise<T> };
  log: (line: string) => void;
  clock: () => number;
  counted: (endpoint: string, outcome: "delivered" | "retried" | "failed") => void;
}

export function startWebhooks({ settings, stores, log, clock, counted }: WebhookParts): { stop(): Promise<void> } {
  if (settings.endpoints.length === 0) return { stop: async () => {} };
  const store = retrying(stores.webhooks, stores.retryWrites);
  const sender = startWebhookSender({ store, endpoints: settings.endpoints, log, clock, counted, retryMs: settings.retryMs, giveUpMs: settings.giveUpMs, pollMs: settings.pollMs, timeoutMs: settings.timeoutMs });
  const watcher = startWatching({ settings, keys: stores.keys, customers: stores.customers, store, clock, log, added: sender.wake });
  return {
    async stop() {
      await watcher.stop();
      await sender.stop();
    },
  };
}
