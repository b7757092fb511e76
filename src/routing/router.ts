import type { CooldownConfig, Endpoint, ProviderConfig, RouteConfig } from "../upstreams/provider-config.ts";
import { globToRegExp } from "../glob.ts";
import { ApiError } from "../errors.ts";

export interface Route {
  provider: ProviderConfig;
  /** The model name sent upstream (a `provider/` prefix removed). */
  upstreamModel: string;
}

export interface RouterOptions {
  routes?: RouteConfig[];
  cooldown?: CooldownConfig;
  random?: () => number;
  clock?: () => number;
  /** A provider went into cooldown (down) or answered again after one (up). */
  onHealth?: (provider: string, state: "down" | "up") => void;
}

/**
 * Routes a model to the providers that may serve it, in the order to try them:
 * - `provider/model` picks a provider explicitly, but only for a model its own patterns allow (a prefix
 *   never widens routing);
 * - the first `[[routes]]` entry whose pattern matches: a weighted choice among its providers, then the
 *   others (by weight), then its fallbacks in order;
 * - otherwise the first provider whose `models` glob matches.
 * A provider that failed `cooldown.failures` requests in a row is tried last until `cooldown.ms` passed.
 */
export function createRouter(providers: ProviderConfig[], { routes = [], cooldown = { failures: 3, ms: 30_000 }, random = Math.random, clock = Date.now, onHealth }: RouterOptions = {}) {
  const compiled = providers.map((p) => ({ provider: p, patterns: p.models.map(globToRegExp) }));
  const byName = new Map(compiled.map((c) => [c.provider.name, c]));
  const routeTable = routes.map((r) => ({ ...r, patterns: r.models.map(globToRegExp) }));
  const failures = new Map<string, { count: number; until: number }>();
  const down = new Set<string>();

  const cooling = (name: string) => (failures.get(name)?.until ?? 0) > clock();

  /** Weighted order: each pick is drawn among the providers not yet picked, in proportion to weight. */
  function weightedOrder(entries: { name: string; weight: number }[]): string[] {
    const left = [...entries];
    const order: string[] = [];
    while (left.length > 0) {
      let x = random() * left.reduce((sum, e) => sum + e.weight, 0);
      let i = 0;
      while (i < left.length - 1 && (x -= left[i]!.weight) >= 0) i++;
      order.push(left.splice(i, 1)[0]!.name);
    }
    return order;
  }

  function candidates(model: string): Route[] {
    const slash = model.indexOf("/");
    if (slash > 0) {
      const named = byName.get(model.slice(0, slash));
      const rest = model.slice(slash + 1);
      if (named) return rest !== "" && named.patterns.some((re) => re.test(rest)) ? [{ provider: named.provider, upstreamModel: rest }] : [];
    }
    const route = routeTable.find((r) => r.patterns.some((re) => re.test(model)));
    if (route) {
      const names = [...weightedOrder(route.providers), ...route.fallbacks.filter((f) => !route.providers.some((p) => p.name === f))];
      const ordered = names.map((name) => ({ provider: byName.get(name)!.provider, upstreamModel: model }));
      // Cooling providers keep their relative order, after the others: tried only when all else failed.
      return [...ordered.filter((r) => !cooling(r.provider.name)), ...ordered.filter((r) => cooling(r.provider.name))];
    }
    const hit = compiled.find((c) => c.patterns.some((re) => re.test(model)));
    return hit ? [{ provider: hit.provider, upstreamModel: model }] : [];
  }

  return {
    candidates,
    /** The provider a model is listed under (the heaviest of a route's providers). */
    primary(model: string): ProviderConfig | undefined {
      const route = routeTable.find((r) => r.patterns.some((re) => re.test(model)));
      if (route) return byName.get([...route.providers].sort((a, b) => b.weight - a.weight)[0]!.name)?.provider;
      return candidates(model)[0]?.provider;
    },
    /** A request to `name` failed after its retries. */
    failed(name: string): void {
      const f = failures.get(name) ?? { count: 0, until: 0 };
      f.count++;
      if (f.count >= cooldown.failures) {
        f.until = clock() + cooldown.ms;
        f.count = 0;
        if (!down.has(name)) {
          down.add(name);
          onHealth?.(name, "down");
        }
      }
      failures.set(name, f);
    },
    succeeded(name: string): void {
      failures.delete(name);
      if (down.delete(name)) onHealth?.(name, "up");
    },
  };
}

export type Router = ReturnType<typeof createRouter>;

const ENDPOINT_PATHS: Record<Endpoint, string> = { chat: "POST /v1/chat/completions", responses: "/v1/responses", embeddings: "POST /v1/embeddings", messages: "POST /v1/messages" };

/**
 * The providers to try for `model` on `endpoint`, in order, or the 404 a customer gets: no provider
 * routes it, or none of its providers serves that API.
 */
export function routeFor(router: Router, model: string, endpoint: Endpoint): Route[] {
  const all = router.candidates(model);
  if (all.length === 0) throw new ApiError(404, `The model '${model}' does not exist or is not routed by this gateway.`, "invalid_request_error", "model_not_found", "model");
  const serving = all.filter((r) => r.provider.endpoints.includes(endpoint));
  if (serving.length === 0) {
    throw new ApiError(404, `The provider '${all[0]!.provider.name}' that serves '${model}' does not offer ${ENDPOINT_PATHS[endpoint]}.`, "invalid_request_error", "endpoint_not_supported", "model");
  }
  return serving;
}
