// A request thread of serve --workers (started by primary.ts): serves the primary's port with the same
// app, over its own database connection for keys and reports, and the primary's counters, limiter,
// recorder and metrics (remote.ts). Its log lines and request reports go to the primary, which writes
// them with its own.
import type { Server } from "bun";
import { loadServerConfig } from "../config.ts";
import { accessLog } from "../observe/access-log.ts";
import { createLogger, lineLogger } from "../observe/logger.ts";
import { serveApp } from "../serve-app.ts";
import { redisResponseCache } from "../cache/redis-store.ts";
import { createRedisLink } from "../limits/redis-link.ts";
import { openReader } from "../store/open.ts";
import type { ReaderStorage } from "../store/types.ts";
import { loadCatalog } from "../usage/catalog.ts";
import { createStorageHealth } from "../usage/health.ts";
import { createChannel } from "./channel.ts";
import { STATE_EVERY_MS, type ThreadInit } from "./primary.ts";
import { remoteParts, type PrimaryState } from "./remote.ts";

declare const self: Worker;

let server: Server<unknown> | undefined;
let storage: ReaderStorage | undefined;
let remote: ReturnType<typeof remoteParts> | undefined;
// The primary's verdict on recording usage: a request it could not bill is refused here before it leaves.
const health = createStorageHealth({ log: () => {} });

const channel = createChannel((batch) => self.postMessage(batch), {
  async start(init: ThreadInit) {
    const config = loadServerConfig({ ...init.flags, port: String(init.port) }, init.env);
    const logger = createLogger({ format: config.logFormat, level: config.logLevel, sink: (line) => channel.send("log", line) });
    const log = lineLogger(logger);
    const access = accessLog(logger);
    loadCatalog();
    storage = await openReader(config, log);
    const parts = remoteParts(channel);
    remote = parts;
    server = await serveApp(config, {
      storage,
      counters: parts.counters,
      limiter: parts.limiter,
      recorder: parts.recorder,
      health,
      metrics: parts.metrics,
      report: (r) => {
        access(r);
        parts.report(r);
      },
      log,
      clock: Date.now,
      port: init.port,
      reusePort: true,
      responseCache: config.redisUrl ? redisResponseCache(createRedisLink({ url: config.redisUrl, log })) : storage.responseCache,
    });
    const load = setInterval(() => channel.send("load", server?.pendingRequests ?? 0), STATE_EVERY_MS);
    load.unref();
  },
  state(s: PrimaryState) {
    remote?.setState(s);
    health.set("writer", s.fault);
  },
  /** Stops accepting; requests in flight finish within `graceMs` (0: closed now); rows handed over are answered. */
  async stop(graceMs: number) {
    if (server) {
      const graceful = server.stop(graceMs === 0);
      if ((await Promise.race([graceful.then(() => false), Bun.sleep(graceMs).then(() => true)])) === true) await server.stop(true);
    }
    await remote?.recorder.drain();
    await storage?.close();
    storage = undefined;
  },
});

self.onmessage = (e: MessageEvent<string>) => channel.receive(e.data);
