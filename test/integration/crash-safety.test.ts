// The compiled binary under load: SIGKILL loses no completed request's row, SIGTERM drains, and the CLI
// writing at the same time never makes anything fail.
import { Database } from "bun:sqlite";
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { completion, startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway } from "../helpers/gateway.ts";
import { startServerProcess } from "../helpers/process.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
afterAll(() => upstream.stop());

const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
// Every inbound API in turn: its path, its body, and what its complete answer contains.
const KINDS = [
  { path: "chat/completions", body, done: "chat.completion" },
  { path: "embeddings", body: JSON.stringify({ model: "text-embedding-3-small", input: ["hi", "there"] }), done: '"embedding"' },
  { path: "chat/completions", body, done: "chat.completion" },
  { path: "messages", body: JSON.stringify({ model: "gpt-4o", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }), done: '"type":"message"' },
  { path: "responses", body: JSON.stringify({ model: "gpt-4o", input: "hi" }), done: '"object":"response"' },
];

/**
 * Clients that keep sending until told to stop (chat, embeddings, messages and responses in turn);
 * returns the request ids whose full response arrived.
 */
function loadClients(url: string, key: string, clients: number, prefix: string) {
  let running = true;
  const completed: string[] = [];
  const failures: string[] = [];
  let n = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const id = `${prefix}-${n}`;
      const kind = KINDS[n++ % KINDS.length]!;
      try {
        const res = await fetch(`${url}/v1/${kind.path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "x-request-id": id }, body: kind.body });
        const text = await res.text();
        if (res.status === 200 && text.includes(kind.done)) completed.push(id);
        else failures.push(`${res.status} ${text.slice(0, 120)}`);
      } catch (err) {
        if (running) failures.push(String(err));
      }
    }
  });
  return {
    completed,
    failures,
    stop: async () => {
      running = false;
      await Promise.allSettled(loops);
    },
  };
}

function rows(dbPath: string) {
  const db = new Database(dbPath);
  try {
    return {
      integrity: (db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
      ids: (db.query("SELECT request_id FROM usage").all() as { request_id: string }[]).map((r) => r.request_id),
    };
  } finally {
    db.close();
  }
}

describe("crash safety", () => {
  test("SIGKILL mid-load: every completed request has exactly one row; the database is intact and serves again", async () => {
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url });
    const { key } = await gw.createKey("crash", 1_000_000);
    await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }); // bcrypt once
    const load = loadClients(gw.url, key, 32, "crash");
    while (load.completed.length < 3000) await Bun.sleep(20);
    await gw.stop("SIGKILL");
    await load.stop();

    const after = rows(gw.dbPath);
    expect(after.integrity).toBe("ok");
    const counts = new Map<string, number>();
    for (const id of after.ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts.values()].every((c) => c === 1)).toBe(true); // no row twice
    const missing = load.completed.filter((id) => counts.get(id) !== 1);
    expect(missing).toEqual([]); // every response a client received has its row
    expect(load.completed.length).toBeGreaterThanOrEqual(3000);

    const again = await startServerProcess({ cwd: gw.dir, binary: join(gw.dir, "gateway"), env: gw.env });
    try {
      const res = await fetch(`${again.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "x-request-id": "after-restart" }, body });
      expect(res.status).toBe(200);
      await res.text();
    } finally {
      expect(await again.stop("SIGTERM")).toBe(0);
    }
    expect(rows(gw.dbPath).ids.filter((id) => id === "after-restart")).toHaveLength(1);
  });

  test("SIGTERM under load: stops accepting, finishes in-flight requests, writes their rows, exits 0", async () => {
    upstream.setHandler(async (b) => {
      await Bun.sleep(700);
      return Response.json(completion(b));
    });
    try {
      const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_SHUTDOWN_GRACE_MS: "5000" } });
      const { key } = await gw.createKey("drain", 1000);
      await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      const inFlight = Array.from({ length: 20 }, (_, i) =>
        fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "x-request-id": `drain-${i}` }, body }).then(async (r) => [r.status, await r.text()] as const),
      );
      await Bun.sleep(250);
      const exited = gw.stop("SIGTERM");
      await Bun.sleep(150);
      const late = await fetch(`${gw.url}/health`).then((r) => r.status, (e: unknown) => String(e));
      expect(late).not.toBe(200); // no longer accepting
      const results = await Promise.all(inFlight);
      expect(results.map(([s]) => s)).toEqual(Array(20).fill(200));
      expect(results.every(([, t]) => t.includes("Hello from the fake upstream"))).toBe(true);
      expect(await exited).toBe(0);
      const after = rows(gw.dbPath);
      expect(after.ids.filter((id) => id.startsWith("drain-")).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `drain-${i}`).sort());
      expect(gw.logs()).toContain("finishing in-flight requests");
    } finally {
      upstream.reset();
    }
  });

  test("the CLI creating, disabling and re-limiting keys in a loop while the server is under load: nothing fails", async () => {
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url });
    const { key } = await gw.createKey("steady", 1_000_000);
    const victim = await gw.createKey("victim", 100);
    await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    const load = loadClients(gw.url, key, 16, "steady");
    const binary = join(gw.dir, "gateway");
    const cli = (...args: string[]) => runCli(args, { cwd: gw.dir, binary, env: gw.env });
    const cliResults = [];
    for (let i = 0; i < 8; i++) {
      cliResults.push(await cli("create-key", `loop-${i}`, "--generate", "50"));
      cliResults.push(await cli(i % 2 ? "enable-key" : "disable-key", "victim"));
      cliResults.push(await cli("set-rate-limit", "victim", String(100 + i)));
      cliResults.push(await cli("list-keys", "--json"));
    }
    await load.stop();
    for (const r of cliResults) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    expect(load.failures).toEqual([]);
    expect(load.completed.length).toBeGreaterThan(200);
    expect(gw.logs()).not.toMatch(/busy|locked|SQLITE/i);
    const keys = JSON.parse(cliResults.at(-1)!.stdout) as { name: string; rate_limit_per_minute: number; is_active: boolean }[];
    expect(keys.find((k) => k.name === "victim")).toMatchObject({ rate_limit_per_minute: 107, is_active: true });
    expect(keys.filter((k) => k.name.startsWith("loop-"))).toHaveLength(8);
    void victim;
    await gw.stop();
    const after = rows(gw.dbPath);
    expect(after.ids.filter((id) => id.startsWith("steady-")).length).toBeGreaterThanOrEqual(load.completed.length);
  });
});
