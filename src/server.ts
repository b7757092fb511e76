import { createApp } from "./app.ts";
import type { ServerConfig } from "./config.ts";
import { startCheckpointer } from "./db/checkpointer.ts";
import { describeSqliteError, openDatabase, probeWrite, type Db } from "./db/client.ts";
import { createStorageHealth, watchDatabaseFile } from "./db/storage-health.ts";
import { registerInstance } from "./db/instances.ts";
import { createSharedLimiter } from "./limits/shared-window.ts";
import { createRedisLink } from "./limits/redis-link.ts";
import { UserError } from "./errors.ts";
import { loadSecret } from "./keys/secret.ts";
import { createAdmission } from "./admission/admit.ts";
import { createMemoryCounters } from "./admission/counters.ts";
import { createSharedCounters } from "./admission/shared-counters.ts";
import { spentSince } from "./usage/analytics.ts";
import { createKeyService, secretInUse } from "./keys/service.ts";
import { createKeyVerifier } from "./keys/verifier.ts";
import { createAdminGuard } from "./keys/admin-auth.ts";
import { createCustomerGate } from "./keys/auth.ts";
import { createModelCatalog } from "./providers/models.ts";
import { createFixedWindowLimiter } from "./limits/fixed-window.ts";
import { createChatProxy } from "./providers/chat-proxy.ts";
import { createEmbeddingsProxy } from "./providers/embeddings-proxy.ts";
import { createResponsesProxy } from "./providers/responses-proxy.ts";
import { createMessagesProxy } from "./providers/messages-proxy.ts";
import { createRouter } from "./providers/router.ts";
import { createUsageRecorder } from "./usage/recorder.ts";
import { findPrice } from "./usage/pricing.ts";
import { startRollupJob } from "./usage/rollup.ts";
import { startRetentionJob } from "./usage/retention.ts";
import { VERSION } from "./version.ts";
import { statSync } from "node:fs";
import { accessLog } from "./observe/access-log.ts";
import { createLogger, lineLogger, type Logger } from "./observe/logger.ts";
import { createMetrics } from "./observe/metrics.ts";
import { serveMetricsPort } from "./observe/routes.ts";

