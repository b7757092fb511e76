// A hung disk holds only the answers that wait for their rows: the database's file system frozen
// (fsfreeze, on a loop-mounted ext4, as root) for 3 s under load, while a sequential client times
// /health, a 401 and the models list. Without root or loop devices, another process holding the write
// lock for 3 s stands in (the writer's thread waits the same way).
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { tempDir } from "../helpers/tmp.ts";

setDefaultTimeout(120_000);

const upstream = startFakeUpstream();
afterAll(() => upstream.stop());

/** A 512 MB ext4 file system (room for the binary, which the helper puts beside the database) on a loop device, or null when this machine cannot make one. */
function mountLoopFs(): string | null {
  if (process.getuid?.() !== 0 || !Bun.which("fsfreeze") || !Bun.which("mkfs.ext4")) return null;
  const base = tempDir("gw-loopfs-");
  const image = join(base, "fs.img");
  const mount = join(base, "mnt");
  mkdirSync(mount);
  const ok = (cmd: string[]) => Bun.spawnSync(cmd, { stderr: "ignore", stdout: "ignore" }).exitCode === 0;
  if (!ok(["truncate", "-s", "512M", image]) || !ok(["mkfs.ext4", "-q", image]) || !ok(["mount", "-o", "loop", image, mount])) return null;
  return mount;
}
const loopFs = mountLoopFs();
afterAll(() => {
  if (!loopFs) return;
  Bun.spawnSync(["fsfreeze", "-u", loopFs], { stderr: "ignore" });
  Bun.spawnSync(["umount", "-l", loopFs]);
});

const chat = (g: TestGateway, key: string) =>
  fetch(`${g.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
  });

/** Stalls the database's writes for `ms`: freezes the file system, or holds the write lock from another process. */
async function stallWrites(dbPath: string, ms: number): Promise<{ over: Promise<void> }> {
  if (loopFs) {
    // Frozen and thawed by a process of its own: the thaw never waits for this one. It says "frozen" with a
    // file elsewhere.
    const marker = join(tempDir("gw-freeze-"), "frozen");
    const freezer = Bun.spawn(["sh", "-c", `fsfreeze -f '${loopFs}' && touch '${marker}'; sleep ${ms / 1000}; fsfreeze -u '${loopFs}'`], { stderr: "inherit" });
    const deadline = Date.now() + 5000;
    while (!existsSync(marker)) {
      if (Date.now() > deadline || freezer.exitCode !== null) throw new Error("fsfreeze did not freeze the file system");
      await Bun.sleep(5);
    }
    return { over: freezer.exited.then((code) => void expect(code).toBe(0)) };
  }
  const holder = Bun.spawn(
    [process.execPath, "-e", `const { Database } = require("bun:sqlite"); const db = new Database(${JSON.stringify(dbPath)}); db.run("BEGIN IMMEDIATE"); db.run("INSERT INTO meta (key, value) VALUES ('lock-holder', 'x') ON CONFLICT DO NOTHING"); console.log("locked"); await Bun.sleep(${ms}); db.run("COMMIT");`],
    { stdout: "pipe", stderr: "inherit" },
  );
  const { value } = await holder.stdout.getReader().read();
  expect(new TextDecoder().decode(value)).toContain("locked");
  return { over: holder.exited.then(() => undefined) };
}

describe("a hung disk", () => {
  test(`${loopFs ? "fsfreeze" : "a held write lock"} for 3 s under load: /health, 401s and /v1/models answer in milliseconds; every chat answer waits for its row and none is lost`, async () => {
    // Only the database on the file system that stalls (the binary and the logs beside it elsewhere).
    const dbPath = loopFs ? join(loopFs, "gateway.db") : undefined;
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: dbPath ? { GATEWAY_DB: dbPath } : {} });
    const rows = () => {
      const db = new Database(dbPath ?? gw.dbPath, { readonly: true });
      try {
        return (db.query("SELECT count(*) AS n FROM usage").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    let running = true;
    let clients: Promise<void>[] = [];
    try {
      const { key } = await gw.createKey("hung-disk");
      expect((await chat(gw, key)).status).toBe(200);
      // Load: 8 clients sending chat requests back to back until told to stop.
      const statuses: number[] = [];
      const finishedAt: number[] = [];
      clients = Array.from({ length: 8 }, async () => {
        while (running) {
          const res = await chat(gw, key);
          await res.arrayBuffer();
          statuses.push(res.status);
          finishedAt.push(Date.now());
        }
      });
      await Bun.sleep(300);
      const asked = Date.now();
      const stall = await stallWrites(dbPath ?? gw.dbPath, 3000);
      const stallStart = Date.now(); // writes are stalled from here (freezing itself waits for writes in progress)
      expect(stallStart - asked).toBeLessThan(2000);
      // A sequential client through the stall: the slowest of each.
      const slowest = { health: 0, unauthorized: 0, models: 0 };
      let backlog = { pending_rows: 0, oldest_pending_ms: 0 };
      const time = async (what: keyof typeof slowest, send: () => Promise<Response>, status: number) => {
        const t = performance.now();
        const res = await send();
        const body = await res.text();
        slowest[what] = Math.max(slowest[what], performance.now() - t);
        expect([what, res.status]).toEqual([what, status]);
        return body;
      };
      let probes = 0;
      while (Date.now() - stallStart < 2700) {
        probes++;
        const h = JSON.parse(await time("health", () => fetch(`${gw.url}/health`), 200)) as { writer: typeof backlog };
        if (h.writer.oldest_pending_ms > backlog.oldest_pending_ms) backlog = h.writer;
        await time("unauthorized", () => fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: "Bearer sk-not-a-key-0123456789" }, body: "{}" }), 401);
        await time("models", () => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }), 200);
        await Bun.sleep(20);
      }
      const answeredDuringStall = finishedAt.filter((t) => t > stallStart + 500 && t < stallStart + 2700).length;
      await stall.over;
      running = false;
      await Promise.all(clients);
      // The event loop kept answering; chat answers waited for their rows (none ended while rows could not commit).
      expect(probes).toBeGreaterThan(20);
      expect(slowest.health).toBeLessThan(250);
      expect(slowest.unauthorized).toBeLessThan(250);
      expect(slowest.models).toBeLessThan(250);
      expect(answeredDuringStall).toBe(0);
      // /health told of the rows waiting for the disk.
      expect(backlog.pending_rows).toBeGreaterThan(0);
      expect(backlog.oldest_pending_ms).toBeGreaterThan(1500);
      // Nothing lost: every answer is a 200 with its row.
      expect(statuses.length).toBeGreaterThan(8);
      expect(statuses.every((s) => s === 200)).toBe(true);
      const deadline = Date.now() + 10_000;
      while (rows() < statuses.length + 1 && Date.now() < deadline) await Bun.sleep(50);
      expect(rows()).toBe(statuses.length + 1);
    } finally {
      running = false;
      await Promise.allSettled(clients);
      await gw.stop();
      if (loopFs) for (const f of ["gateway.db", "gateway.db-wal", "gateway.db-shm"]) rmSync(join(loopFs, f), { force: true });
    }
  });
});
