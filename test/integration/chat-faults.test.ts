// Limits, upstream faults and client disconnects: status, OpenAI-shaped body, headers and the usage row for each.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { runCli } from "../helpers/cli.ts";
import { completion, sseResponse, startFakeUpstream, streamEvents } from "../helpers/fake-upstream.ts";
import { awayFromMinuteEdge, startGateway, type TestGateway } from "../helpers/gateway.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
let gw: TestGateway;
let key: string;

beforeAll(async () => {
  gw = await startGateway({
    upstreamUrl: upstream.url,
    // No retries: these tests see each upstream fault as it is passed on (retries.test.ts covers retrying).
    env: { GATEWAY_UPSTREAM_TIMEOUT_MS: "400", GATEWAY_MAX_BODY_BYTES: "4096", GATEWAY_MAX_RETRIES: "0" },
  });
  key = (await gw.createKey("faults", 100_000)).key;
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

const chatBody = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hello there" }], ...extra });
const post = (body: string, k = key, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${k}`, "content-type": "application/json", ...headers }, body });
const rowFor = (res: Response) => gw.rows().filter((r) => r.request_id === res.headers.get("x-request-id"));
type ErrorJson = { error: { message: string; type: string; param: string | null; code: string | null } };

describe("rate limiting", () => {
  test("N+k simultaneous requests in one window: exactly N pass, k get 429 with headers; 429s write no row", async () => {
    await awayFromMinuteEdge();
    const limited = await gw.createKey("limited", 20);
    const before = gw.rows().length;
    const results = await Promise.all(Array.from({ length: 35 }, () => post(chatBody(), limited.key)));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(20);
    expect(refused).toHaveLength(15);
    const remaining = ok.map((r) => Number(r.headers.get("x-ratelimit-remaining-requests"))).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const r429 = refused[0]!;
    expect(r429.headers.get("x-ratelimit-limit-requests")).toBe("20");
    expect(r429.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    const retryAfter = Number(r429.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(r429.headers.get("x-ratelimit-reset-requests")).toBe(`${retryAfter}s`);
    expect(((await r429.json()) as ErrorJson).error).toMatchObject({ type: "requests", code: "rate_limit_exceeded", param: null });
    await Promise.all(results.filter((r) => r !== r429).map((r) => r.arrayBuffer()));
    expect(gw.rows().length - before).toBe(20);
  });

  test("CLI set-rate-limit and disable-key/enable-key reach the running server on its next request", async () => {
    await awayFromMinuteEdge();
    const k = await gw.createKey("cli-driven", 2);
    const cli = (...args: string[]) => runCli([...args, "--db", gw.dbPath], { cwd: gw.dir, env: gw.env });
    expect((await post(chatBody(), k.key)).status).toBe(200);
    expect((await post(chatBody(), k.key)).status).toBe(200);
    expect((await post(chatBody(), k.key)).status).toBe(429);
    expect((await cli("set-rate-limit", "cli-driven", "3")).code).toBe(0);
    const next = await post(chatBody(), k.key);
    expect(next.status).toBe(200);
    expect(next.headers.get("x-ratelimit-limit-requests")).toBe("3");
    expect((await cli("set-rate-limit", "cli-driven", "500")).code).toBe(0);
    expect((await cli("disable-key", k.id)).code).toBe(0);
    const disabled = await post(chatBody(), k.key);
    expect(disabled.status).toBe(403);
    expect(((await disabled.json()) as ErrorJson).error).toEqual({
      message: "This API key has been disabled. Contact the gateway operator.",
      type: "invalid_request_error",
      param: null,
      code: "api_key_disabled",
    });
    expect((await cli("enable-key", "cli-driven")).code).toBe(0);
    expect((await post(chatBody(), k.key)).status).toBe(200);
  });
});

describe("bad requests and upstream faults", () => {
  test("413 for a body over the limit, with or without content-length", async () => {
    const big = chatBody({ pad: "x".repeat(5000) });
    const res = await post(big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorJson).error).toMatchObject({ code: "request_too_large", type: "invalid_request_error" });
    const chunked = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode(big));
          c.close();
        },
      }),
    });
    expect(chunked.status).toBe(413);
  });

  test("502 when the upstream is unreachable, and no row (it was never reached)", async () => {
    const dead = startFakeUpstream();
    const deadUrl = dead.url;
    await dead.stop();
    const g = await startGateway({ upstreamUrl: deadUrl });
    const k = await g.createKey("x");
    const res = await fetch(`${g.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${k.key}` }, body: chatBody() });
    expect(res.status).toBe(502);
    expect(((await res.json()) as ErrorJson).error).toEqual({
      message: "The upstream provider 'openai' could not be reached.",
      type: "upstream_error",
      param: null,
      code: "upstream_unavailable",
    });
    expect(g.rows()).toHaveLength(0);
    await g.stop();
  });

  test("504 when the upstream is slower than the timeout, with an estimated row", async () => {
    upstream.setHandler(async (body) => {
      await Bun.sleep(1500);
      return Response.json(completion(body));
    });
    try {
      const res = await post(chatBody());
      expect(res.status).toBe(504);
      expect(((await res.json()) as ErrorJson).error).toMatchObject({ type: "upstream_error", code: "upstream_timeout" });
      expect(rowFor(res)).toEqual([expect.objectContaining({ upstream_status: 0, estimated: 1, completion_tokens: 0 })]);
      expect(rowFor(res)[0]!.prompt_tokens).toBeGreaterThan(0);
    } finally {
      upstream.reset();
    }
  });

  test("upstream 429 passes through with its Retry-After and body", async () => {
    const upstreamBody = { error: { message: "Provider is busy", type: "requests", param: null, code: "rate_limit_exceeded" } };
    upstream.setHandler(() => Response.json(upstreamBody, { status: 429, headers: { "retry-after": "7" } }));
    try {
      const res = await post(chatBody());
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("7");
      expect(await res.json()).toEqual(upstreamBody);
      expect(rowFor(res)).toEqual([expect.objectContaining({ upstream_status: 429, prompt_tokens: 0, completion_tokens: 0, cost_nano_usd: 0 })]);
    } finally {
      upstream.reset();
    }
  });

  test("upstream 500 with an HTML body becomes an OpenAI-shaped error with the same status", async () => {
    upstream.setHandler(() => new Response("<html><body><h1>Internal Server Error</h1></body></html>", { status: 500, headers: { "content-type": "text/html" } }));
    try {
      const res = await post(chatBody());
      expect(res.status).toBe(500);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(((await res.json()) as ErrorJson).error).toEqual({
        message: "The upstream provider 'openai' returned HTTP 500: Internal Server Error",
        type: "upstream_error",
        param: null,
        code: "upstream_500",
      });
      expect(rowFor(res)).toHaveLength(1);
    } finally {
      upstream.reset();
    }
  });

  test("invalid JSON or an empty 200 from the upstream: 502 and an estimated row", async () => {
    for (const bad of ["{\"choices\": [", ""]) {
      upstream.setHandler(() => new Response(bad, { headers: { "content-type": "application/json" } }));
      try {
        const res = await post(chatBody());
        expect(res.status).toBe(502);
        expect(((await res.json()) as ErrorJson).error).toMatchObject({ code: "bad_upstream_response", type: "upstream_error" });
        expect(rowFor(res)).toEqual([expect.objectContaining({ upstream_status: 200, estimated: 1 })]);
      } finally {
        upstream.reset();
      }
    }
  });

  test("a stream that ends without [DONE] ends with an error event; the SDK raises; one estimated row", async () => {
    upstream.setHandler((body) => sseResponse(streamEvents(body, { usage: null, done: false })));
    try {
      const res = await post(chatBody({ stream: true }));
      const text = await res.text();
      expect(text).toContain('"content":" fake"');
      expect(text.trimEnd().split("\n\n").at(-1)).toBe(
        `data: {"error":{"message":"The upstream stream ended before [DONE]; the response may be incomplete.","type":"upstream_error","param":null,"code":"upstream_error"}}`,
      );
      const rows = rowFor(res);
      expect(rows).toEqual([expect.objectContaining({ streamed: 1, estimated: 1 })]);
      expect(rows[0]!.completion_tokens).toBeGreaterThan(0);

      const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }], stream: true });
      const err = await (async () => {
        for await (const _ of stream);
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
    } finally {
      upstream.reset();
    }
  });

  test("a stream whose upstream goes silent mid-way ends with an error event after the timeout", async () => {
    upstream.setHandler((body) => {
      const events = streamEvents(body).slice(0, 3);
      const enc = new TextEncoder();
      let i = 0;
      return new Response(
        new ReadableStream({
          async pull(c) {
            if (i < events.length) return c.enqueue(enc.encode(events[i++]!));
            await Bun.sleep(3000); // silent
            c.close();
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    });
    try {
      const res = await post(chatBody({ stream: true }));
      const text = await res.text();
      expect(text).toContain('"content":"Hello"');
      expect(text).toContain("The upstream sent nothing for 400 ms");
      expect(rowFor(res)).toEqual([expect.objectContaining({ streamed: 1, estimated: 1 })]);
    } finally {
      upstream.reset();
    }
  });

  test("a client disconnect mid-stream aborts the upstream and leaves one estimated row", async () => {
    let upstreamCancelled = 0;
    upstream.setHandler((body) => sseResponse(streamEvents(body, { pieces: Array.from({ length: 50 }, (_, i) => ` word${i}`) }), 50, () => upstreamCancelled++));
    const abortedBefore = upstream.aborted;
    try {
      const controller = new AbortController();
      const res = await post(chatBody({ stream: true }), key, { "x-request-id": "disconnect-test-1" });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain("chat.completion.chunk");
      await reader.read();
      controller.abort();
      await reader.cancel();
      const deadline = Date.now() + 3000;
      while (gw.rows().filter((r) => r.request_id === "disconnect-test-1").length === 0 && Date.now() < deadline) await Bun.sleep(20);
      const rows = gw.rows().filter((r) => r.request_id === "disconnect-test-1");
      expect(rows).toEqual([expect.objectContaining({ streamed: 1, estimated: 1 })]);
      expect(rows[0]!.prompt_tokens).toBeGreaterThan(0);
      while (upstream.aborted === abortedBefore && upstreamCancelled === 0 && Date.now() < deadline) await Bun.sleep(20);
      expect(upstream.aborted + upstreamCancelled).toBeGreaterThan(abortedBefore);
      await Bun.sleep(300);
      expect(gw.rows().filter((r) => r.request_id === "disconnect-test-1")).toHaveLength(1);
    } finally {
      upstream.reset();
    }
  });
});
