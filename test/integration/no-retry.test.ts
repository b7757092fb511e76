// Refusals that retrying cannot fix say so: `x-should-retry: false` on every 401/403 of the customer's own
// key (and other such 4xx), in both API shapes, so SDKs and coding agents stop at once (Claude Code retries
// a bare 401 for about three minutes). Against the compiled binary.
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
let gw: TestGateway;
let disabled: string;
let expired: string;
let narrow: string;

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url });
  disabled = (await gw.createKey("no-retry-disabled")).key;
  expect((await gw.cli(["disable-key", "no-retry-disabled"])).code).toBe(0);
  expired = (await gw.createKey("no-retry-expired", 1000, ["--expires", "2020-01-01T00:00:00Z"])).key;
  narrow = (await gw.createKey("no-retry-narrow", 1000, ["--models", "gpt-4o-mini"])).key;
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

const chat = { model: "gpt-4o", max_tokens: 5, messages: [{ role: "user", content: "hi" }] };

test("every 401/403 of the customer's key carries x-should-retry: false, on OpenAI's and Anthropic's routes", async () => {
  const cases: [string, Record<string, string>, number, string][] = [
    ["no key", {}, 401, "invalid_api_key"],
    ["unknown key", { authorization: "Bearer sk-not-a-key-0000000000" }, 401, "invalid_api_key"],
    ["disabled key", { authorization: `Bearer ${disabled}` }, 403, "api_key_disabled"],
    ["expired key", { authorization: `Bearer ${expired}` }, 401, "api_key_expired"],
    ["model outside the allow-list", { authorization: `Bearer ${narrow}` }, 403, "model_not_allowed"],
  ];
  for (const path of ["/v1/chat/completions", "/v1/messages", "/v1/responses", "/v1/embeddings"]) {
    for (const [name, headers, status] of cases) {
      const res = await fetch(`${gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ ...chat, input: "hi" }) });
      await res.arrayBuffer();
      expect({ path, name, status: res.status, retry: res.headers.get("x-should-retry") }).toEqual({ path, name, status, retry: "false" });
    }
  }
  // Retryable refusals stay retryable: a request-rate 429 says when to come back instead.
  const limited = (await gw.createKey("no-retry-rate", 1)).key;
  const post = () => fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${limited}`, "content-type": "application/json" }, body: JSON.stringify(chat) });
  await (await post()).arrayBuffer();
  const second = await post();
  expect(second.status).toBe(429);
  expect(second.headers.get("x-should-retry")).toBeNull();
  expect(second.headers.get("retry-after")).toMatch(/^\d+$/);
});

test("the Anthropic SDK, told to retry up to 5 times, asks once with a disabled key", async () => {
  let calls = 0;
  const client = new Anthropic({
    apiKey: disabled,
    baseURL: gw.url,
    maxRetries: 5,
    fetch: async (input, init) => {
      calls++;
      return fetch(input, init);
    },
  });
  const err = await client.messages.create({ model: "claude-haiku-4-5", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
  expect(calls).toBe(1);
});
