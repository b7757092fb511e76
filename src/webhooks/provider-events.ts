// provider.down / provider.up: a provider went into cooldown (it failed cooldown_failures requests in a row,
// after their retries) or answered again. Each server (and thread) judges its own traffic; the dedupe name
// makes one event per provider, state and cooldown window across them.
import type { ServerConfig } from "../config.ts";
import type { WebhookStore } from "./store.ts";

export function providerEvents(store: WebhookStore, config: Pick<ServerConfig, "cooldown">, clock: () => number, log: (line: string) => void) {
  return (provider: string, state: "down" | "up") => {
    const now = clock();
    const window = Math.floor(now / Math.max(config.cooldown.ms, 1000));
    const data = { provider, state, ...(state === "down" ? { failures_in_a_row: config.cooldown.failures, cooldown_ms: config.cooldown.ms } : {}) };
    store
      .add([{ type: `provider.${state}`, subject: `provider:${provider}`, dedupe: `provider:${provider}:${state}:${window}`, data, createdAt: now }])
      .catch((err) => log(`[gateway] provider.${state} event for '${provider}' not written: ${(err as Error).message}`));
  };
}
