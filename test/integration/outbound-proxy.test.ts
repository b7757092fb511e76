// An operator behind an HTTP proxy: with HTTP_PROXY set, provider calls go through it (fetch honours it;
// the gateway's own client steps aside), streamed and not, with the same rows. Against the compiled binary.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";

setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
/** A forward proxy: requests arrive in absolute form and are passed on; what it carried is kept. */
const carried: string[] = [];
const proxy = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    carried.push(`${req.method} ${req.url}`);
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.method === "GET" ? undefined : await req.arrayBuffer() });
    return new Response(res.body, { status: res.status, headers: { "content-type": res.headers.get("content-type") ?? "application/json" } });
  },
});
let gw: TestGateway;
let key: string;

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { HTTP_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: "" } });
  key = (await gw.createKey("behind-proxy")).key;
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
  proxy.stop(true);
});

test("with HTTP_PROXY set, chat (JSON and streamed) reaches the provider through the proxy, and each request has its row", async () => {
  const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const answer = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
  expect(answer.choices[0]!.message.content).toBeTruthy();
  let text = "";
  for await (const chunk of await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true })) text += chunk.choices[0]?.delta?.content ?? "";
  expect(text).toBe("Hello from the fake stream ✓");
  expect(carried).toEqual([`POST ${upstream.url}/chat/completions`, `POST ${upstream.url}/chat/completions`]);
  expect(upstream.received).toHaveLength(2);
  const rows = await until("both rows", () => {
    const r = gw.rows();
    return r.length === 2 && r;
  });
  expect(rows.map((r) => [r.streamed, r.estimated, r.upstream_status])).toEqual([
    [0, 0, 200],
    [1, 0, 200],
  ]);
});
