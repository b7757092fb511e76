// An OpenAI-compatible upstream that streams at model speed: one clock ticks every BENCH_TICK_MS (20) and
// every open stream gets its next chunk on that tick; BENCH_CHUNKS (50) content chunks, then the usage
// chunk (when asked for) and [DONE]. What a company's developers streaming all day look like.
// Usage: bun run bench/tick-upstream.ts PORT
const port = Number(process.argv[2] ?? 0);
const TICK = Number(process.env.BENCH_TICK_MS ?? 20);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 50);

const usage = { prompt_tokens: 812, completion_tokens: CHUNKS, total_tokens: 812 + CHUNKS, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } };
const base = { id: "chatcmpl-tick", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini-2024-07-18", system_fingerprint: "fp_tick" };
const events = Array.from({ length: CHUNKS }, (_, i) =>
  Buffer.from(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: ` token${i}` }, logprobs: null, finish_reason: null }] })}\n\n`),
);
const usageEvent = Buffer.from(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
const doneEvent = Buffer.from("data: [DONE]\n\n");

interface Open {
  next: number;
  includeUsage: boolean;
  controller: ReadableStreamDirectController;
  finish: () => void;
}
const open = new Set<Open>();
let served = 0;

setInterval(() => {
  for (const s of open) {
    try {
      if (s.next < CHUNKS) s.controller.write(events[s.next++]!);
      else {
        if (s.includeUsage) s.controller.write(usageEvent);
        s.controller.write(doneEvent);
        open.delete(s);
        s.controller.close();
        s.finish();
        continue;
      }
      void s.controller.flush();
    } catch {
      open.delete(s);
      s.finish();
    }
  }
}, TICK);

const server = Bun.serve({
  port,
  hostname: "127.0.0.1",
  idleTimeout: 0,
  async fetch(req) {
    if (new URL(req.url).pathname === "/count") return Response.json({ served, open: open.size });
    const body = (await req.json()) as { stream?: boolean; stream_options?: { include_usage?: boolean } };
    served++;
    if (!body.stream) return Response.json({ error: { message: "this upstream only streams" } }, { status: 400 });
    const includeUsage = body.stream_options?.include_usage === true;
    return new Response(
      new ReadableStream({
        type: "direct",
        pull(controller: ReadableStreamDirectController) {
          return new Promise<void>((finish) => open.add({ next: 0, includeUsage, controller, finish }));
        },
      } satisfies Bun.DirectUnderlyingSource<Uint8Array>),
      { headers: { "content-type": "text/event-stream" } },
    );
  },
});
console.log(`listening on http://127.0.0.1:${server.port}`);
export {};
