import { expect, test } from "bun:test";
import { createFailureTally, failureOf, type FailureCount } from "../../src/observe/failures.ts";
import type { RequestReport } from "../../src/observe/report.ts";

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
