// The primary thread of a server: opens the storage and owns what every request thread shares — the
// counters behind every limit, the usage recorder (and SQLite's writer thread), metrics, the access log
// — then serves (serve-app.ts), with serve --workers also from request threads (workers/primary.ts).
import type { Server } from "bun";
import type { ServerConfig } from "./config.ts";
import type { Db } from "./store/sqlite/client.ts";
import { createStorageHealth } from "./usage/health.ts";
import { openStorage } from "./store/open.ts";
import { createSharedLimiter } from "./limits/shared-window.ts";
import { createRedisLink } from "./limits/redis-link.ts";
import { redisResponseCache } from "./cache/redis-store.ts";
import { createMemoryCounters } from "./admission/counters.ts";
import { createSharedCounters } from "./admission/shared-counters.ts";
import { createFixedWindowLimiter } from "./limits/fixed-window.ts";
import { createFailureTally } from "./observe/failures.ts";
import { loadCatalog } from "./usage/catalog.ts";
import { accessLog } from "./observe/access-log.ts";
import { createLogger, lineLogger, type Logger } from "./observe/logger.ts";
import { createMetrics } from "./observe/metrics.ts";
import type { RequestReport } from "./observe/report.ts";
import { serveMetricsPort } from "./observe/routes.ts";
import { serveApp } from "./serve-app.ts";
import { startRefillJob } from "./customers/service.ts";
import { startWebhooks } from "./webhooks/run.ts";
import { startRequestThreads } from "./workers/primary.ts";

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
    inFlight: () => inFlight(),
  };
  let listening: Server<unknown> | undefined;
  let threads: Awaited<ReturnType<typeof startRequestThreads>> | undefined;
  // Requests being served now, by every thread (the group commit waits for company only when there are some).
  const inFlight = () => (listening?.pendingRequests ?? 0) + (threads?.inFlight() ?? 0);
  const storage = await openStorage(config, storageOptions);
  const failures = createFailureTally((rows) => storage.addFailures(rows), log);
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
    gauges: { ...storage.gauges, inFlight },
  });
  onCommit = metrics.committed;
  const access = accessLog(logger);
  // A request thread writes its own requests' access lines (through the primary's log, as text).
  const report = (r: RequestReport, worker = 0) => {
    metrics.observe(r, worker);
    failures.observe(r);
    if (worker === 0) access(r);
  };
  const limiter = shared ?? localLimiter;
  // With Redis, cached answers are shared there; else SQLite keeps them (PostgreSQL alone: no cache).
  const responseCache = redis ? redisResponseCache(redis) : storage.responseCache;
  const parts = { counters, limiter, recorder: storage.recorder, health, metrics, clock, log, responseCache };
  const server = await serveApp(config, { ...parts, storage, report, port: config.port, reusePort: config.workers > 1 }).catch(async (err: unknown) => {
    await storage.close();
    throw err;
  });
  listening = server;
  const webhooks = startWebhooks({ settings: config.webhooks, stores: storage, log, clock, counted: metrics.webhook });
  const refills = startRefillJob({ store: storage.customers, retryWrites: storage.retryWrites, clock, everyMs: config.refillCheckMs, log });
  if (config.workers > 1) {
    threads = await startRequestThreads(config, { ...parts, port: server.port!, report, writeLine: logger.writeLine }).catch(async (err: unknown) => {
      await server.stop(true);
      await storage.close();
      throw err;
    });
  }
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
        // Every thread stops accepting and finishes its requests; the primary keeps answering the others'
        // calls (admissions, rows) until they are done.
        const graceful = Promise.all([server.stop(false), threads?.stop(config.shutdownGraceMs)]);
        const timedOut = await Promise.race([
          graceful.then(() => false),
          Bun.sleep(config.shutdownGraceMs).then(() => true),
        ]);
        if (timedOut) await server.stop(true);
        await threads?.stop(0);
        await metricsServer?.stop(true);
        metrics.stop();
        refills.stop();
        await webhooks.stop();
        redis?.close();
        await failures.stop();
        await storage.close();
        logger.flush();
      })();
      return stopping;
    },
  };
}
