import { createApp } from "./app.ts";
import type { ServerConfig } from "./config.ts";
import type { Db } from "./store/sqlite/client.ts";
import { createStorageHealth } from "./usage/health.ts";
import { openStorage, storageSecret } from "./store/open.ts";
import type { Storage } from "./store/types.ts";
import { createSharedLimiter } from "./limits/shared-window.ts";
import { createRedisLink } from "./limits/redis-link.ts";
import { createAdmission } from "./admission/admit.ts";
import { createMemoryCounters } from "./admission/counters.ts";
import { createSharedCounters } from "./admission/shared-counters.ts";
import { createKeyService } from "./keys/service.ts";
import { createKeyVerifier } from "./keys/verifier.ts";
import { createAdminGuard } from "./keys/admin-auth.ts";
import { createCustomerGate } from "./keys/auth.ts";
import { createModelCatalog } from "./surfaces/models.ts";
import { createFixedWindowLimiter } from "./limits/fixed-window.ts";
import { createChatProxy } from "./surfaces/chat/proxy.ts";
import { createEmbeddingsProxy } from "./surfaces/embeddings/proxy.ts";
import { createResponsesProxy } from "./surfaces/responses/proxy.ts";
import { createMessagesProxy } from "./surfaces/messages/proxy.ts";
import { createRouter } from "./routing/router.ts";
import { createFailureTally } from "./observe/failures.ts";
import { loadCatalog } from "./usage/catalog.ts";
import { VERSION } from "./version.ts";
import { accessLog } from "./observe/access-log.ts";
import { createLogger, lineLogger, type Logger } from "./observe/logger.ts";
import { createMetrics } from "./observe/metrics.ts";
import { serveMetricsPort } from "./observe/routes.ts";

export interface RunningServer {
  url: string;
  port: number;
  /** Where rows go: the SQLite file, or the PostgreSQL URL without its password. */
  where: string;
  /** The SQLite database (undefined on PostgreSQL). */
  db: Db | undefined;
  logger: Logger;
  /** The localhost metrics listener's port (--metrics-port). */
  metricsPort: number | undefined;
  /** Stops accepting, lets in-flight requests finish within the grace period, flushes records, closes the database. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Where the logger's lines go (default: stdout). */
  log?: (line: string) => void;
  /** The time the server believes it is: budget periods, expiry and row times (tests move it). */
  clock?: () => number;
}

