// The response cache on a surface's request path: the plan (whether this request is answered from the
// cache, under which key), a hit answered without the provider (one row: cost 0, the tokens first
// reported, the cost saved), and a miss's answer stored once its row is committed.
import type { CacheFormat } from "../cache/collect.ts";
import { CACHE_HEADER, planCache, type CachePlan } from "../cache/policy.ts";
import type { CachedAnswer } from "../cache/store.ts";
import { formatUsd } from "../admission/money.ts";
import type { Route } from "../routing/router.ts";
import type { UsageRecord } from "../usage/record.ts";
import type { Endpoint } from "../upstreams/provider-config.ts";
import type { ProxyCall, ProxyDeps } from "./request.ts";

/** What the cache needs of a surface: its API, and how its streams are replayed and collected. */
interface CachingSurface {
  endpoint: Endpoint;
  cache?: CacheFormat;
}

interface Lookup {
  req: Request;
  call: ProxyCall;
  model: string;
  route: Route;
  body: Record<string, unknown>;
  stream: boolean;
  wantsUsage: boolean;
  opts: ProxyDeps;
  started: number;
}

const OFF: { plan: CachePlan; response?: Response } = { plan: { use: false, bypass: false } };

/** A new id of the answer's kind (chatcmpl-…, msg_…): a replayed answer is a new answer. */
function freshId(id: unknown): string {
  const prefix = typeof id === "string" ? (/^[A-Za-z]+[-_]/.exec(id)?.[0] ?? "") : "";
  return `${prefix}${crypto.randomUUID().replaceAll("-", "")}`;
}

/** The cache's plan for the request, and the response when the cache answers it. */
export async function cacheLookup(surface: CachingSurface, o: Lookup): Promise<{ plan: CachePlan; response?: Response }> {
  const cache = o.opts.cache;
  if (!cache) return OFF;
  let plan = planCache(
    { endpoint: surface.endpoint, body: o.body, header: o.req.headers.get(CACHE_HEADER), keyTtlS: o.call.key.cacheTtlS, keyId: o.call.key.id, customerId: o.call.key.customer?.id ?? null, provider: o.route.provider.name, upstreamModel: o.route.upstreamModel },
    cache.settings,
  );
  // A stream is answered from the cache only where the API's stream can be replayed and collected.
  if (plan.use && o.stream && !surface.cache) plan = { use: false, bypass: true };
  if (!plan.use) {
    if (plan.bypass) o.call.headers["x-gateway-cache"] = "bypass";
    return { plan };
  }
  const hit = await cache.store.get(plan.key, o.started);
  o.call.headers["x-gateway-cache"] = hit ? "hit" : "miss";
  if (!hit) return { plan };
  // What the key may not use is not served from the cache either (an answer cached for another key, in a wider scope).
  o.opts.admission.checkModel(o.call.key, { model: o.model, upstreamModel: o.route.upstreamModel, provider: o.route.provider.name });
  return { plan, response: await answerHit(surface, hit, o) };
}

async function answerHit(surface: CachingSurface, hit: CachedAnswer, o: Lookup): Promise<Response> {
  const clock = o.opts.clock ?? Date.now;
  const row: UsageRecord = {
    requestId: o.call.requestId, keyId: o.call.key.id, modelRequested: o.model, modelAnswered: hit.modelAnswered, provider: hit.provider,
    promptTokens: hit.promptTokens, completionTokens: hit.completionTokens, cachedTokens: hit.cachedTokens, reasoningTokens: hit.reasoningTokens, cacheWriteTokens: hit.cacheWriteTokens,
    costNanoUsd: 0, estimated: false, upstreamStatus: 200, latencyMs: clock() - o.started, streamed: o.stream, createdAt: o.started, attempts: 0, cacheHit: true, savedNanoUsd: hit.costNanoUsd,
  };
  if (o.call.report) {
    o.call.report.row = row;
    o.call.report.provider = hit.provider;
  }
  await o.opts.recorder.record(row);
  const answer = JSON.parse(hit.body) as Record<string, unknown>;
  if (answer.id !== undefined) answer.id = freshId(answer.id);
  const headers = o.call.headers as Record<string, string>;
  if (o.stream && surface.cache) {
    const text = surface.cache.replay(answer, o.wantsUsage);
    if (o.call.report) o.call.report.bytesOut = Buffer.byteLength(text);
    return new Response(text, { headers: { ...headers, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" } });
  }
  const text = JSON.stringify(answer);
  if (o.call.report) o.call.report.bytesOut = Buffer.byteLength(text);
  return new Response(text, { headers: { ...headers, "content-type": "application/json", "x-gateway-cost-usd": formatUsd(0) } });
}

/** Stores a miss's answer (its committed row says what it cost), in the background; a failure is logged, never the customer's. */
export function storeInCache(plan: Extract<CachePlan, { use: true }>, body: string, row: UsageRecord, opts: ProxyDeps): void {
  const cache = opts.cache;
  if (!cache || row.overBound || row.upstreamStatus !== 200) return;
  const now = (opts.clock ?? Date.now)();
  const entry: CachedAnswer = {
    body, provider: row.provider, modelAnswered: row.modelAnswered, promptTokens: row.promptTokens, completionTokens: row.completionTokens,
    cachedTokens: row.cachedTokens, reasoningTokens: row.reasoningTokens, cacheWriteTokens: row.cacheWriteTokens ?? null, costNanoUsd: row.costNanoUsd,
  };
  cache.store.put(plan.key, entry, now + plan.ttlMs, now, cache.settings.maxBytes).catch((err: unknown) => (opts.log ?? console.error)(`[gateway] response cache: could not store an answer (${(err as Error)?.message ?? err})`));
}
