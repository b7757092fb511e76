// The HTTP side of a server, over the parts it is given: key services from the storage, admission over
// the counters, the proxies, the routes, the listener. The primary thread (server.ts) gives it the
// parts it owns; a request thread of serve --workers (workers/request-thread.ts) gives it the same
// interfaces answered by the primary (workers/remote.ts), so both serve with the same code.
import type { Server } from "bun";
import { createApp } from "./app.ts";
import type { ServerConfig } from "./config.ts";
import { storageSecret } from "./store/open.ts";
import type { Storage } from "./store/types.ts";
import { createAdmission } from "./admission/admit.ts";
import type { CounterStore, KeyLimits } from "./admission/counters.ts";
import { createKeyService } from "./keys/service.ts";
import { createCustomerService } from "./customers/service.ts";
import { createAuditService } from "./audit/service.ts";
import { createKeyVerifier } from "./keys/verifier.ts";
import { createAdminGuard } from "./keys/admin-auth.ts";
import { createCustomerGate } from "./keys/auth.ts";
import type { LimitDecision, Take } from "./limits/fixed-window.ts";
import { createModelCatalog } from "./surfaces/models.ts";
import { createChatProxy } from "./surfaces/chat/proxy.ts";
import { createEmbeddingsProxy } from "./surfaces/embeddings/proxy.ts";
import { createResponsesProxy } from "./surfaces/responses/proxy.ts";
import { createMessagesProxy } from "./surfaces/messages/proxy.ts";
import { createRouter } from "./routing/router.ts";
import { providerEvents } from "./webhooks/provider-events.ts";
import { retrying } from "./webhooks/store.ts";
import type { MetricsView } from "./observe/metrics.ts";
import type { ReportSink } from "./observe/report.ts";
import type { StorageHealth } from "./usage/health.ts";
import type { UsageRecorder } from "./usage/record.ts";
import { VERSION } from "./version.ts";
import type { ResponseCacheStore } from "./cache/store.ts";

export interface ServeParts {
  storage: Pick<Storage, "keys" | "customers" | "audit" | "webhooks" | "usage" | "keyRows" | "retryWrites">;
  counters: CounterStore;
  /** The per-minute request limit (in process, Redis, or the primary's). */
  limiter: (id: string, limit: number, count: Take, limits?: KeyLimits) => LimitDecision | Promise<LimitDecision>;
  recorder: UsageRecorder;
  health: StorageHealth;
  metrics: MetricsView;
  /** Receives each finished request's report (access log, metrics, failure counts). */
  report: ReportSink;
  log: (line: string) => void;
  clock: () => number;
  /** The port to listen on (the primary's, for a request thread). */
  port: number;
  /** serve --workers: every thread listens on the one port. */
  reusePort: boolean;
  /** Where cached answers live (SQLite's table, or Redis); absent: no response cache. */
  responseCache?: ResponseCacheStore;
}

/** Builds the app over the parts and listens; resolves to the listening server. */
export async function serveApp(config: ServerConfig, parts: ServeParts): Promise<Server<unknown>> {
  const { storage, counters, recorder, health, clock, log } = parts;
  let server: Server<unknown> | undefined;
  const { verifier, keys } = await keyServices(storage, config, clock, () => server);
  const route = createRouter(config.providers, { routes: config.routes, cooldown: config.cooldown, onHealth: config.webhooks.endpoints.length > 0 ? providerEvents(retrying(storage.webhooks, storage.retryWrites), config, clock, log) : undefined });
  const admission = createAdmission({ counters, prices: config.prices, defaultMaxOutputTokens: config.defaultMaxOutputTokens, defaultMaxInputTokens: config.defaultMaxInputTokens, clock });
  // What every inbound API's proxy shares.
  const proxied = {
    route,
    prices: config.prices,
    recorder,
    health,
    admission,
    clock,
    maxBodyBytes: config.maxBodyBytes,
    bodyTimeoutMs: config.bodyTimeoutMs,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    maxUpstreamBytes: config.maxUpstreamBytes,
    cache: parts.responseCache && { store: parts.responseCache, settings: config.cache },
    maxOutputTokens: (model: string) => config.prices.find([model])?.maxOutputTokens ?? config.defaultMaxOutputTokens,
    outputLimit: (model: string) => config.prices.find([model])?.maxOutputTokens,
    defaultMaxToolCalls: config.defaultMaxToolCalls,
    log,
  };
  const app = createApp({
    version: VERSION,
    usage: storage.usage,
    keys,
    customers: createCustomerService({ store: storage.customers, clock }),
    audit: createAuditService({ store: storage.audit, clock }),
    gate: createCustomerGate(verifier, parts.limiter, admission.limitHeaders),
    adminEnabled: config.admins.length > 0,
    requireAdmin: createAdminGuard(config.admins, { log, maxFailuresPerMinute: config.adminFailuresPerMinute }),
    health,
    writer: recorder,
    admission,
    maxBodyBytes: config.maxBodyBytes,
    retryWrites: storage.retryWrites,
    models: createModelCatalog({ providers: config.providers, route, log }),
    chat: createChatProxy({ ...proxied, defaultModel: config.defaultModel }),
    embeddings: createEmbeddingsProxy(proxied),
    responses: createResponsesProxy({ ...proxied, usage: storage.usage, providers: config.providers, defaultModel: config.defaultModel }),
    messages: createMessagesProxy({ ...proxied, defaultModel: config.defaultModel }),
    metrics: parts.metrics,
    metricsToken: config.metricsToken,
    clock,
    observe: { trustProxy: config.trustProxy, report: parts.report },
    reusePort: parts.reusePort,
    log,
  });
  app.listen({
    port: parts.port,
    hostname: config.host,
    reusePort: parts.reusePort,
    // Declared sizes get our OpenAI-shaped 413 before any body is read, and chunked bodies are counted
    // as they are read: Bun's own limit (an empty 413) must never come first.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // Idle keep-alive connections and stalled requests are closed; a chat request lifts it once its
    // body is in (the upstream timeout governs from then on).
    idleTimeout: Math.ceil(config.idleTimeoutMs / 1000),
  });
  server = app.server!;
  return server;
}

/** The verifier and the key service over the storage, once the lookup secret is known to be the database's. */
async function keyServices(storage: ServeParts["storage"], config: ServerConfig, clock: () => number, listening: () => Server<unknown> | undefined) {
  const listenUrl = () => {
    const s = listening();
    return s ? `http://${s.hostname === "0.0.0.0" || s.hostname === "::" ? "localhost" : s.hostname}:${s.port}` : `http://localhost:${config.port}`;
  };
  const secret = await storageSecret(config, () => storage.keys.secretInUse());
  const verifier = createKeyVerifier({ rows: storage.keyRows, secret, clock });
  const keys = createKeyService({ store: storage.keys, customers: storage.customers, secret, clock, adminTokens: config.admins.map((a) => a.token), onChange: verifier.invalidate, publicUrl: () => config.publicUrl ?? listenUrl() });
  await keys.ready; // refuses a secret other than the database's
  return { verifier, keys };
}
