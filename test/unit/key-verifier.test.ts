import { describe, expect, test } from "bun:test";
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { Database } from "bun:sqlite";
import { openDatabase } from "../../src/store/sqlite/client.ts";
import { createKeyService } from "../../src/keys/service.ts";
import { sqliteKeyStore } from "../../src/store/sqlite/keys.ts";
import { createKeyVerifier } from "../../src/keys/verifier.ts";
import { sqliteKeyRows } from "../../src/store/sqlite/key-rows.ts";
import { harness, TEST_SECRET } from "../helpers/harness.ts";

function countingVerifier(h: ReturnType<typeof harness>) {
  const runs: string[] = [];
  const verify = createKeyVerifier({
    rows: sqliteKeyRows(h.db),
    secret: TEST_SECRET,
    bcryptVerify: (plain, hash) => {
      runs.push(plain);
      return Bun.password.verify(plain, hash);
    },
  });
  return { verify, runs };
}

// A request that arrives after a change is read in a later event-loop iteration than any request the
// server was already handling: the verifier checks for foreign changes once per iteration.
const nextIteration = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("key verification", () => {
  test("bcrypt runs once per key per process, even for concurrent first requests", async () => {
    const h = harness();
    const a = await h.keys.create({ name: "a", key: "sk-key-aaaaaaaa", rateLimitPerMinute: 5 });
    await h.keys.create({ name: "b", key: "sk-key-bbbbbbbb", rateLimitPerMinute: 7 });
    const { verify, runs } = countingVerifier(h);

    const first = await Promise.all(Array.from({ length: 20 }, () => verify("sk-key-aaaaaaaa")));
    expect(first.every((r) => r.ok && r.key.id === a.id && r.key.rateLimitPerMinute === 5)).toBe(true);
    for (let i = 0; i < 50; i++) expect((await verify("sk-key-aaaaaaaa")).ok).toBe(true);
    expect(runs).toEqual(["sk-key-aaaaaaaa"]);

    expect(await verify("sk-key-bbbbbbbb")).toMatchObject({ ok: true, key: { name: "b", rateLimitPerMinute: 7 } });
    await verify("sk-key-bbbbbbbb");
    expect(runs).toEqual(["sk-key-aaaaaaaa", "sk-key-bbbbbbbb"]);
  });

  test("an unknown key never triggers bcrypt", async () => {
    const h = harness();
    await h.keys.create({ name: "a", key: "sk-key-aaaaaaaa" });
    const { verify, runs } = countingVerifier(h);
    for (let i = 0; i < 200; i++) expect(await verify(`sk-unknown-${i}`)).toEqual({ ok: false, reason: "not_found" });
    expect(runs).toEqual([]);
  });

  test("disable, enable and re-limit from another connection (the CLI, a sqlite3 UPDATE) are seen by the next event-loop iteration's verification, without another bcrypt", async () => {
    const h = harness();
    const a = await h.keys.create({ name: "a", key: "sk-key-aaaaaaaa", rateLimitPerMinute: 5 });
    const { verify, runs } = countingVerifier(h);
    expect((await verify("sk-key-aaaaaaaa")).ok).toBe(true);
    expect((await verify("sk-key-aaaaaaaa")).ok).toBe(true); // served from the cache
    const cli = createKeyService({ store: sqliteKeyStore(openDatabase({ path: h.dbPath, busyTimeoutMs: 1000 })), secret: TEST_SECRET, bcryptCost: 4 });
    await cli.update(a.id, { isActive: false });
    await nextIteration();
    expect(await verify("sk-key-aaaaaaaa")).toEqual({ ok: false, reason: "disabled", id: a.id, name: "a" });
    await cli.update("a", { isActive: true, rateLimitPerMinute: 9 });
    await nextIteration();
    expect(await verify("sk-key-aaaaaaaa")).toMatchObject({ ok: true, key: { rateLimitPerMinute: 9 } });
    const shell = new Database(h.dbPath);
    shell.run("UPDATE api_keys SET rate_limit_per_minute = 3 WHERE name = 'a'");
    shell.close();
    // Within the iteration that already checked, requests that were already being read share its view.
    expect(await verify("sk-key-aaaaaaaa")).toMatchObject({ ok: true, key: { rateLimitPerMinute: 9 } });
    await nextIteration();
    expect(await verify("sk-key-aaaaaaaa")).toMatchObject({ ok: true, key: { rateLimitPerMinute: 3 } });
    expect(runs).toHaveLength(1);
  });

  test("a change from another connection is seen however the server's own commits interleave with it (the WAL-index header watch)", async () => {
    const h = harness();
    await h.keys.create({ name: "a", key: "sk-key-aaaaaaaa", rateLimitPerMinute: 1 });
    const { verify } = countingVerifier(h);
    const shell = new Database(h.dbPath);
    const own = h.db.$client.prepare("INSERT INTO meta (key, value) VALUES ('probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    const seen: number[] = [];
    for (let i = 2; i < 42; i++) {
      // The server's own commits (usage rows) before and after the verification, then a foreign one.
      for (let j = 0; j < i % 3; j++) own.run(String(i * 10 + j));
      await nextIteration();
      const before = await verify("sk-key-aaaaaaaa");
      expect(before).toMatchObject({ ok: true, key: { rateLimitPerMinute: i - 1 } });
      if (i % 2 === 0) own.run(`after-${i}`);
      shell.run("UPDATE api_keys SET rate_limit_per_minute = ? WHERE name = 'a'", [i]);
      await nextIteration();
      const after = await verify("sk-key-aaaaaaaa");
      if (after.ok) seen.push(after.key.rateLimitPerMinute);
    }
    shell.close();
    expect(seen).toEqual(Array.from({ length: 40 }, (_, k) => k + 2));
  });

  test("changes through the server's own connection (the admin API) reach the cache through onChange", async () => {
    const h = harness();
    const { verify } = countingVerifier(h);
    const keys = createKeyService({ store: sqliteKeyStore(h.db), secret: TEST_SECRET, bcryptCost: 4, onChange: verify.invalidate });
    const a = await keys.create({ name: "own", key: "sk-key-ownconn1" });
    expect((await verify("sk-key-ownconn1")).ok).toBe(true);
    await keys.update(a.id, { isActive: false });
    expect(await verify("sk-key-ownconn1")).toEqual({ ok: false, reason: "disabled", id: a.id, name: "own" });
  });

  test("a row whose bcrypt hash does not match the presented key is refused", async () => {
    const h = harness();
    const a = await h.keys.create({ name: "a", key: "sk-key-aaaaaaaa" });
    // Someone edited the hash in the database: the lookup digest matches but bcrypt must not.
    h.db.$client.run("UPDATE api_keys SET key_hash = ? WHERE id = ?", [await Bun.password.hash("other-key", { algorithm: "bcrypt", cost: 4 }), a.id]);
    const { verify } = countingVerifier(h);
    expect(await verify("sk-key-aaaaaaaa")).toEqual({ ok: false, reason: "not_found" });
  });
});

describe("a stolen database file alone does not identify keys", () => {
  test("stored columns are bcrypt and a secret-keyed HMAC, never the key or an unkeyed digest of it", async () => {
    const h = harness();
    const plain = "sk-stolen-db-check-123";
    const created = await h.keys.create({ name: "victim", key: plain });
    h.db.$client.run("PRAGMA wal_checkpoint(TRUNCATE)");
    const row = h.db.$client.query("SELECT * FROM api_keys WHERE id = ?").get(created.id) as Record<string, string>;
    expect(row.key_hash).toMatch(/^\$2[aby]\$\d\d\$/);
    const unkeyed = ["sha256", "sha512", "sha1", "md5"].flatMap((alg) => [
      createHash(alg).update(plain).digest("hex"),
      createHash(alg).update(plain).digest("base64"),
    ]);
    const file = readFileSync(h.dbPath);
    for (const value of [plain, ...unkeyed]) {
      expect(Object.values(row)).not.toContain(value);
      expect(file.includes(value)).toBe(false);
    }
    // The lookup is an HMAC under the server secret: without the secret it cannot be recomputed.
    expect(row.lookup).toBe(createHmac("sha256", TEST_SECRET).update(plain).digest("hex"));
    expect(row.lookup).not.toBe(createHmac("sha256", "guessed-secret-000000").update(plain).digest("hex"));
  });
});
