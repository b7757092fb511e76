import type { Endpoint, ProviderConfig } from "../config.ts";
import { ApiError } from "../errors.ts";

export interface Route {
  provider: ProviderConfig;
  /** The model name sent upstream (a `provider/` prefix removed). */
  upstreamModel: string;
}

/**
 * Routes a model to the first provider whose glob matches. `provider/model` picks a provider
 * explicitly, but only for a model that provider's own patterns allow: a prefix never widens routing.
 */
export function createRouter(providers: ProviderConfig[]) {
  const compiled = providers.map((p) => ({ provider: p, patterns: p.models.map(globToRegExp) }));
  const byName = new Map(compiled.map((c) => [c.provider.name, c]));
  return function route(model: string): Route | undefined {
    const slash = model.indexOf("/");
    if (slash > 0) {
      const named = byName.get(model.slice(0, slash));
      const rest = model.slice(slash + 1);
      if (named) return rest !== "" && named.patterns.some((re) => re.test(rest)) ? { provider: named.provider, upstreamModel: rest } : undefined;
    }
    const hit = compiled.find((c) => c.patterns.some((re) => re.test(model)));
    return hit && { provider: hit.provider, upstreamModel: model };
  };
}

export type Router = ReturnType<typeof createRouter>;

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

const ENDPOINT_PATHS: Record<Endpoint, string> = { chat: "POST /v1/chat/completions", responses: "/v1/responses", embeddings: "POST /v1/embeddings" };

/** The route for `model` on `endpoint`, or the 404 a customer gets: no provider routes it, or its provider does not serve that API. */
export function routeFor(router: Router, model: string, endpoint: Endpoint): Route {
  const route = router(model);
  if (!route) throw new ApiError(404, `The model '${model}' does not exist or is not routed by this gateway.`, "invalid_request_error", "model_not_found", "model");
  if (!route.provider.endpoints.includes(endpoint)) {
    throw new ApiError(404, `The provider '${route.provider.name}' that serves '${model}' does not offer ${ENDPOINT_PATHS[endpoint]}.`, "invalid_request_error", "endpoint_not_supported", "model");
  }
  return route;
}
