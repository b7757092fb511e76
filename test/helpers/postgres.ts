// A private PostgreSQL server (Debian's package) in a temp dir on a free port, for tests. initdb refuses
// to run as root, so as root the cluster belongs to the `postgres` user the package creates. It can be
// stopped and started again on the same port (fault tests).
import type { Subprocess } from "bun";
import { chownSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ensureInstalled } from "./debian.ts";
import { freePort } from "./net.ts";
import { tempDir } from "./tmp.ts";

export interface TestPostgres {
  /** The server's own `postgres` database. */
  url: string;
  /** A new empty database on this server. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const find = () => (existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)).map((v) => join(root, v, "bin")).find((d) => existsSync(join(d, "initdb"))) : undefined);
  // The server's initdb, not psql: a machine may ship the PostgreSQL client without the server.
  ensureInstalled("postgresql", "the PostgreSQL tests", "initdb", () => find() !== undefined);
  const installed = find();
  if (!installed) throw new Error("the PostgreSQL tests need Debian's postgresql: run 'sudo apt-get install -y postgresql'");
  return installed;
}

let counter = 0;

export async function startPostgres(): Promise<TestPostgres> {
  const bin = binDir();
  const root = process.getuid?.() === 0;
  const asOwner = (cmd: string[]) => (root ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd);
  const dir = tempDir("gw-pg-");
  const data = join(dir, "data");
  if (root) {
    const pw = Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim();
    const gid = Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim();
    chownSync(dir, Number(pw), Number(gid));
  }
  const init = Bun.spawnSync(asOwner([join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]), { stdout: "pipe", stderr: "pipe" });
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let proc: Subprocess | undefined;
  const start = async () => {
    proc = Bun.spawn(
      asOwner([join(bin, "postgres"), "-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200"]),
      { stdout: "pipe", stderr: "pipe" },
    );
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ready = Bun.spawnSync([join(bin, "pg_isready"), "-h", "127.0.0.1", "-p", String(port), "-U", "postgres"]).exitCode === 0;
      if (ready) return;
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`postgres did not start on port ${port}: ${await new Response(proc.stderr as ReadableStream).text()}`);
      await Bun.sleep(50);
    }
  };
  await start();
  return {
    url,
    start,
    async createDatabase(name = `gw_${process.pid}_${++counter}`) {
      const sql = new Bun.SQL(url);
      await sql.unsafe(`CREATE DATABASE ${name}`);
      await sql.close();
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      // Immediate shutdown, like a crash (no checkpoint); the next start recovers. Through pg_ctl:
      // runuser does not pass signals on to the server.
      Bun.spawnSync(asOwner([join(bin, "pg_ctl"), "stop", "-D", data, "-m", "immediate"]), { stdout: "ignore", stderr: "ignore" });
      await proc?.exited;
    },
  };
}