export async function startServer(config: ServerConfig, { log: sink, clock = Date.now }: StartOptions = {}): Promise<RunningServer> {
  const logger = createLogger({ format: config.logFormat, level: config.logLevel, sink });
  const log = lineLogger(logger);
  loadCatalog();
  const health = createStorageHealth({ log });
  let onCommit = (_rows: number, _seconds: number) => {};
  const storageOptions = {
    health,
    log,
    clock,
    onCommit: (rows: number, seconds: number) => onCommit(rows, seconds),
    usageRetentionDays: config.usageRetentionDays,
    inFlight: () => app.server?.pendingRequests ?? 0,
  };
  const storage = await openStorage(config, storageOptions);
  const failures = createFailureTally((rows) => storage.addFailures(rows), log);
  const { verifier, keys } = await keyServices(storage, config, clock).catch(async (err: unknown) => {
    await storage.close();
    throw err;
  });
  const localLimiter = createFixedWindowLimiter(clock);
  const redis = config.redisUrl === undefined ? undefined : createRedisLink({ url: config.redisUrl, log });
  await redis?.ready;
  const shared = redis && createSharedLimiter({ link: redis, local: localLimiter, clock });
  const memoryCounters = createMemoryCounters({ loadSpent: storage.loadSpent });
  // With Redis, every limit is shared; spend is read from the database every instance writes to.
  const counters = redis ? createSharedCounters({ link: redis, local: memoryCounters, loadSpent: storage.loadSpent }) : memoryCounters;
  if (config.databaseUrl !== undefined && !redis) {
    logger.warn("PostgreSQL without GATEWAY_REDIS_URL: request, token, parallel and budget limits are counted in each instance; with more than one instance, set GATEWAY_REDIS_URL to share them");
  }
  if (storage.others.length > 0) {
    if (shared) logger.info(`other gateway servers are serving ${config.dbPath} (${storage.others.join(", ")}): limits are shared through Redis`);
    else logger.warn(`another gateway server is serving ${config.dbPath} (${storage.others.join(", ")}): request, token, parallel and budget limits are counted in each process, so those limits apply per server (set GATEWAY_REDIS_URL to share them)`);
  }
  // Literal model names of the providers (not patterns: "gpt-*" would let anyone invent labels) and priced models.
  const configured = new Set(config.providers.flatMap((p) => p.models.filter((m) => !/[*?]/.test(m))));
  const metrics = createMetrics({
    perKey: config.metricsPerKey,
    knownModel: (m) => configured.has(m) || config.prices.has(m),
    gauges: { ...storage.gauges, inFlight: () => app.server?.pendingRequests ?? 0 },
  });
  onCommit = metrics.committed;
  const access = accessLog(logger);
  const recorder = storage.recorder;
  const route = createRouter(config.providers, { routes: config.routes, cooldown: config.cooldown });
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
    maxOutputTokens: (model: string) => config.prices.find([model])?.maxOutputTokens ?? config.defaultMaxOutputTokens,
    outputLimit: (model: string) => config.prices.find([model])?.maxOutputTokens,
    defaultMaxToolCalls: config.defaultMaxToolCalls,
    log,
  };
  const app = createApp({
    version: VERSION,
    usage: storage.usage,
    keys,
    gate: createCustomerGate(verifier, shared ?? localLimiter, admission.limitHeaders),
    adminEnabled: config.adminToken !== undefined,
    requireAdmin: createAdminGuard(config.adminToken, { log, maxFailuresPerMinute: config.adminFailuresPerMinute }),
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
    metrics,
    metricsToken: config.metricsToken,
    clock,
    observe: {
      trustProxy: config.trustProxy,
      report: (r) => {
        metrics.observe(r);
        failures.observe(r);
        access(r);
      },
    },
    log,
  });
  app.listen({
    port: config.port,
    hostname: config.host,
    // Declared sizes get our OpenAI-shaped 413 before any body is read, and chunked bodies are counted
    // as they are read: Bun's own limit (an empty 413) must never come first.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // Idle keep-alive connections and stalled requests are closed; a chat request lifts it once its
    // body is in (the upstream timeout governs from then on).
    idleTimeout: Math.ceil(config.idleTimeoutMs / 1000),
  });
  const server = app.server!;
  const metricsServer = config.metricsPort === undefined ? undefined : serveMetricsPort(metrics, config.metricsPort);
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${server.hostname === "0.0.0.0" ? "127.0.0.1" : server.hostname}:${server.port}`,
    port: server.port!,
    metricsPort: metricsServer?.port,
    where: storage.where,
    db: storage.db,
    logger,
    stop() {
      stopping ??= (async () => {
        const graceful = server.stop(false);
        const timedOut = await Promise.race([
          graceful.then(() => false),
          Bun.sleep(config.shutdownGraceMs).then(() => true),
        ]);
        if (timedOut) await server.stop(true);
        await metricsServer?.stop(true);
        metrics.stop();
        redis?.close();
        await failures.stop();
        await storage.close();
        logger.flush();
      })();
      return stopping;
    },
  };
}

/** The verifier and the key service over the storage, once the lookup secret is known to be the database's. */
async function keyServices(storage: Storage, config: ServerConfig, clock: () => number) {
  const secret = await storageSecret(config, () => storage.keys.secretInUse());
  const verifier = createKeyVerifier({ rows: storage.keyRows, secret, clock });
  const keys = createKeyService({ store: storage.keys, secret, clock, adminToken: config.adminToken, onChange: verifier.invalidate });
  await keys.ready; // refuses a secret other than the database's
  return { verifier, keys };
}
