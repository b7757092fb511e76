// Prepares a gateway directory for the benchmark: keys created through the compiled CLI, optionally
// padded with filler keys written directly (creating 100,000 keys through bcrypt would take hours).
import { Database } from "bun:sqlite";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lookupDigest } from "../src/keys/secret.ts";

export const BENCH_SECRET = "bench-lookup-secret-0123456789";

export interface GatewayDir {
  dir: string;
  dbPath: string;
  keys: string[];
  env: Record<string, string>;
}

/** `keyFlags` (create-key flags such as --budget) apply to every key but the first. */
/** `env` is added to the CLI's and the server's environment (e.g. GATEWAY_DATABASE_URL). */
export async function prepareGateway(binary: string, upstreamUrl: string, opts: { cliKeys: number; fillerKeys: number; keyFlags?: string[]; env?: Record<string, string> }): Promise<GatewayDir> {
  const dir = mkdtempSync(join(tmpdir(), "gw-bench-"));
  const env = { GATEWAY_SECRET: BENCH_SECRET, OPENAI_BASE_URL: `${upstreamUrl}/v1`, OPENAI_API_KEY: "sk-bench-provider", NO_COLOR: "1", ...opts.env };
  const keys: string[] = [];
  for (let i = 0; i < opts.cliKeys; i++) {
    const r = Bun.spawnSync([binary, "create-key", `bench-${i}`, "--generate", "1000000000", ...(i === 0 ? [] : (opts.keyFlags ?? []))], { cwd: dir, env: { ...process.env, ...env } });
    const key = /Plain key \(save this securely\): (\S+)/.exec(r.stdout.toString())?.[1];
    if (r.exitCode !== 0 || !key) throw new Error(`create-key failed: ${r.stderr}`);
    keys.push(key);
  }
  const dbPath = join(dir, "gateway.db");
  if (opts.fillerKeys > 0) {
    const db = new Database(dbPath);
    db.run("PRAGMA busy_timeout = 5000");
    const hash = await Bun.password.hash("filler-key-never-used", { algorithm: "bcrypt", cost: 4 });
    const insert = db.prepare("INSERT INTO api_keys (id, name, key_hash, lookup, rate_limit_per_minute, is_active, created_at, updated_at) VALUES (?, ?, ?, ?, 60, 1, ?, ?)");
    db.transaction(() => {
      const now = Date.now();
      for (let i = 0; i < opts.fillerKeys; i++) insert.run(crypto.randomUUID(), `filler-${i}`, hash, lookupDigest(BENCH_SECRET, `filler-${i}-${crypto.randomUUID()}`), now, now);
    })();
    db.run("ANALYZE");
    db.close();
  }
  return { dir, dbPath, keys, env };
}
