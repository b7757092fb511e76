// One customer cannot freeze the others: prompts built to be slow for the tokenizer (one 100 KB "word" of
// random letters, fresh each time so no cache helps) sent where the gateway counts tokens — count_tokens,
// the tokens-per-minute recount before a refusal, an abandoned stream's estimate — while another client
// measures /health. Against the compiled binary. Before the counting moved off the event loop, /health
// waited 3–13 s behind each of them.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { sseResponse, startFakeUpstream, streamEvents } from "../helpers/fake-upstream.ts";
import { awayFromMinuteEdge, PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
let gw: TestGateway;
let plain: string;
let tpm: string;

beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: upstream.url,
    configToml: `[[providers]]\nname = "fake"\nbase_url = "${upstream.url}"\napi_key_env = "FAKE_KEY"\nmodels = ["gpt-*"]\n`,
    env: { FAKE_KEY: PROVIDER_KEY, GATEWAY_MAX_BODY_BYTES: String(4 << 20) },
  });
  plain = (await gw.createKey("plain", 100_000)).key;
  tpm = (await gw.createKey("tpm", 100_000, ["--tpm", "1000"])).key;
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

/** Random lowercase letters without a space: the tokenizer's worst case. */
function word(bytes: number): string {
  return Array.from(randomBytes(bytes), (b) => String.fromCharCode(97 + (b % 26))).join("");
}

/** Runs `attack` while a sequential client asks /health; the longest /health answer took this many ms. */
async function healthLagDuring(attack: () => Promise<void>): Promise<{ maxMs: number; answers: number }> {
  let stop = false;
  let maxMs = 0;
  let answers = 0;
  const probe = (async () => {
    while (!stop) {
      const t = performance.now();
      const res = await fetch(`${gw.url}/health`);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      maxMs = Math.max(maxMs, performance.now() - t);
      answers++;
      await Bun.sleep(5);
    }
  })();
  await Bun.sleep(50);
  try {
    await attack();
  } finally {
    stop = true;
    await probe;
  }
  return { maxMs, answers };
}

const post = (path: string, key: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body), signal });

// Generous for a noisy 2-core box running the tokenizer on its other core; the freeze was 3,000+ ms.
const MAX_LAG_MS = 300;

test("the first count of a process (a short text) loads the tokenizer off the event loop", async () => {
  let counted = 0;
  const lag = await healthLagDuring(async () => {
    const res = await post("/v1/messages/count_tokens", plain, { model: "gpt-4o", messages: [{ role: "user", content: "How many tokens is this?" }] });
    expect(res.status).toBe(200);
    counted = ((await res.json()) as { input_tokens: number }).input_tokens;
  });
  expect(counted).toBeGreaterThan(5);
  expect(counted).toBeLessThan(40);
  expect(lag.maxMs).toBeLessThan(MAX_LAG_MS);
});

test("count_tokens of a 100 KB word: counted, and /health keeps answering", async () => {
  let counted = 0;
  const lag = await healthLagDuring(async () => {
    const res = await post("/v1/messages/count_tokens", plain, { model: "gpt-4o", messages: [{ role: "user", content: word(100_000) }] });
    expect(res.status).toBe(200);
    counted = ((await res.json()) as { input_tokens: number }).input_tokens;
  });
  // o200k splits random letters into ~2-character tokens; the count is never above the characters.
  expect(counted).toBeGreaterThan(20_000);
  expect(counted).toBeLessThanOrEqual(100_100);
  expect(lag.answers).toBeGreaterThan(3);
  expect(lag.maxMs).toBeLessThan(MAX_LAG_MS);
});

test("count_tokens counts against the key's request limit", async () => {
  await awayFromMinuteEdge(5000); // the three requests in one window
  const limited = (await gw.createKey("count-limited", 2)).key;
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await post("/v1/messages/count_tokens", limited, { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    statuses.push(res.status);
    if (res.status === 429) expect(((await res.json()) as { type: string; error: { type: string } }).error.type).toBe("rate_limit_error");
  }
  expect(statuses).toEqual([200, 200, 429]);
});

test("a tokens-per-minute key's recount of a 100 KB word: refused, and /health keeps answering", async () => {
  const lag = await healthLagDuring(async () => {
    const res = await post("/v1/chat/completions", tpm, { model: "gpt-4o", max_tokens: 10, messages: [{ role: "user", content: word(100_000) }] });
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");
  });
  expect(lag.maxMs).toBeLessThan(MAX_LAG_MS);
});

test("a stream abandoned after its first chunk is estimated from a 100 KB word without freezing anyone", async () => {
  const before = gw.rows().length;
  upstream.setHandler((body) => sseResponse(streamEvents(body, { usage: null, pieces: Array.from({ length: 50 }, () => "x") }), 100));
  try {
    const lag = await healthLagDuring(async () => {
      const abort = new AbortController();
      const res = await post("/v1/chat/completions", plain, { model: "gpt-4o", stream: true, messages: [{ role: "user", content: word(100_000) }] }, abort.signal);
      const reader = res.body!.getReader();
      await reader.read();
      abort.abort();
      const deadline = Date.now() + 10_000;
      while (gw.rows().length === before && Date.now() < deadline) await Bun.sleep(20);
    });
    expect(lag.maxMs).toBeLessThan(MAX_LAG_MS);
  } finally {
    upstream.reset();
  }
  const row = gw.rows().at(-1)!;
  expect(gw.rows().length).toBe(before + 1);
  expect(row.estimated).toBe(1);
  expect(Number(row.prompt_tokens)).toBeGreaterThan(20_000);
});
