import { expect, test } from "bun:test";
import { createFailureTally, failureOf, type FailureCount } from "../../src/observe/failures.ts";
import type { RequestReport } from "../../src/observe/report.ts";
import { Database } from "bun:sqlite";
import { startWriterThread } from "../../src/store/sqlite/writer.ts";
import { harness } from "../helpers/harness.ts";

const report = (r: Partial<RequestReport>): RequestReport => ({ id: "r", method: "POST", path: "/v1/chat/completions", time: Date.parse("2026-12-06T10:00:30Z"), start: 0, holds: 0, sink: () => {}, ...r });
const row = (upstreamStatus: number, provider = "p") => ({ upstreamStatus, provider }) as RequestReport["row"];

test("each failure has one kind; successes, clients that left and non-API paths are none", () => {
  expect(failureOf(report({ status: 401, error: "invalid_api_key" }))).toEqual({ kind: "refused", provider: "" });
  expect(failureOf(report({ status: 429, error: "rate_limit_exceeded" }))).toEqual({ kind: "refused", provider: "" });
  expect(failureOf(report({ status: 502, error: "upstream_unavailable", provider: "down" }))).toEqual({ kind: "unreachable", provider: "down" });
  expect(failureOf(report({ status: 504, error: "upstream_timeout", row: row(0, "slow") }))).toEqual({ kind: "timeout", provider: "slow" });
  expect(failureOf(report({ status: 500, row: row(500, "bad") }))).toEqual({ kind: "upstream_error", provider: "bad" });
  expect(failureOf(report({ status: 200, row: row(200) }))).toBeUndefined();
  expect(failureOf(report({ status: 499, error: "client_closed_request" }))).toBeUndefined();
  expect(failureOf(report({ status: 404, path: "/wp-login.php" }))).toBeUndefined();
});

test("a flood of failures is one write of per-minute counts; a failed write is tried again with the next", async () => {
  const writes: FailureCount[][] = [];
  let fail = true;
  const tally = createFailureTally((rows) => {
    if (fail) throw new Error("database is locked");
    writes.push(rows);
  }, () => {});
  for (let i = 0; i < 10_000; i++) tally.observe(report({ status: 401 }));
  tally.observe(report({ status: 401, time: Date.parse("2026-12-06T10:01:00Z") }));
  await tally.flush();
  expect(writes).toEqual([]);
  fail = false;
  await tally.stop();
  expect(writes).toEqual([
    [
      { minute: Date.parse("2026-12-06T10:00:00Z"), kind: "refused", provider: "", count: 10_000 },
      { minute: Date.parse("2026-12-06T10:01:00Z"), kind: "refused", provider: "", count: 1 },
    ],
  ]);
});

test("counts the writer's thread could not commit (another process holds the lock) are kept and written with the next flush", async () => {
  const h = harness();
  const lines: string[] = [];
  const thread = startWriterThread(h.db.$client.filename, { busyTimeoutMs: 50, retentionDays: undefined, heartbeatKey: "server:failures", log: (l) => void lines.push(l) });
  const tally = createFailureTally((rows) => thread.addFailures(rows), (l) => void lines.push(l));
  const other = new Database(h.db.$client.filename);
  const counted = () => h.db.$client.query<{ n: number | null }, []>("SELECT sum(count) AS n FROM failures").get()!.n ?? 0;
  try {
    other.run("BEGIN IMMEDIATE");
    for (let i = 0; i < 3; i++) tally.observe(report({ status: 401 }));
    await tally.flush();
    expect(lines.join("\n")).toContain("failure counts not written yet (1 rows)");
    other.run("COMMIT");
    expect(counted()).toBe(0);
    tally.observe(report({ status: 401 }));
    await tally.flush();
    expect(counted()).toBe(4);
  } finally {
    if (other.inTransaction) other.run("ROLLBACK");
    other.close();
    await tally.stop();
    await thread.stop();
  }
});