export interface RunningServer {
  url: string;
  port: number;
  db: Db;
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
  // Start-up may wait for other processes' locks (migrations); once serving, the event loop never does.
  const db = openDatabase({ path: config.dbPath, busyTimeoutMs: config.busyTimeoutMs });
  assertWritable(db, config.dbPath);
  const secret = loadSecret(config.secret, config.secretFile, { mayCreate: !secretInUse(db) });
  const verifier = createKeyVerifier({ db, secret, clock });
  // Refuses a secret other than the database's.
  const keys = createKeyService({ db, secret, clock, adminToken: config.adminToken, onChange: verifier.invalidate });
  db.$client.run("PRAGMA busy_timeout = 0");
  db.$client.run("PRAGMA wal_autocheckpoint = 0"); // checkpoints run on a worker thread instead
  db.$client.run(`PRAGMA journal_size_limit = ${32 * 1024 * 1024}`);
  db.$client.run("PRAGMA cache_size = -16000"); // 16 MB: the key lookup index of 100,000 keys stays in memory
  const writerCheckpoint = db.$client.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  const checkpointer = startCheckpointer(config.dbPath, {
    log,
    afterCheckpoint: () => {
      try {
        writerCheckpoint.get();
      } catch {} // busy or failing: the worker's next round tries again
    },
  });
  const health = createStorageHealth({ log });
  const localLimiter = createFixedWindowLimiter(clock);
  const redis = config.redisUrl === undefined ? undefined : createRedisLink({ url: config.redisUrl, log });
  await redis?.ready;
  const shared = redis && createSharedLimiter({ link: redis, local: localLimiter, clock });
  const memoryCounters = createMemoryCounters({ loadSpent: (keyId, from) => spentSince(db, keyId, from) });
  // With Redis, every limit is shared; spend is read from the database every instance writes to.
  const counters = redis
    ? createSharedCounters({ link: redis, local: memoryCounters, loadSpent: (keyId, from) => spentSince(db, keyId, from), slotTtlMs: config.upstreamTimeoutMs + 60_000 })
    : memoryCounters;
  const instance = registerInstance({ sqlite: db.$client });
  if (instance.others.length > 0) {
    if (shared) logger.info(`other gateway servers are serving ${config.dbPath} (${instance.others.join(", ")}): limits are shared through Redis`);
    else logger.warn(`another gateway server is serving ${config.dbPath} (${instance.others.join(", ")}): request, token, parallel and budget limits are counted in each process, so those limits apply per server (set GATEWAY_REDIS_URL to share them)`);
  }
  const fileWatch = watchDatabaseFile(config.dbPath, health);
  const metrics = createMetrics({
    perKey: config.metricsPerKey,
    gauges: { unfoldedRows: () => unfolded.get()?.n ?? 0, walBytes: () => fileSize(`${config.dbPath}-wal`), inFlight: () => app.server?.pendingRequests ?? 0 },
  });
  const unfolded = db.$client.query<{ n: number }, []>("SELECT coalesce((SELECT max(id) FROM usage), 0) - coalesce((SELECT last_usage_id FROM rollup_state), 0) AS n");
  const access = accessLog(logger);
  const recorder = createUsageRecorder({ db, health, busyTimeoutMs: config.busyTimeoutMs, log, onCommit: metrics.committed });
  const rollups = startRollupJob({ sqlite: db.$client, log });
  const retention = config.usageRetentionDays === undefined ? undefined : startRetentionJob({ sqlite: db.$client, days: config.usageRetentionDays, clock, log });
  const route = createRouter(config.providers, { routes: config.routes, cooldown: config.cooldown });
  const admission = createAdmission({ counters, prices: config.prices, defaultMaxOutputTokens: config.defaultMaxOutputTokens, clock });
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
    maxOutputTokens: (model: string) => findPrice(config.prices, model)?.maxOutputTokens ?? config.defaultMaxOutputTokens,
    log,
  };
  const app = createApp({
    version: VERSION,
    db,
    keys,
    admit: createCustomerGate(verifier, shared ?? localLimiter, admission.limitHeaders),
    adminEnabled: config.adminToken !== undefined,
    requireAdmin: createAdminGuard(config.adminToken, { log, maxFailuresPerMinute: config.adminFailuresPerMinute }),
    health,
    admission,
    maxBodyBytes: config.maxBodyBytes,
    busyTimeoutMs: config.busyTimeoutMs,
    models: createModelCatalog({ providers: config.providers, route, log }),
    chat: createChatProxy({ ...proxied, defaultModel: config.defaultModel }),
    embeddings: createEmbeddingsProxy(proxied),
    responses: createResponsesProxy({ ...proxied, db, providers: config.providers, defaultModel: config.defaultModel }),
    messages: createMessagesProxy({ ...proxied, defaultModel: config.defaultModel }),
    metrics,
    metricsToken: config.metricsToken,
    clock,
    observe: {
      trustProxy: config.trustProxy,
      report: (r) => {
        metrics.observe(r);
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
    db,
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
        await recorder.drain();
        recorder.stop();
        fileWatch.stop();
        rollups.stop();
        retention?.stop();
        instance.stop();
        redis?.close();
        await checkpointer.stop();
        db.$client.close();
        logger.flush();
      })();
      return stopping;
    },
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** A server that could not write its rows would answer 200s it cannot bill: refuse to start instead. */
function assertWritable(db: Db, path: string): void {
  try {
    probeWrite(db.$client);
  } catch (err) {
    db.$client.close();
    throw new UserError(`cannot write to database ${path}: ${describeSqliteError(err)} (check the file's and its directory's permissions and free disk space)`);
  }
}
