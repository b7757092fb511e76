import { createApp } from "./app.ts";
import type { ServerConfig } from "./config.ts";
import { startCheckpointer } from "./db/checkpointer.ts";
import { openDatabase, type Db } from "./db/client.ts";
import { loadSecret } from "./keys/secret.ts";
import { createKeyService } from "./keys/service.ts";
import { createKeyVerifier } from "./keys/verifier.ts";
import { createAdminGuard } from "./keys/admin-auth.ts";
import { createCustomerGate } from "./keys/auth.ts";
import { modelList } from "./providers/models.ts";
import { createFixedWindowLimiter } from "./limits/fixed-window.ts";
import { createChatProxy } from "./providers/chat-proxy.ts";
import { createRouter } from "./providers/router.ts";
import { createUsageRecorder } from "./usage/recorder.ts";
import { startRollupJob } from "./usage/rollup.ts";
import { VERSION } from "./version.ts";

export interface RunningServer {
  url: string;
  port: number;
  db: Db;
  /** Stops accepting, lets in-flight requests finish within the grace period, flushes records, closes the database. */
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: (line: string) => void;
}

export async function startServer(config: ServerConfig, { log = console.error }: StartOptions = {}): Promise<RunningServer> {
  const db = openDatabase({ path: config.dbPath, busyTimeoutMs: config.busyTimeoutMs });
  db.$client.run("PRAGMA wal_autocheckpoint = 0"); // checkpoints run on a worker thread instead
  db.$client.run(`PRAGMA journal_size_limit = ${32 * 1024 * 1024}`);
  db.$client.run("PRAGMA cache_size = -16000"); // 16 MB: the key lookup index of 100,000 keys stays in memory
  const checkpointer = startCheckpointer(config.dbPath, { log });
  const secret = loadSecret(config.secret, config.secretFile);
  const keys = createKeyService({ db, secret, adminToken: config.adminToken }); // refuses a secret other than the database's
  const recorder = createUsageRecorder({ db, log });
  const rollups = startRollupJob({ sqlite: db.$client, log });
  const app = createApp({
    version: VERSION,
    db,
    keys,
    admit: createCustomerGate(createKeyVerifier({ db, secret }), createFixedWindowLimiter()),
    requireAdmin: createAdminGuard(config.adminToken),
    models: modelList(config.providers, config.prices),
    chat: createChatProxy({
      route: createRouter(config.providers),
      prices: config.prices,
      recorder,
      maxBodyBytes: config.maxBodyBytes,
      upstreamTimeoutMs: config.upstreamTimeoutMs,
      log,
    }),
    log,
  });
  app.listen({
    port: config.port,
    hostname: config.host,
    // Our own check answers 413 in OpenAI's shape; Bun's limit is only the backstop for chunked bodies.
    maxRequestBodySize: Math.max(config.maxBodyBytes * 2, 1024 * 1024),
  });
  const server = app.server!;
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${server.hostname === "0.0.0.0" ? "127.0.0.1" : server.hostname}:${server.port}`,
    port: server.port!,
    db,
    stop() {
      stopping ??= (async () => {
        const graceful = server.stop(false);
        const timedOut = await Promise.race([
          graceful.then(() => false),
          Bun.sleep(config.shutdownGraceMs).then(() => true),
        ]);
        if (timedOut) await server.stop(true);
        recorder.flush();
        rollups.stop();
        await checkpointer.stop();
        db.$client.close();
      })();
      return stopping;
    },
  };
}
