import type { ProviderConfig } from "../config.ts";
import type { PriceTable } from "../usage/pricing.ts";
import { globToRegExp } from "./router.ts";

export interface ModelList {
  object: "list";
  data: { id: string; object: "model"; created: number; owned_by: string }[];
}

/**
 * The models this gateway routes, in OpenAI's list shape: every literal model name in a provider's
 * patterns, and every priced model a wildcard pattern routes. Computed once at start-up.
 */
export function modelList(providers: ProviderConfig[], prices: PriceTable): ModelList {
  const seen = new Map<string, string>();
  for (const p of providers) {
    for (const pattern of p.models) {
      if (!/[*?]/.test(pattern)) {
        if (!seen.has(pattern)) seen.set(pattern, p.name);
        continue;
      }
      const re = globToRegExp(pattern);
      for (const name of prices.keys()) if (re.test(name) && !seen.has(name) && !name.includes("/")) seen.set(name, p.name);
    }
  }
  return {
    object: "list",
    data: [...seen].sort(([a], [b]) => a.localeCompare(b)).map(([id, owner]) => ({ id, object: "model", created: 0, owned_by: owner })),
  };
}
