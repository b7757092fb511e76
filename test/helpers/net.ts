/** A TCP port free on 127.0.0.1 right now (for servers that cannot be told to pick one themselves). */
export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  await s.stop(true);
  return port;
}
