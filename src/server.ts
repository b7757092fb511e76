import { createApp } from "./app.ts";
import type { ServerConfig } from "./config.ts";
import { openDatabase, type Db } from "./db/client.ts";
import { loadSecret } from "./keys/secret.ts";
import { createKeyService } from "./keys/service.ts";
import { createKeyVerifier } from "./keys/verifier.ts";
import { VERSION } from "./version.ts";

export interface RunningServer {
  url: string;
  port: number;
  db: Db;
  /** Stops accepting, lets in-flight requests finish within the grace period, flushes records, closes the database. */
  stop(): Promise<void>;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const db = openDatabase({ path: config.dbPath, busyTimeoutMs: config.busyTimeoutMs });
  const secret = loadSecret(config.secret, config.secretFile);
  createKeyService({ db, secret }); // checks the secret matches this database
  const verifyKey = createKeyVerifier({ db, secret });
  void verifyKey;
  const app = createApp({ version: VERSION });
  app.listen({ port: config.port, hostname: config.host });
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
        db.$client.close();
      })();
      return stopping;
    },
  };
}
