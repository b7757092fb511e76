// A table of bad and hostile requests against every route: each gets a 4xx in the error shape of the
// API called (Anthropic's for /v1/messages, OpenAI's elsewhere), never a 500 or a hang, and the server
// keeps serving.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { connect } from "node:net";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { rawRequest } from "../helpers/raw-http.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

const ADMIN = "admin-token-hostile-0123456789-xyz";
const upstream = startFakeUpstream();
let gw: TestGateway;
let key: string;

beforeAll(async () => {
  gw = await startGateway({ upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ADMIN, GATEWAY_MAX_BODY_BYTES: "65536" } });
  key = (await gw.createKey("hostile", 1_000_000)).key;
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

interface Case {
  name: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  auth?: "customer" | "admin" | "none";
  status?: number;
}

const CHAT = "/v1/chat/completions";
const RESPONSES = "/v1/responses";
const MESSAGES = "/v1/messages";
const COUNT = "/v1/messages/count_tokens";
const ok = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "x" }], ...extra });
const deep = (n: number) => "[".repeat(n) + "]".repeat(n);

const cases: Case[] = [
  // Malformed and truncated JSON
  ...["", " ", "{", "}", "[", "null", "true", "42", '"str"', "[]", "{'model': 'x'}", '{"model": "gpt-4o", "messages": [', '{"model":', "{,}", "{\"a\":1,}", "NaN", "undefined", "\u0000", '{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]', "\uFEFF{}"].map(
    (body, i): Case => ({ name: `malformed json #${i}`, method: "POST", path: CHAT, body, status: 400 }),
  ),
  // Wrong types at every field the gateway reads
  ...(
    [
      ["model", null], ["model", 5], ["model", ""], ["model", "   "], ["model", ["gpt-4o"]], ["model", { id: "x" }], ["model", true], ["model", "m".repeat(300)],
      ["messages", null], ["messages", "hi"], ["messages", {}], ["messages", []], ["messages", [1]], ["messages", ["x"]], ["messages", [null]], ["messages", [{ content: "no role" }]], ["messages", [{ role: 5 }]], ["messages", [[]]],
      ["stream", "yes"], ["stream", 1], ["stream", {}], ["stream_options", "x"], ["stream_options", []], ["stream_options", 5],
    ] as [string, unknown][]
  ).map(([field, value]): Case => {
    const base: Record<string, unknown> = { model: "gpt-4o", messages: [{ role: "user", content: "x" }] };
    base[field] = value;
    return { name: `wrong type ${field}=${JSON.stringify(value).slice(0, 20)}`, method: "POST", path: CHAT, body: JSON.stringify(base), status: 400 };
  }),
  { name: "missing model", method: "POST", path: CHAT, body: JSON.stringify({ messages: [{ role: "user", content: "x" }] }), status: 400 },
  { name: "missing messages", method: "POST", path: CHAT, body: JSON.stringify({ model: "gpt-4o" }), status: 400 },
  { name: "deeply nested json (10k)", method: "POST", path: CHAT, body: `{"model":"gpt-4o","messages":[{"role":"user","content":${deep(10000)}}]`, status: 400 },
  { name: "deeply nested array body", method: "POST", path: CHAT, body: deep(20000), status: 400 },
  { name: "huge string over the body limit", method: "POST", path: CHAT, body: ok({ pad: "x".repeat(70_000) }), status: 413 },
  { name: "huge model name", method: "POST", path: CHAT, body: ok({ model: "x".repeat(60_000) }), status: 400 },
  { name: "invalid utf-8", method: "POST", path: CHAT, body: new Uint8Array([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), status: 400 },
  { name: "null byte in model", method: "POST", path: CHAT, body: ok({ model: "gpt\u0000-4o" }), status: 400 },
  { name: "control characters in model", method: "POST", path: CHAT, body: ok({ model: "gpt-4o\r\nX-Injected: 1" }), status: 400 },
  { name: "null byte in message content is just content", method: "POST", path: CHAT, body: ok({ messages: [{ role: "user", content: "a\u0000b" }] }), status: 200 },
  { name: "form-encoded body", method: "POST", path: CHAT, headers: { "content-type": "application/x-www-form-urlencoded" }, body: "model=gpt-4o", status: 400 },
  // The same malformed bodies and wrong types against embeddings
  ...["", "{", "[]", "null", '{"model":', deep(20000)].map((body, i): Case => ({ name: `embeddings malformed json #${i}`, method: "POST", path: "/v1/embeddings", body, status: 400 })),
  ...([["model", null], ["model", 5], ["model", "m".repeat(300)], ["model", "gpt\u202e"], ["input", null], ["input", 5], ["input", {}], ["input", []], ["input", [{}]]] as [string, unknown][]).map(([field, value]): Case => {
    const base: Record<string, unknown> = { model: "text-embedding-3-small", input: "x" };
    base[field] = value;
    return { name: `embeddings wrong type ${field}=${JSON.stringify(value).slice(0, 20)}`, method: "POST", path: "/v1/embeddings", body: JSON.stringify(base), status: 400 };
  }),
  { name: "embeddings without a key", method: "POST", path: "/v1/embeddings", body: JSON.stringify({ model: "text-embedding-3-small", input: "x" }), auth: "none", status: 401 },
  // ... and against responses and messages (Anthropic-shaped answers)
  ...[RESPONSES, MESSAGES, COUNT].flatMap((path) => ["", "{", "[]", "null", deep(20000), ok({ model: null }), ok({ model: "gpt\u202e" }), ok({ stream: "yes" }), ok({ pad: "x".repeat(70_000) })].map((body, i): Case => ({ name: `${path} bad body #${i}`, method: "POST", path, body, status: i === 8 ? 413 : 400 }))),
  ...[MESSAGES, COUNT].flatMap((path) => [{ model: "gpt-4o" }, { model: "gpt-4o", messages: "hi" }].map((b, i): Case => ({ name: `${path} bad messages #${i}`, method: "POST", path, body: JSON.stringify(b), status: 400 }))),
  ...([["x-api-key", "sk-unknown-key-123"], ["x-api-key", ""], ["x-api-key", "k".repeat(300)], ["x-api-key", "sk ключ"], ["authorization", "Basic eDp5"]] as const).map(([name, value], i): Case => ({ name: `${MESSAGES} credentials #${i}`, method: "POST", path: MESSAGES, auth: "none", headers: { [name]: value }, body: ok(), status: 401 })),
  // Authorization variants
  ...(
    [
      ["none", undefined], ["empty", ""], ["scheme only", "Bearer"], ["scheme and space", "Bearer "], ["basic", `Basic ${btoa("a:b")}`], ["token scheme", `Token ${"k".repeat(20)}`],
      ["lower-case bearer, unknown key", "bearer sk-unknown-key-123"], ["extra spaces, unknown key", "Bearer    sk-unknown-key-123   "], ["two tokens", "Bearer a b"],
      ["comma list", "Bearer sk-a, Bearer sk-b"], ["unicode key", "Bearer sk-ключ-🔑"], ["10 KB key", `Bearer ${"k".repeat(10_240)}`], ["tab separator", "Bearer\tsk-unknown"],
      ["quoted", 'Bearer "sk-unknown"'], ["sql injection key", "Bearer ' OR '1'='1"], ["admin token as customer key", `Bearer ${ADMIN}`],
      ["latin-1 key", "Bearer sk-caf\u00e9-key"],
    ] as [string, string | undefined][]
  ).flatMap(([label, value]): Case[] =>
    [CHAT, "/v1/models", "/v1/usage"].map((path) => ({
      name: `authorization ${label} on ${path}`,
      method: path === CHAT ? "POST" : "GET",
      path,
      auth: "none",
      headers: value === undefined ? ({} as Record<string, string>) : { authorization: value },
      body: path === CHAT ? ok() : undefined,
      status: 401,
    })),
  ),
  // Admin routes
  { name: "admin without token", path: "/admin/keys", auth: "none", status: 401 },
  { name: "admin with customer key", path: "/admin/keys", auth: "customer", status: 401 },
  { name: "admin bad json", method: "POST", path: "/admin/keys", auth: "admin", body: "{nope", headers: { "content-type": "application/json" }, status: 400 },
  { name: "admin wrong types", method: "POST", path: "/admin/keys", auth: "admin", body: JSON.stringify({ name: [], rate_limit_per_minute: "x" }), headers: { "content-type": "application/json" }, status: 400 },
  { name: "admin deeply nested", method: "POST", path: "/admin/keys", auth: "admin", body: `{"name":${deep(20000)}}`, headers: { "content-type": "application/json" }, status: 400 },
  { name: "admin patch unknown", method: "PATCH", path: "/admin/keys/%00", auth: "admin", body: "{}", headers: { "content-type": "application/json" }, status: 404 },
  { name: "admin injection in key id", path: `/admin/keys/${encodeURIComponent("' OR 1=1 --")}`, auth: "admin", status: 404 },
  { name: "admin customer credits wrong types", method: "POST", path: "/admin/customers/x/credits", auth: "admin", body: JSON.stringify({ amount_usd: [] }), headers: { "content-type": "application/json" }, status: 400 },
  { name: "admin customer injection in id", path: `/admin/customers/${encodeURIComponent("' OR 1=1 --")}`, auth: "admin", status: 404 },
  // The audit log: its query is taken literally, bad values are a 400
  ...["since=' OR 1=1 --", "since=2026-13-45", "limit=1e9", "limit=-1", "before=%27%20OR%201%3D1", "before=0"].map((q): Case => ({ name: `admin audit ${q}`, path: `/admin/audit?${encodeURI(q)}`, auth: "admin", status: 400 })),
  { name: "admin audit injection in subject", path: `/admin/audit?subject=${encodeURIComponent("' OR 1=1 --")}`, auth: "admin", status: 200 },
  { name: "admin audit with customer key", path: "/admin/audit", auth: "customer", status: 401 },
  // One-time key links: nobody signs in, so any token must be a clean 404 (the GET is an HTML page: key-handover.test.ts)
  { name: "claim POST, 5000-character token", method: "POST", path: `/claim/${"A".repeat(5000)}`, auth: "none", status: 404 },
  // Query strings with injection attempts
  ...["from=' OR 1=1 --", "to=2026-01-01'; DROP TABLE usage; --", "group_by=key;DELETE FROM api_keys", "key_id=' UNION SELECT key_hash FROM api_keys --", "from=2026-02-30", "from=99999-01-01", "from=%00", "limit=-1", "limit=1e9", "cursor=%27%20OR%201%3D1"].map(
    // A key_id that matches nothing is an empty report, not an error: what matters is that it is taken literally.
    (q): Case => ({ name: `admin query ${q}`, path: `/admin/usage${q.startsWith("limit") || q.startsWith("cursor") ? "/requests" : ""}?${encodeURI(q)}`, auth: "admin", status: q.startsWith("key_id") ? 200 : 400 }),
  ),
  { name: "customer usage bad group_by", path: "/v1/usage?group_by=key", auth: "customer", status: 400 },
  { name: "customer requests bad limit", path: "/v1/usage/requests?limit=1e9", auth: "customer", status: 400 },
  { name: "customer requests injection in cursor", path: `/v1/usage/requests?cursor=${encodeURIComponent("' OR 1=1 --")}`, auth: "customer", status: 400 },
  { name: "customer usage injection", path: `/v1/usage?${encodeURI("from=1' OR '1'='1")}`, auth: "customer", status: 400 },
  // Path tricks and wrong methods
  ...["/v1/../admin/keys", "//v1/chat/completions", "/v1/chat%2Fcompletions", "/v1//models", "/admin%2Fkeys", "/v1/chat/completions/", "/.env", "/v1/CHAT/COMPLETIONS", "/%2e%2e/%2e%2e/etc/passwd", "/v1/models?x=%ZZ"].map(
    (path): Case => ({ name: `path ${path}`, path, auth: "none" }),
  ),
  { name: "GET on chat", path: CHAT, auth: "customer", status: 404 },
  { name: "PUT on models", method: "PUT", path: "/v1/models", auth: "customer", status: 404 },
  { name: "DELETE admin key", method: "DELETE", path: "/admin/keys/x", auth: "admin", status: 404 },
  // Headers
  { name: "large but legal header", path: "/v1/models", auth: "customer", headers: { "x-junk": "j".repeat(12_000) }, status: 200 },
  { name: "many headers", path: "/v1/models", auth: "customer", headers: Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`x-h-${i}`, "v"])), status: 200 },
  { name: "request id with spaces is replaced", path: "/v1/models", auth: "customer", headers: { "x-request-id": "a b c" }, status: 200 },
  // The response cache's header: only whole seconds within 30 days, in the caller's error shape
  ...["-1", "1.5", "1e9", "99999999999", "2592001", "ten", " ", "0x10"].flatMap((value, i): Case[] => [
    { name: `chat cache ttl #${i}`, method: "POST", path: CHAT, headers: { "x-gateway-cache-ttl": value }, body: ok({ temperature: 0 }), status: 400 },
    { name: `${MESSAGES} cache ttl #${i}`, method: "POST", path: MESSAGES, headers: { "x-gateway-cache-ttl": value }, body: ok({ max_tokens: 5 }), status: 400 },
  ]),
];

