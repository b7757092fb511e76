// The README's example config file is a fixture: the binary starts on the exact block, routes by it, and
// prices by it. (It once failed to start: keys written after [[routes]] became the route's properties.)
import { expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/cli.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

/** The ```toml block that follows "can define several providers" in docs/configuration.md (the README links to it). */
function readmeConfig(): string {
  const readme = readFileSync(join(ROOT, "docs/configuration.md"), "utf8");
  const at = readme.indexOf("can define several providers");
  const start = readme.indexOf("```toml\n", at);
  const end = readme.indexOf("```", start + 8);
  expect(at).toBeGreaterThan(0);
  return readme.slice(start + 8, end);
}

test("the README's example config starts the binary as written, and its routes and prices apply", async () => {
  const upstream = startFakeUpstream();
  // The providers' real addresses pointed at the fake one (only the URLs change, every other line as written).
  const toml = readmeConfig().replace(/base_url = "[^"]+"/g, `base_url = "${upstream.url}"`);
  const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, configToml: toml, env: { ANTHROPIC_API_KEY: "sk-ant-readme-0000000000", OPENAI_API_KEY: "sk-readme-0000000000", OPENROUTER_API_KEY: "sk-or-readme-0000000000" } });
  try {
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    const { key } = await gw.createKey("readme-config");
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ model: "llama3.1", messages: [{ role: "user", content: "hi" }] }) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    // llama3.1 goes to "local" (its pattern) and is priced by [models."llama3.1"]: 1,200 in, 300 out (200 cached).
    const row = gw.rows().at(-1)!;
    expect(row).toMatchObject({ provider: "local", model_requested: "llama3.1" });
    expect(Number(row.cost_nano_usd)).toBe(1000 * 200 + 200 * 100 + 300 * 600);
  } finally {
    await gw.stop();
    await upstream.stop();
  }
});
