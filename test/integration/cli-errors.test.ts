// Every bad input to the admin CLI: one line on stderr, non-zero exit, nothing changed.
import { Database } from "bun:sqlite";
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { parseCreated, runCli, type CliResult } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

const dir = tempDir();
const dbFile = join(dir, "gateway.db");
const run = (args: string[], stdin?: string, env?: Record<string, string>) => runCli(args, { cwd: dir, stdin, env });

function snapshot(): unknown[] {
  const db = new Database(dbFile, { readonly: true });
  const rows = db.query("SELECT * FROM api_keys ORDER BY name").all();
  db.close();
  return rows;
}

function expectOneLineError(r: CliResult, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

beforeAll(async () => {
  expect((await run(["create-key", "acme", "sk-existing-key-1", "100"])).code).toBe(0);
});

describe("create-key refuses bad input and changes nothing", () => {
  const cases: [string, string[], RegExp, string?][] = [
    ["duplicate name", ["create-key", "acme", "sk-another-key-2", "5"], /already exists/],
    ["duplicate key", ["create-key", "other", "sk-existing-key-1", "5"], /already has this value/],
    ["empty key", ["create-key", "other", "", "5"], /must not be empty/],
    ["whitespace key", ["create-key", "other", "   ", "5"], /must not be empty or whitespace/],
    ["key with a space inside", ["create-key", "other", "sk-has space", "5"], /visible ASCII/],
    ["empty key from stdin", ["create-key", "other", "-", "5"], /must not be empty/, "\n"],
    ["empty name", ["create-key", "", "sk-another-key-2", "5"], /name must not be empty/],
    ["non-integer rate limit", ["create-key", "other", "sk-another-key-2", "ten"], /positive integer.*'ten'/],
    ["fractional rate limit", ["create-key", "other", "sk-another-key-2", "1.5"], /positive integer.*'1.5'/],
    ["zero rate limit", ["create-key", "other", "sk-another-key-2", "0"], /positive integer.*'0'/],
    ["negative rate limit", ["create-key", "other", "sk-another-key-2", "--", "-5"], /positive integer.*'-5'/],
    ["too many arguments", ["create-key", "other", "sk-another-key-2", "5", "extra"], /too many arguments/],
    ["too few arguments", ["create-key"], /missing .*argument:? NAME/i],
    ["key starting with '-' without '--'", ["create-key", "other", "-k3y-secret-value", "5"], /unknown option '-k3y-secret-value'.*'--'/],
    ["unknown option", ["create-key", "other", "sk-another-key-2", "--rate", "5"], /unknown option '--rate'/],
  ];
  for (const [label, args, message, stdin] of cases) {
    test(label, async () => {
      const before = snapshot();
      expectOneLineError(await run(args, stdin), message);
      expect(snapshot()).toEqual(before);
    });
  }
});

describe("other commands refuse bad input", () => {
  const cases: [string, string[], RegExp][] = [
    ["disable unknown key", ["disable-key", "nobody"], /no key named or with id 'nobody'/],
    ["enable unknown key", ["enable-key", "nobody"], /no key named or with id 'nobody'/],
    ["re-limit unknown key", ["set-rate-limit", "nobody", "5"], /no key named or with id 'nobody'/],
    ["re-limit with a non-integer", ["set-rate-limit", "acme", "lots"], /positive integer.*'lots'/],
    ["re-limit with zero", ["set-rate-limit", "acme", "0"], /positive integer/],
    ["re-limit missing N", ["set-rate-limit", "acme"], /missing .*argument:? RATE_LIMIT/i],
    ["disable with two names", ["disable-key", "acme", "other"], /too many arguments/],
    ["disable with no name", ["disable-key"], /missing .*argument:? KEY/i],
    ["list-keys with an argument", ["list-keys", "acme"], /too many arguments/],
    ["unknown command", ["delete-everything"], /unknown command/i],
    ["bad port", ["serve", "--port", "http"], /port must be an integer/],
  ];
  for (const [label, args, message] of cases) {
    test(label, async () => {
      const before = snapshot();
      expectOneLineError(await run(args), message);
      expect(snapshot()).toEqual(before);
    });
  }
});

test("unreadable database path", async () => {
  expectOneLineError(await run(["create-key", "k", "--db", join(dir, "missing-dir", "x.db")]), /cannot open database .*missing-dir/);
});

test("a database locked by another process", async () => {
  const holder = new Database(dbFile);
  holder.run("PRAGMA busy_timeout = 0");
  holder.run("BEGIN EXCLUSIVE");
  try {
    const r = await run(["create-key", "locked-out", "sk-another-key-2", "5"], undefined, { GATEWAY_BUSY_TIMEOUT_MS: "200" });
    expectOneLineError(r, /locked/);
  } finally {
    holder.run("ROLLBACK");
    holder.close();
  }
  expect(snapshot().map((r) => (r as { name: string }).name)).toEqual(["acme"]);
});

test("a database created with another secret is refused instead of silently matching no key", async () => {
  expectOneLineError(await run(["list-keys"], undefined, { GATEWAY_SECRET: "a-different-secret-0123456789" }), /lookup secret/);
});

describe("keys that begin with '-' are kept exactly", () => {
  test("after --", async () => {
    const r = await run(["create-key", "dash-1", "--", "-k3y-secret-value", "5"]);
    expect(r.code).toBe(0);
    expect(parseCreated(r.stdout)).toMatchObject({ key: "-k3y-secret-value", rateLimit: 5 });
  });
  test("from stdin, trailing newline dropped", async () => {
    const r = await run(["create-key", "dash-2", "-", "7"], "--another-dash-key\n");
    expect(r.code).toBe(0);
    const created = parseCreated(r.stdout);
    expect(created).toMatchObject({ key: "--another-dash-key", rateLimit: 7 });
    const db = new Database(dbFile, { readonly: true });
    const row = db.query("SELECT key_hash FROM api_keys WHERE id = ?").get(created.id) as { key_hash: string };
    db.close();
    expect(await Bun.password.verify("--another-dash-key", row.key_hash)).toBe(true);
  });
  test("omitted KEY generates one; RATE_LIMIT defaults to 60", async () => {
    const r = await run(["create-key", "generated"]);
    expect(r.code).toBe(0);
    expect(parseCreated(r.stdout)).toMatchObject({ rateLimit: 60 });
  });
});

test("--help of every command explains its arguments", async () => {
  for (const cmd of ["create-key", "list-keys", "disable-key", "enable-key", "set-rate-limit", "serve"]) {
    const r = await run([cmd, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`gateway ${cmd}`);
    expect(r.stdout).toContain("--db");
  }
  expect((await run(["create-key", "--help"])).stdout).toContain("RATE_LIMIT");
});