let port = 0;
test(`${cases.length} hostile requests: 4xx in the API's error shape, never a 500, server still serving`, async () => {
  expect(cases.length).toBeGreaterThanOrEqual(100);
  port = Number(new URL(gw.url).port);
  const failures: string[] = [];
  for (const c of cases) {
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    if ((c.auth ?? "customer") === "customer") headers.authorization ??= `Bearer ${key}`;
    if (c.auth === "admin") headers.authorization = `Bearer ${ADMIN}`;
    const res = await rawRequest(port, c.method ?? "GET", c.path, Object.entries(headers), c.body);
    const text = res.body;
    const expected = c.status;
    if (expected === 200) {
      if (res.status !== 200) failures.push(`${c.name}: ${res.status}`);
      continue;
    }
    const anthropic = c.path.startsWith(MESSAGES);
    const shaped = (() => {
      try {
        const j = JSON.parse(text) as { type?: string; error?: Record<string, unknown> };
        if (anthropic) return j.type === "error" && !!j.error && typeof j.error.message === "string" && typeof j.error.type === "string" && Object.keys(j.error).length === 2;
        return !!j.error && typeof j.error.message === "string" && typeof j.error.type === "string" && "param" in j.error && "code" in j.error;
      } catch {
        return false;
      }
    })();
    if (res.status < 400 || res.status >= 500 || (expected !== undefined && res.status !== expected) || !shaped) {
      failures.push(`${c.name}: ${res.status} ${text.slice(0, 160)}`);
    }
  }
  expect(failures).toEqual([]);
  const health = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  expect(health.status).toBe(200);
  expect(gw.logs()).not.toContain("internal error");
});

