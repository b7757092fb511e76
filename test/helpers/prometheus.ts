// A real Prometheus (Debian's package) in a temp dir on a free port, scraping given targets every
// second; queried over its HTTP API.
import type { Subprocess } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDebianPackage } from "./debian.ts";
import { freePort } from "./net.ts";
import { tempDir } from "./tmp.ts";

export interface Prometheus {
  url: string;
  /** The value of an instant PromQL query with one result, or undefined while it has none. */
  query(promql: string): Promise<number | undefined>;
  /** Polls `query` until `accept` holds (or the deadline), returning the last value. */
  waitFor(promql: string, accept: (v: number | undefined) => boolean, timeoutMs?: number): Promise<number | undefined>;
  stop(): Promise<void>;
}

export async function startPrometheus(target: { hostPort: string; bearer?: string }): Promise<Prometheus> {
  const binary = ensureDebianPackage("/usr/bin/prometheus", "prometheus", "the metrics tests");
  const dir = tempDir("gw-prom-");
  const port = await freePort();
  const auth = target.bearer ? `    authorization:\n      type: Bearer\n      credentials: ${target.bearer}\n` : "";
  writeFileSync(join(dir, "prometheus.yml"), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: gateway\n${auth}    static_configs:\n      - targets: ["${target.hostPort}"]\n`);
  const proc: Subprocess = Bun.spawn([binary, `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdout: "ignore", stderr: "pipe" });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`prometheus did not start: ${await new Response(proc.stderr as ReadableStream).text()}`);
    await Bun.sleep(100);
  }
  const query = async (promql: string) => {
    const body = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`)).json()) as { data?: { result?: { value: [number, string] }[] } };
    const result = body.data?.result ?? [];
    return result.length === 1 ? Number(result[0]!.value[1]) : undefined;
  };
  return {
    url,
    query,
    async waitFor(promql, accept, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      let v: number | undefined;
      while (Date.now() < until) {
        v = await query(promql);
        if (accept(v)) return v;
        await Bun.sleep(250);
      }
      return v;
    },
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
