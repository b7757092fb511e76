// Every authenticated route, read from the OpenAPI document the binary serves, against every kind of bad
// credential: none, malformed, unknown, disabled, expired, deleted, rotated past its grace — each answered
// with the right status and code, in the shape of the API called, before anything is forwarded.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { awayFromMinuteEdge, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(120_000);

const ADMIN = "auth-matrix-admin-token-0123456789ab";
const upstream = startFakeUpstream();
let gw: TestGateway;
const keys: Record<string, string> = {};

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ADMIN } });
  for (const name of ["disabled", "expired", "deleted", "rotated"]) keys[name] = (await gw.createKey(`matrix-${name}`)).key;
  expect((await gw.cli(["disable-key", "matrix-disabled"])).code).toBe(0);
  expect((await gw.cli(["delete-key", "matrix-deleted"])).code).toBe(0);
  expect((await gw.cli(["rotate-key", "matrix-rotated"])).code).toBe(0); // no grace: the old value stops at once
  const db = new Database(gw.dbPath);
  db.run("UPDATE api_keys SET expires_at = ? WHERE name = 'matrix-expired'", [Date.now() - 1000]);
  db.close();
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

interface Operation {
  method: string;
  path: string;
  scheme: "customerKey" | "adminToken";
}

async function authenticatedRoutes(): Promise<Operation[]> {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as { paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>> };
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const scheme = op.security?.flatMap((s) => Object.keys(s))[0];
      if (scheme === "customerKey" || scheme === "adminToken") ops.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, "x"), scheme });
    }
  }
  return ops;
}

const CUSTOMER_CASES: [string, Record<string, string>, number, string][] = [
  ["no key", {}, 401, "invalid_api_key"],
  ["malformed", { authorization: "Basic Zm9vOmJhcg==" }, 401, "invalid_api_key"],
  ["unknown", { authorization: "Bearer gw-unknown-0000000000000000000000000" }, 401, "invalid_api_key"],
  ["disabled", { authorization: "Bearer DISABLED" }, 403, "api_key_disabled"],
  ["expired", { authorization: "Bearer EXPIRED" }, 401, "api_key_expired"],
  ["deleted", { authorization: "Bearer DELETED" }, 401, "invalid_api_key"],
  ["rotated past its grace", { authorization: "Bearer ROTATED" }, 401, "invalid_api_key"],
];

test("every authenticated route refuses every bad credential with its status, code and API shape, and forwards nothing", async () => {
  const ops = await authenticatedRoutes();
  expect(ops.filter((o) => o.scheme === "customerKey").length).toBeGreaterThanOrEqual(8);
  expect(ops.filter((o) => o.scheme === "adminToken").length).toBeGreaterThanOrEqual(8);
  const forwarded = upstream.received.length;
  const failures: string[] = [];
  // Failed admin authentications are throttled per address and minute: the 21st gets 429, within one minute.
  await awayFromMinuteEdge(20_000);
  let adminFailures = 0;
  for (const op of ops) {
    const anthropic = op.path.startsWith("/v1/messages");
    const cases = op.scheme === "adminToken"
      ? ([["no token", {}, 401, "invalid_admin_token"], ["wrong token", { authorization: "Bearer not-the-admin-token-000000000000" }, 401, "invalid_admin_token"], ["a customer key", { authorization: "Bearer DISABLED" }, 401, "invalid_admin_token"]] as const)
      : CUSTOMER_CASES;
    for (const [label, rawHeaders, wantStatus, wantCode] of cases) {
      const throttled = op.scheme === "adminToken" && adminFailures++ >= 20;
      const [status, code] = throttled ? [429, "rate_limit_exceeded"] : [wantStatus, wantCode];
      const headers: Record<string, string> = { "content-type": "application/json" };
      for (const [k, v] of Object.entries(rawHeaders)) headers[k] = v.replace(/DISABLED|EXPIRED|DELETED|ROTATED/, (m) => keys[m.toLowerCase()]!);
      const res = await fetch(`${gw.url}${op.path}`, { method: op.method, headers, body: op.method === "GET" || op.method === "DELETE" ? undefined : "{}" });
      const body = (await res.json().catch(() => null)) as { error?: { code?: string; type?: string; message?: string }; type?: string } | null;
      const anthropicType = status === 401 ? "authentication_error" : status === 403 ? "permission_error" : "rate_limit_error";
      const shapeOk = anthropic ? body?.type === "error" && body.error?.type === anthropicType && typeof body.error.message === "string" : body?.error?.code === code;
      if (res.status !== status || !shapeOk) failures.push(`${op.method} ${op.path} with ${label}: ${res.status} ${JSON.stringify(body)} (want ${status} ${code})`);
    }
  }
  expect(failures).toEqual([]);
  expect(upstream.received.length).toBe(forwarded);
});
