// A fast OpenAI-compatible upstream for benchmarks: instant replies, ~1 KB bodies with usage.
// Usage: bun run bench/fake-upstream.ts PORT   (env BENCH_CHUNKS=20 stream chunks, BENCH_CHUNK_DELAY_MS=0)
const port = Number(process.argv[2] ?? 0);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 20);
const DELAY = Number(process.env.BENCH_CHUNK_DELAY_MS ?? 0);
let count = 0;
let fromGateway = 0; // requests carrying x-request-id: only the gateway sends one

const usage = { prompt_tokens: 812, completion_tokens: 164, total_tokens: 976, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } };
const content =
  "Benchmarks measure what a gateway adds on top of the upstream. This reply is padded to look like a real answer: " +
  "a few sentences of text, a usage block, and the usual fields of a chat completion, about one kilobyte in all. ".repeat(5);
const completion = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini-2024-07-18",
  choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, logprobs: null, finish_reason: "stop" }],
  usage,
  system_fingerprint: "fp_bench",
});
const base = { id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini-2024-07-18" };
const chunk = (i: number) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: ` word${i}` }, finish_reason: null }] })}\n\n`;
const events = Array.from({ length: CHUNKS }, (_, i) => chunk(i));
const tail = (includeUsage: boolean) =>
  (includeUsage ? `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n` : "") + "data: [DONE]\n\n";
const enc = new TextEncoder();

const server = Bun.serve({
  port,
  hostname: "127.0.0.1",
  idleTimeout: 0,
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/count") return Response.json({ count, fromGateway });
    const body = (await req.json()) as { stream?: boolean; stream_options?: { include_usage?: boolean } };
    count++;
    if (req.headers.has("x-request-id")) fromGateway++;
    if (!body.stream) return new Response(completion, { headers: { "content-type": "application/json" } });
    const includeUsage = body.stream_options?.include_usage === true;
    let i = 0;
    return new Response(
      new ReadableStream({
        async pull(c) {
          if (i > 0 && DELAY) await Bun.sleep(DELAY);
          if (i < events.length) c.enqueue(enc.encode(events[i++]!));
          else {
            c.enqueue(enc.encode(tail(includeUsage)));
            c.close();
          }
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  },
});
console.log(`listening on http://127.0.0.1:${server.port}`);
export {};