test("raw protocol abuse: duplicate Authorization headers, garbage bytes, a half-sent body", async () => {
  const port = Number(new URL(gw.url).port);
  const raw = (payload: string, waitMs = 1500) =>
    new Promise<string>((resolve) => {
      let out = "";
      const s = connect(port, "127.0.0.1", () => s.write(payload));
      s.on("data", (d) => (out += d.toString()));
      s.on("error", () => resolve(out));
      s.on("close", () => resolve(out));
      setTimeout(() => {
        s.destroy();
        resolve(out);
      }, waitMs);
    });
  const dup = await raw(`GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nAuthorization: Bearer other-key-123\r\nConnection: close\r\n\r\n`);
  expect(dup).toMatch(/^HTTP\/1\.1 (400|401)/);
  // Headers past Bun's 16 KB limit are refused by its HTTP parser before any route runs.
  const huge = await raw(`GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-Huge: ${"h".repeat(20_000)}\r\nConnection: close\r\n\r\n`);
  expect(huge).toMatch(/^HTTP\/1\.1 4\d\d/);
  const garbage = await raw("\u0016\u0003\u0001garbage\r\n\r\n");
  expect(garbage === "" || /^HTTP\/1\.1 4\d\d/.test(garbage)).toBe(true);
  // Half a body, then silence: the server must not hang on it forever nor stop serving others.
  void raw(`POST ${CHAT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Length: 500\r\n\r\n{"model":`, 300);
  const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
});
