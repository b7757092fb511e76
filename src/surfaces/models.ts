import { sendUpstream } from "../upstreams/transport/http1.ts";
import type { ProviderConfig } from "../upstreams/provider-config.ts";
import type { Router } from "../routing/router.ts";
import { UPSTREAM_TYPES } from "../upstreams/index.ts";
import { urlOf } from "../upstreams/types.ts";

export interface ModelEntry {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

export interface ModelList {
  object: "list";
  data: ModelEntry[];
}

export interface ModelCatalogOptions {
  providers: ProviderConfig[];
  route: Router;
  /** How long a provider's own model list is reused. */
  ttlMs?: number;
  /** How long to wait for a provider's `GET /models`. */
  timeoutMs?: number;
  clock?: () => number;
  log?: (line: string) => void;
}

interface Cached {
  at: number;
  models: ModelEntry[];
}

/**
 * What `GET /v1/models` lists: the models the providers actually serve. A provider's literal model
 * names, plus, for providers with patterns, the provider's own `GET /models` answer filtered by those
 * patterns (cached; served stale while the provider is down). Each model is listed once, owned by the
 * provider that requests for it are routed to.
 */
export function createModelCatalog({ providers, route, ttlMs = 5 * 60_000, timeoutMs = 5000, clock = Date.now, log = console.error }: ModelCatalogOptions) {
  const cache = new Map<string, Cached>();
  const inFlight = new Map<string, Promise<ModelEntry[]>>();

  async function fetchProvider(p: ProviderConfig): Promise<ModelEntry[]> {
    const type = UPSTREAM_TYPES[p.type];
    const modelEntry = type.modelEntry;
    if (!modelEntry) return [];
    const res = await sendUpstream(urlOf(type, p, "/models"), { headers: type.headers(p), signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as { data?: unknown[] };
    if (!Array.isArray(body.data)) throw new Error("no data array");
    const entries: ModelEntry[] = [];
    for (const raw of body.data) {
      const m = raw && typeof raw === "object" ? modelEntry(raw as Record<string, unknown>) : undefined;
      if (m) entries.push({ id: m.id, object: "model", created: m.created, owned_by: p.name });
    }
    return entries;
  }

  async function served(p: ProviderConfig): Promise<ModelEntry[]> {
    const hit = cache.get(p.name);
    if (hit && clock() - hit.at < ttlMs) return hit.models;
    let pending = inFlight.get(p.name);
    if (!pending) {
      pending = fetchProvider(p)
        .then((models) => {
          cache.set(p.name, { at: clock(), models });
          return models;
        })
        .catch((err: unknown) => {
          log(`[gateway] provider '${p.name}' model list unavailable (${(err as Error).message}); ${hit ? "serving the cached one" : "listing its literal models only"}`);
          return hit?.models ?? [];
        })
        .finally(() => inFlight.delete(p.name));
      inFlight.set(p.name, pending);
    }
    return pending;
  }

  return async function list(): Promise<ModelList> {
    const candidates: ModelEntry[] = [];
    for (const p of providers) {
      for (const m of p.models) if (!/[*?]/.test(m)) candidates.push({ id: m, object: "model", created: 0, owned_by: p.name });
    }
    const fetched = await Promise.all(providers.filter((p) => p.models.some((m) => /[*?]/.test(m))).map(served));
    candidates.push(...fetched.flat());
    const seen = new Map<string, ModelEntry>();
    for (const m of candidates) {
      if (seen.has(m.id) || route.primary(m.id)?.name !== m.owned_by) continue;
      seen.set(m.id, m);
    }
    return { object: "list", data: [...seen.values()].sort((a, b) => a.id.localeCompare(b.id)) };
  };
}

export type ModelCatalog = ReturnType<typeof createModelCatalog>;

/**
 * One model of the list by its id, or by its alias: "claude-haiku-4-5" names the provider's dated
 * "claude-haiku-4-5-20251001" (Anthropic lists only dated ids; Claude Code asks for aliases).
 */
export function findModel(list: ModelEntry[], id: string): ModelEntry | undefined {
  const exact = list.find((m) => m.id === id);
  if (exact) return exact;
  const dated = list.filter((m) => m.id.startsWith(`${id}-`) && /^(\d{8}|\d{4}-\d{2}-\d{2})$/.test(m.id.slice(id.length + 1)));
  const newest = dated.sort((a, b) => b.id.localeCompare(a.id))[0];
  return newest && { ...newest, id };
}

/** A model as Anthropic's API describes one (its SDKs send `anthropic-version`). */
export function anthropicModel(m: ModelEntry): { type: "model"; id: string; display_name: string; created_at: string } {
  return { type: "model", id: m.id, display_name: m.id, created_at: new Date(m.created * 1000).toISOString() };
}
