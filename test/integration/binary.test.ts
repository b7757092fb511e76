// The operator's path: only dist/gateway copied into an empty directory, every admin command, serve + /health.
import { Database } from "bun:sqlite";
import { expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { binaryIn, parseCreated, runCli } from "../helpers/cli.ts";
import { startServerProcess } from "../helpers/process.ts";
import { tempDir } from "../helpers/tmp.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

test("the compiled binary alone runs the whole key workflow and serves /health", async () => {
  const dir = tempDir();
  const binary = await binaryIn(dir);
  expect(readdirSync(dir)).toEqual(["gateway"]);
  const run = (...args: string[]) => runCli(args, { cwd: dir, binary });

  const version = await run("--version");
  expect(version.code).toBe(0);
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);

  const plain = "sk-acme-0123456789abcdef";
  const created = await run("create-key", "customer-acme-corp", plain, "200");
  expect(created.code).toBe(0);
  expect(created.stderr).toBe("");
  const { id } = parseCreated(created.stdout);
  expect(created.stdout).toBe(
    `API key 'customer-acme-corp' created successfully!\nKey ID: ${id}\nPlain key (save this securely): ${plain}\nHint (shown in listings): …cdef\nRate limit: 200 requests/minute\n`,
  );
  expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

  const generated = await run("create-key", "beta", "--generate", "30");
  expect(generated.code).toBe(0);
  const gen = parseCreated(generated.stdout);
  expect(gen.key).toMatch(/^gw-[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
  expect(gen.rateLimit).toBe(30);

  const secretFile = join(dir, "gateway.db.secret");
  expect(statSync(secretFile).mode & 0o777).toBe(0o600);

  const table = await run("list-keys");
  expect(table.code).toBe(0);
  const lines = table.stdout.trim().split("\n");
  expect(lines[0]).toMatch(/^NAME\s+HINT\s+CUSTOMER\s+ID\s+ACTIVE\s+RATE LIMIT\s+TPM\s+PARALLEL\s+BUDGET\s+SPENT\s+LAST USED\s+EXPIRES\s+MODELS\s+CREATED$/);
  expect(lines[1]).toMatch(new RegExp(`^customer-acme-corp\\s+…cdef\\s+-\\s+${id}\\s+yes\\s+200/min\\s+-\\s+-\\s+-\\s+\\$0\\.00 \\(month\\)\\s+never\\s+-\\s+all\\s+\\d{4}-`));
  expect(table.stdout).not.toContain(plain);
  expect(table.stdout).not.toContain("$2");

  expect((await run("disable-key", "customer-acme-corp")).stdout).toBe(`API key 'customer-acme-corp' (${id}) disabled.\n`);
  expect((await run("set-rate-limit", id, "500")).stdout).toBe(
    `API key 'customer-acme-corp' (${id}) rate limit: 500 requests/minute.\n`,
  );
  const json = JSON.parse((await run("list-keys", "--json")).stdout) as Record<string, unknown>[];
  expect(json.map((k) => [k.name, k.is_active, k.rate_limit_per_minute])).toEqual([
    ["customer-acme-corp", false, 500],
    ["beta", true, 30],
  ]);
  expect(Object.keys(json[0]!).sort()).toEqual([
    "allowed_ips", "allowed_models", "budget_period", "budget_resets_at", "budget_usd", "cache_ttl_s", "created_at", "customer", "expires_at", "hint", "id", "is_active", "last_used_at", "max_output_tokens", "max_parallel", "name", "rate_limit_per_minute", "spent_usd", "tpm_limit", "updated_at",
  ]);
  expect((await run("enable-key", "customer-acme-corp")).code).toBe(0);

  const db = new Database(join(dir, "gateway.db"), { readonly: true });
  const row = db.query("SELECT * FROM api_keys WHERE id = ?").get(id) as Record<string, unknown>;
  db.close();
  expect(row.name).toBe("customer-acme-corp");
  expect(row.is_active).toBe(1);
  expect(row.rate_limit_per_minute).toBe(500);
  expect(row.hint).toBe("cdef"); // the last 4 characters, nothing more of the value
  expect(String(row.key_hash)).toMatch(/^\$2[aby]\$10\$/);
  expect(await Bun.password.verify(plain, String(row.key_hash))).toBe(true);
  expect(readFileSync(join(dir, "gateway.db")).includes(plain)).toBe(false);

  const server = await startServerProcess({ cwd: dir, binary, env: { OPENAI_API_KEY: "sk-provider-binary-test" } });
  try {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: version.stdout.trim(), writer: { pending_rows: 0, oldest_pending_ms: 0 } });
  } finally {
    expect(await server.stop("SIGTERM")).toBe(0);
  }
  expect(server.output()).not.toContain(plain);
});
