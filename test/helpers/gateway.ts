// Starts a real gateway on port 0, from source (in-process) or as the compiled binary in an empty dir.
import { Database } from "bun:sqlite";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadServerConfig } from "../../src/config.ts";
import { createKeyService } from "../../src/keys/service.ts";
import { SQL } from "bun";
import { pgKeyStore } from "../../src/store/postgres/keys.ts";
import { sqliteKeyStore } from "../../src/store/sqlite/keys.ts";
import { startServer } from "../../src/server.ts";
import { binaryIn, parseCreated, runCli, type CliResult } from "./cli.ts";
import { TEST_SECRET } from "./harness.ts";
import { startServerProcess } from "./process.ts";
import { tempDir } from "./tmp.ts";

export const PROVIDER_KEY = "sk-provider-operator-secret-0001";

export type GatewayMode = "source" | "binary";

export interface GatewayOptions {
  mode?: GatewayMode;
  upstreamUrl: string;
  env?: Record<string, string>;
  /** TOML written to gateway.toml and passed with --config. */
  configToml?: string;
  /** Directory for the database (default: a fresh temp dir). */
  dir?: string;
  /** Source mode only: the server's clock (budget periods, expiry, row times). */
  clock?: () => number;
}

export interface TestGateway {
  url: string;
  /** Process id of the server (the test process itself in source mode). */
  pid: number;
  dir: string;
  dbPath: string;
  env: Record<string, string>;
  createKey(name: string, rateLimit?: number, flags?: string[]): Promise<{ id: string; key: string }>;
  /** Runs the CLI (the binary in binary mode) against this gateway's database and environment. */
  cli(args: string[], stdin?: string): Promise<CliResult>;
  /** The usage table, read from the file by a separate connection. */
  rows(): Record<string, unknown>[];
  logs(): string;
  /** Stops the server; for the binary, with the given signal (default SIGTERM), resolving to its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | void>;
}

export async function startGateway(opts: GatewayOptions): Promise<TestGateway> {
  const dir = opts.dir ?? tempDir();
  const dbPath = join(dir, "gateway.db");
  const env: Record<string, string> = {
    GATEWAY_SECRET: TEST_SECRET,
    OPENAI_BASE_URL: opts.upstreamUrl,
    OPENAI_API_KEY: PROVIDER_KEY,
    ...opts.env,
  };
  const args: string[] = [];
  if (opts.configToml !== undefined) {
    writeFileSync(join(dir, "gateway.toml"), opts.configToml);
    args.push("--config", join(dir, "gateway.toml"));
  }
  const rows = () => {
    const db = new Database(dbPath, { readonly: true });
    try {
      return db.query("SELECT * FROM usage ORDER BY id").all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };

  // On PostgreSQL the CLI finds the database through the environment; --db would be a contradiction.
  const onPostgres = env.GATEWAY_DATABASE_URL !== undefined;
  if (opts.mode === "binary") {
    const binary = await binaryIn(dir);
    const proc = await startServerProcess({ cwd: dir, binary, env, args });
    return {
      url: proc.url,
      pid: proc.proc.pid,
      dir,
      dbPath,
      env,
      async createKey(name, rateLimit = 1000, flags = []) {
        const r = await runCli(["create-key", name, "--generate", String(rateLimit), ...flags], { cwd: dir, binary, env });
        if (r.code !== 0) throw new Error(r.stderr);
        return parseCreated(r.stdout);
      },
      cli: (args, stdin) => runCli([...args, ...(onPostgres ? [] : ["--db", dbPath])], { cwd: dir, binary, env, stdin }),
      rows,
      logs: proc.output,
      stop: (signal: NodeJS.Signals = "SIGTERM") => proc.stop(signal),
    };
  }

  const lines: string[] = [];
  const log = (l: string) => void lines.push(l);
  const config = loadServerConfig({ db: onPostgres ? undefined : dbPath, port: "0", host: "127.0.0.1", config: args[1] }, env);
  const server = await startServer(config, { log, clock: opts.clock });
  // Keys made quickly (bcrypt cost 4) through a connection of the test's own, to the server's store.
  const pg = config.databaseUrl === undefined ? undefined : new SQL(config.databaseUrl);
  const keys = createKeyService({ store: pg ? pgKeyStore(pg) : sqliteKeyStore(server.db!), secret: TEST_SECRET, bcryptCost: 4 });
  return {
    url: server.url,
    pid: process.pid,
    dir,
    dbPath,
    env,
    async createKey(name, rateLimit = 1000, flags = []) {
      if (flags.length > 0) {
        const r = await runCli(["create-key", name, "--generate", String(rateLimit), ...flags, ...(onPostgres ? [] : ["--db", dbPath])], { cwd: dir, env });
        if (r.code !== 0) throw new Error(r.stderr);
        return parseCreated(r.stdout);
      }
      const k = await keys.create({ name, rateLimitPerMinute: rateLimit });
      return { id: k.id, key: (k as { key: string }).key };
    },
    cli: (args, stdin) => runCli([...args, ...(onPostgres ? [] : ["--db", dbPath])], { cwd: dir, env, stdin }),
    rows,
    logs: () => lines.join("\n"),
    async stop() {
      await server.stop();
      await pg?.close();
    },
  };
}

/** Waits for a fresh rate-limit window if the current minute is about to end, so counting tests are not split. */
export async function awayFromMinuteEdge(marginMs = 8000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < marginMs) await Bun.sleep(left + 50);
}
