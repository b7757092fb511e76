// The README's "Coming from the product description" table, run top to bottom as a newcomer would: each
// row's first command, in an empty directory holding the compiled binary as ./dist/gateway, the gateway
// started with --demo (no provider account). Only the port changes (8080 may be taken on a test machine).
import { expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { binaryIn, cleanEnv, ROOT } from "../helpers/cli.ts";
import { freePort } from "../helpers/net.ts";
import { tempDir } from "../helpers/tmp.ts";

setDefaultTimeout(60_000);

/** Each table row's step and its first `code span` that is a command. */
function readmeSteps(): { step: string; command: string }[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf("## Coming from the product description");
  const table = readme.slice(at, readme.indexOf("\n## ", at + 10));
  return table
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| Step"))
    .flatMap((l) => {
      const [, step, here] = l.split(" | ").length >= 2 ? (l.match(/^\| (.*?) \| (.*) \|$/) ?? []) : [];
      const command = /`((?:\.\/dist\/gateway|curl) [^`]+)`/.exec(here ?? "")?.[1];
      return step && command ? [{ step, command }] : [];
    });
}

/** Waits (15 s at most) for a server on `port` to answer /health. */
async function healthy(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error("the gateway did not start");
    await Bun.sleep(50);
  }
}

test("the product description's steps run as the README writes them, and the customer's curl is answered", async () => {
  const steps = readmeSteps();
  expect(steps.map((s) => s.step)).toEqual([
    "Run the gateway",
    "Create a key for a customer with a key you chose",
    "Generate a key (`secrets.token_urlsafe(32)`)",
    "The customer calls the API with curl",
    "List keys",
    "Disable a key",
    "Change a key's limit",
    "Monitor usage and cost",
  ]);
  const dir = tempDir();
  mkdirSync(join(dir, "dist"));
  await binaryIn(join(dir, "dist"));
  const port = await freePort();
  const env = cleanEnv({ KEY: "acme-chosen-key-0123456789", PORT: String(port) });
  const sh = (command: string) => Bun.spawn(["bash", "-c", command.replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`)], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
  const [serve, ...rest] = steps;
  const server = sh(serve!.command);
  try {
    await healthy(port);
    const outputs: Record<string, string> = {};
    for (const { step, command } of rest) {
      const proc = sh(command);
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      // curl prints its progress meter on stderr; a gateway command prints only errors there.
      expect({ step, code, err: command.startsWith("curl") ? "" : err }).toEqual({ step, code: 0, err: "" });
      outputs[step] = out;
    }
    const answer = JSON.parse(outputs["The customer calls the API with curl"]!) as { model: string; choices: { message: { content: string } }[] };
    expect(answer.model).toBe("gpt-4o-mini");
    expect(answer.choices[0]!.message.content).toContain("demo provider");
    expect(outputs["List keys"]).toContain("customer-acme-corp");
    expect(outputs["List keys"]).toContain("customer-company-a");
    // Spend this month and the last request, for a key without a budget too; a key never used says so.
    expect(outputs["List keys"]).toMatch(/customer-acme-corp .*\$0\.0\d*[1-9]\d* \(month\)\s+\d{4}-\d\d-\d\d \d\d:\d\d\s/);
    expect(outputs["List keys"]).toMatch(/customer-company-a .*\$0\.00 \(month\)\s+never\s/);
    expect(outputs["Monitor usage and cost"]).toMatch(/customer-acme-corp \([0-9a-f-]+\)\s+1\s/);
    // The disabled key is refused on its next request.
    const refused = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${env.KEY}` }, body: '{"messages": [{"role": "user", "content": "Hello"}]}' });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("api_key_disabled");
  } finally {
    server.kill();
    await server.exited;
  }
});

test("--demo answers the SDKs' other APIs, and refuses a config file's providers beside its own", async () => {
  const dir = tempDir();
  const binary = await binaryIn(dir);
  const port = await freePort();
  const server = Bun.spawn([binary, "serve", "--demo", "--host", "127.0.0.1", "--port", String(port)], { cwd: dir, env: cleanEnv({ GATEWAY_SECRET: "walkthrough-secret-0123456789abcdef" }), stdout: "pipe", stderr: "pipe" });
  try {
    await healthy(port);
    const created = Bun.spawnSync([binary, "create-key", "demo-user", "--generate", "100"], { cwd: dir, env: cleanEnv({ GATEWAY_SECRET: "walkthrough-secret-0123456789abcdef" }) });
    const key = /Plain key \(save this securely\): (\S+)/.exec(created.stdout.toString())![1]!;
    const { default: OpenAI } = await import("openai");
    const { default: Anthropic } = await import("@anthropic-ai/sdk");
    const openai = new OpenAI({ apiKey: key, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const events: string[] = [];
    for await (const e of await openai.responses.create({ model: "gpt-4o", input: "Hi", stream: true })) events.push(e.type);
    expect(events.at(-1)).toBe("response.completed");
    const emb = await openai.embeddings.create({ model: "text-embedding-3-small", input: ["a", "b"] });
    expect(emb.data.map((d) => d.embedding.length)).toEqual([16, 16]);
    const msg = await new Anthropic({ apiKey: key, baseURL: `http://127.0.0.1:${port}`, maxRetries: 0 }).messages.create({ model: "claude-haiku-4-5", max_tokens: 100, messages: [{ role: "user", content: "Hi" }] });
    expect(msg.content[0]).toMatchObject({ type: "text", text: expect.stringContaining("You said: Hi") });
  } finally {
    server.kill();
    await server.exited;
  }
  const both = Bun.spawnSync([binary, "serve", "--demo", "--config", "gateway.toml"], { cwd: dir, env: cleanEnv() });
  expect(both.exitCode).toBe(1);
  expect(both.stderr.toString()).toContain("error: --demo brings its own provider: leave out --config and GATEWAY_CONFIG");
});
