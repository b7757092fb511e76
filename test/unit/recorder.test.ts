// The group-commit recorders, on a real SQLite file and a real PostgreSQL server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createStorageHealth } from "../../src/db/storage-health.ts";
import { createPgUsageRecorder } from "../../src/store/pg-recorder.ts";
import { openPostgres } from "../../src/store/postgres.ts";
import { createUsageRecorder, type UsageRecord, type UsageRecorder } from "../../src/usage/recorder.ts";
import { harness } from "../helpers/harness.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(() => pg?.stop());

const row = (keyId: string, i: number): UsageRecord => ({
  requestId: `rec-${i}`, keyId, modelRequested: "gpt-4o", modelAnswered: "gpt-4o", provider: "test", promptTokens: 10, completionTokens: 5,
  cachedTokens: null, reasoningTokens: null, costNanoUsd: 100, estimated: false, upstreamStatus: 200, latencyMs: 2.6, streamed: false, createdAt: Date.now(),
});

async function recorders(): Promise<[string, UsageRecorder, string][]> {
  const h = harness();
  const sqliteKey = (await h.keys.create({ name: "rec", key: "sk-recorder-key-1" })).id;
  const sql = await openPostgres(await pg.createDatabase());
  await sql`INSERT INTO api_keys (id, name, key_hash, lookup, rate_limit_per_minute, is_active, created_at, updated_at) VALUES ('pg-key', 'rec', 'h', 'l', 60, true, 0, 0)`;
  const log = () => {};
  return [
    ["sqlite", createUsageRecorder({ db: h.db, health: createStorageHealth({ log }), busyTimeoutMs: 1000, log }), sqliteKey],
    ["postgres", createPgUsageRecorder({ sql, health: createStorageHealth({ log }), log }), "pg-key"],
  ];
}

describe("usage recorders", () => {
  test("a settlement that throws does not leave the rest of its batch waiting; settlements run after the commit, in order", async () => {
    for (const [name, recorder, keyId] of await recorders()) {
      const settled: number[] = [];
      const done = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          recorder.record(row(keyId, i), () => {
            settled.push(i);
            if (i === 1) throw new Error("boom");
          }).then(() => i),
        ),
      );
      expect([name, done]).toEqual([name, [0, 1, 2, 3, 4]]);
      expect([name, settled]).toEqual([name, [0, 1, 2, 3, 4]]);
      expect(recorder.pending()).toBe(0);
    }
  });
});
