// The floor: the least a Bun gateway can do. Forwards every request to the upstream and streams the answer back.
// Usage: bun run bench/floor-proxy.ts PORT UPSTREAM_ORIGIN
const port = Number(process.argv[2] ?? 0);
const upstream = process.argv[3] ?? "http://127.0.0.1:9000";
const server = Bun.serve({
  port,
  hostname: "127.0.0.1",
  idleTimeout: 0,
  async fetch(req) {
    const url = new URL(req.url);
    const res = await fetch(upstream + url.pathname, {
      method: req.method,
      headers: { "content-type": "application/json", authorization: "Bearer provider-key" },
      body: await req.arrayBuffer(),
    });
    return new Response(res.body, { status: res.status, headers: { "content-type": res.headers.get("content-type") ?? "application/json" } });
  },
});
console.log(`listening on http://127.0.0.1:${server.port}`);
export {};
