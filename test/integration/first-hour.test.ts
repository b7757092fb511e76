// What a new user meets in the first hour, against the compiled binary: the product description's own
// request, routing that a prefix cannot widen, an honest model list, start-up errors, CLI manners.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { join } from "node:path";
import { binaryIn, runCli } from "../helpers/cli.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { PROVIDER_KEY, startGateway, type TestGateway } from "../helpers/gateway.ts";
import { TEST_SECRET } from "../helpers/harness.ts";
import { tempDir } from "../helpers/tmp.ts";

setDefaultTimeout(60_000);

const upstream = startFakeUpstream();
afterAll(() => upstream.stop());

interface ErrorJson {
  error: { code: string; message: string; param: string | null };
}

const post = (g: TestGateway, key: string, body: unknown) =>
  fetch(`${g.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });

describe("the product description's own request", () => {
  test("with a default model, a request without 'model' works and is billed to that model", async () => {
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_DEFAULT_MODEL: "gpt-4o-mini" } });
    try {
      const { key } = await gw.createKey("described");
      // Verbatim from the description: curl ... -d '{"messages": [{"role": "user", "content": "Hello"}]}'
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: '{"messages": [{"role": "user", "content": "Hello"}]}',
      });
      expect(res.status).toBe(200);
      expect(upstream.received.at(-1)!.body.model).toBe("gpt-4o-mini");
      expect(gw.rows().at(-1)).toMatchObject({ model_requested: "gpt-4o-mini", cost_nano_usd: expect.any(Number) });
    } finally {
      await gw.stop();
    }
  });

  test("without one, the 400 says how to set it", async () => {
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url });
    try {
      const { key } = await gw.createKey("no-default");
      const res = await post(gw, key, { messages: [{ role: "user", content: "Hello" }] });
      expect(res.status).toBe(400);
      const err = ((await res.json()) as ErrorJson).error;
      expect(err).toMatchObject({ code: "missing_required_parameter", param: "model" });
      expect(err.message).toContain("GATEWAY_DEFAULT_MODEL");
    } finally {
      await gw.stop();
    }
  });
});

describe("routing and the model list", () => {
  const down = "http://127.0.0.1:9/v1"; // nothing listens on the discard port
  const config = (url: string) => `
[[providers]]
name = "fake"
base_url = "${url}"
api_key_env = "FAKE_KEY"
models = ["gpt-*", "my-local-model"]

[[providers]]
name = "other"
base_url = "${down}"
api_key_required = false
models = ["claude-*", "other-literal"]
`;

  test("a provider/ prefix never reaches a model outside that provider's patterns", async () => {
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, configToml: config(upstream.url), env: { FAKE_KEY: PROVIDER_KEY } });
    try {
      const { key } = await gw.createKey("prefixes");
      const before = upstream.received.length;
      for (const model of ["fake/claude-3-haiku", "fake/o3", "fake/", "fake/other-literal", "other/gpt-4o", "claude/x"]) {
        const res = await post(gw, key, { model, messages: [{ role: "user", content: "hi" }] });
        expect({ model, status: res.status }).toEqual({ model, status: 404 });
        expect(((await res.json()) as ErrorJson).error.code).toBe("model_not_found");
      }
      expect(upstream.received.length).toBe(before);
      expect(gw.rows()).toHaveLength(0);
      expect((await post(gw, key, { model: "fake/gpt-4o", messages: [{ role: "user", content: "hi" }] })).status).toBe(200);
      expect(upstream.received.at(-1)!.body.model).toBe("gpt-4o");
    } finally {
      await gw.stop();
    }
  });

  test("/v1/models lists what the providers serve, owned by the provider; listing and reports do not use up the limit", async () => {
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, configToml: config(upstream.url), env: { FAKE_KEY: PROVIDER_KEY } });
    try {
      const { key } = await gw.createKey("lister", 2);
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
        expect(res.status).toBe(200);
        const list = (await res.json()) as { data: { id: string; owned_by: string }[] };
        expect(list.data.map((m) => `${m.id}@${m.owned_by}`)).toEqual(["gpt-4o@fake", "gpt-4o-mini@fake", "my-local-model@fake", "other-literal@other"]);
        expect((await fetch(`${gw.url}/v1/usage`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
      }
      // The provider's list is fetched once and cached.
      expect(upstream.received.filter((r) => r.path.endsWith("/models")).length).toBe(1);
      expect((await post(gw, key, { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).status).toBe(200);
      expect((await post(gw, key, { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).status).toBe(200);
      expect((await post(gw, key, { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).status).toBe(429);
    } finally {
      await gw.stop();
    }
  });

  test("GET /v1/models/{model} answers one served model (the openai SDK's models.retrieve); unknown /v1 paths name what exists", async () => {
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, configToml: config(upstream.url), env: { FAKE_KEY: PROVIDER_KEY } });
    try {
      const { key } = await gw.createKey("retriever");
      const client = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
      expect(await client.models.retrieve("gpt-4o-mini")).toMatchObject({ id: "gpt-4o-mini", object: "model", owned_by: "fake" });
      expect(await client.models.retrieve("other-literal")).toMatchObject({ id: "other-literal", owned_by: "other" });
      const missing = await client.models.retrieve("dall-e-3").catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
      expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
      const unknown = await fetch(`${gw.url}/v1/frobnicate`, { method: "POST", headers: { authorization: `Bearer ${key}` } });
      expect(unknown.status).toBe(404);
      const err = ((await unknown.json()) as ErrorJson).error;
      expect(err.code).toBe("unknown_url");
      expect(err.message).toContain("POST /v1/frobnicate");
      expect(err.message).toContain("POST /v1/chat/completions");
    } finally {
      await gw.stop();
    }
  });

  test("a provider's list is served stale while the provider is down", async () => {
    const { createModelCatalog } = await import("../../src/surfaces/models.ts");
    const { createRouter } = await import("../../src/routing/router.ts");
    const providers = [{ name: "fake", type: "openai" as const, baseUrl: upstream.url, apiKey: PROVIDER_KEY, models: ["gpt-*"], endpoints: ["chat" as const], maxRetries: 0, retryMaxWaitMs: 0 }];
    const logs: string[] = [];
    const list = createModelCatalog({ providers, route: createRouter(providers), ttlMs: 0, log: (l) => logs.push(l) });
    const fresh = await list();
    upstream.setHandler(() => new Response("down", { status: 503 }));
    try {
      expect(await list()).toEqual(fresh);
      expect(fresh.data.map((m) => m.id)).toEqual(["gpt-4o", "gpt-4o-mini"]);
      expect(logs.join("\n")).toContain("serving the cached one");
      expect(upstream.received.at(-1)!.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    } finally {
      upstream.reset();
    }
  });
});

describe("start-up without a provider key", () => {
  const serve = async (env: Record<string, string>, configToml?: string) => {
    const dir = tempDir();
    const binary = await binaryIn(dir);
    const args = ["serve", "--port", "0", "--db", join(dir, "g.db")];
    if (configToml) {
      await Bun.write(join(dir, "g.toml"), configToml);
      args.push("--config", join(dir, "g.toml"));
    }
    const proc = Bun.spawn([binary, ...args], { cwd: dir, env: { GATEWAY_SECRET: TEST_SECRET, PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
    const exited = await Promise.race([proc.exited, Bun.sleep(1500).then(() => null)]);
    proc.kill("SIGKILL");
    return { exited, stderr: await new Response(proc.stderr).text() };
  };

  test("is a clear start-up error, unless the provider is on loopback or marked api_key_required = false", async () => {
    const none = await serve({ OPENAI_BASE_URL: "https://api.example.com/v1" });
    expect(none.exited).toBe(1);
    expect(none.stderr.trim()).toBe("error: OPENAI_API_KEY is not set: the gateway would call https://api.example.com/v1 without a provider key (set it, or use a config file with api_key_required = false)");
    expect((await serve({})).exited).toBe(1); // the default is api.openai.com
    expect((await serve({ OPENAI_BASE_URL: "http://127.0.0.1:11434/v1" })).exited).toBeNull();
    const file = (extra: string) => `[[providers]]\nname = "local"\nbase_url = "http://10.0.0.5:11434/v1"\nmodels = ["*"]\n${extra}`;
    const missing = await serve({}, file(""));
    expect(missing.exited).toBe(1);
    expect(missing.stderr).toContain("providers[0] ('local') has no provider key: set api_key_env, or api_key_required = false");
    expect((await serve({}, file("api_key_required = false\n"))).exited).toBeNull();
  });
});

describe("CLI manners", () => {
  test("typos get a suggestion; help and version work as words", async () => {
    const dir = tempDir();
    const binary = await binaryIn(dir);
    const run = (args: string[]) => runCli(args, { cwd: dir, binary });
    const typo = await run(["list-key"]);
    expect(typo.code).toBe(1);
    expect(typo.stderr.trim()).toBe("error: unknown command 'list-key' (did you mean list-keys?); see 'gateway --help' for the commands");
    expect((await run(["--verison"])).stderr.trim()).toBe("error: unknown option '--verison' (did you mean --version?); see 'gateway --help' for the commands");
    const prot = await run(["serve", "--prot", "9000"]);
    expect(prot.code).toBe(1);
    expect(prot.stderr.trim()).toBe("error: unknown option '--prot' (did you mean --port?)");
    const version = await run(["version"]);
    expect(version).toMatchObject({ code: 0, stdout: (await run(["--version"])).stdout });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await run(["help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("create-key");
    expect((await run(["help", "serve"])).stdout).toContain("--port");
  });
});

describe("reports", () => {
  test("a group whose requests are all unpriced has a null cost (the table shows —); mixed groups keep the priced sum", async () => {
    const admin = "admin-token-first-hour-0123456789";
    const gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: admin } });
    try {
      const { key } = await gw.createKey("pricing");
      expect((await post(gw, key, { model: "my-unpriced-model", messages: [{ role: "user", content: "hi" }] })).status).toBe(200);
      expect((await post(gw, key, { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })).status).toBe(200);
      const byModel = (await (await fetch(`${gw.url}/admin/usage?group_by=model`, { headers: { authorization: `Bearer ${admin}` } })).json()) as {
        rows: { model: string; cost_nano_usd: number | null; cost_usd: number | null; unpriced_requests: number }[];
        total: { cost_nano_usd: number | null; unpriced_requests: number };
      };
      const unpriced = byModel.rows.find((r) => r.model === "my-unpriced-model")!;
      expect(unpriced).toMatchObject({ cost_nano_usd: null, cost_usd: null, unpriced_requests: 1 });
      expect(byModel.total.cost_nano_usd).toBeGreaterThan(0);
      expect(byModel.total.unpriced_requests).toBe(1);
      const table = await runCli(["usage", "--by", "model", "--db", gw.dbPath], { cwd: gw.dir, env: { GATEWAY_SECRET: TEST_SECRET } });
      expect(table.stdout.split("\n").find((l) => l.startsWith("my-unpriced-model"))).toContain("—");
    } finally {
      await gw.stop();
    }
  });
});
