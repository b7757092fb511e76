// Start-up as the benches measure it: exec of `gateway serve` to its first healthy `/health`.

/** Milliseconds from exec to the first 200 from `/health`; the server is stopped after. */
export async function startupMs(binary: string, cwd: string, env: Record<string, string | undefined>, port: number): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn([binary, "serve", "--port", String(port), "--host", "127.0.0.1"], { cwd, env: { ...process.env, ...env }, stdout: "ignore", stderr: "pipe" });
  try {
    while (performance.now() - t0 < 10_000) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return performance.now() - t0;
      } catch {}
      await Bun.sleep(1);
    }
    throw new Error(`${binary} did not answer /health within 10 s: ${await new Response(p.stderr).text()}`);
  } finally {
    p.kill("SIGTERM");
    await p.exited;
  }
}
