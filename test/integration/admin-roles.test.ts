// Several named admin tokens ([[admins]] with a role, plus GATEWAY_ADMIN_TOKEN as "admin"): a viewer reads
// everything and changes nothing (403 insufficient_role), the dashboard hides what it cannot do, and the
// access log names the admin, never its token. Compiled binary; the dashboard in Chromium.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { launchChromium, offlinePage } from "../helpers/chromium.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { binaryIn, runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

setDefaultTimeout(120_000);

const ROOT = "root-admin-token-0123456789-abcdefXYZ";
const OPS = "ops-admin-token-0123456789-abcdefQRST";
const VIEWER = "viewer-token-0123456789-abcdefUVWXYZ";
const CONFIG = `[[admins]]\nname = "ops"\ntoken_env = "OPS_TOKEN"\nrole = "admin"\n\n[[admins]]\nname = "auditor"\ntoken_env = "VIEWER_TOKEN"\nrole = "viewer"\n`;
const upstream = startFakeUpstream();
let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ROOT, OPS_TOKEN: OPS, VIEWER_TOKEN: VIEWER }, configToml: CONFIG });
  browser = await launchChromium();
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await gw.stop();
  await upstream.stop();
});

const call = (token: string, method: string, path: string, body?: unknown) =>
  fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });

describe("admin roles", () => {
  test("a viewer reads every admin route and changes nothing; named admins change; the access log names them, never their tokens", async () => {
    expect(await (await call(VIEWER, "GET", "/admin/whoami")).json()).toEqual({ name: "auditor", role: "viewer" });
    expect(await (await call(OPS, "GET", "/admin/whoami")).json()).toEqual({ name: "ops", role: "admin" });
    expect(await (await call(ROOT, "GET", "/admin/whoami")).json()).toEqual({ name: "admin", role: "admin" });
    const made = await call(OPS, "POST", "/admin/keys", { name: "made-by-ops" });
    expect(made.status).toBe(201);
    const id = ((await made.json()) as { id: string }).id;
    for (const path of ["/admin/keys", `/admin/keys/${id}`, "/admin/customers", "/admin/usage", "/admin/overview", "/admin/usage/requests"]) {
      expect([path, (await call(VIEWER, "GET", path)).status]).toEqual([path, 200]);
    }
    const changes: [string, string, unknown][] = [
      ["POST", "/admin/keys", { name: "by-viewer" }],
      ["PATCH", `/admin/keys/${id}`, { is_active: false }],
      ["POST", `/admin/keys/${id}/rotate`, {}],
      ["DELETE", `/admin/keys/${id}`, undefined],
      ["POST", "/admin/customers", { name: "by-viewer" }],
    ];
    for (const [method, path, body] of changes) {
      const res = await call(VIEWER, method, path, body);
      expect([method, path, res.status]).toEqual([method, path, 403]);
      expect(await res.json()).toMatchObject({ error: { code: "insufficient_role", message: "The admin token 'auditor' is a viewer's: it may read, not change anything." } });
    }
    expect(((await (await call(VIEWER, "GET", `/admin/keys/${id}`)).json()) as { is_active: boolean }).is_active).toBe(true);
    const listed = (await (await call(ROOT, "GET", "/admin/keys")).json()) as { name: string }[];
    expect(listed.map((k) => k.name)).not.toContain("by-viewer");

    for (let until = Date.now() + 5000; !gw.logs().includes('"admin":"auditor"') && Date.now() < until; ) await Bun.sleep(50);
    const logs = gw.logs();
    expect(logs).toContain('"admin":"auditor"');
    expect(logs).toContain('"admin":"ops"');
    for (const token of [ROOT, OPS, VIEWER]) expect(logs).not.toContain(token);
  });

  test("the dashboard hides what a viewer cannot do, and shows it to an admin", async () => {
    for (const [token, viewer] of [[VIEWER, true], [OPS, false]] as const) {
      const { page } = await offlinePage(browser, new URL(gw.url).origin);
      await page.goto(`${gw.url}/dashboard`);
      await page.fill("#signin input[name=token]", token);
      await page.click("#signin button[type=submit]");
      await page.waitForSelector("#whoami");
      expect(await page.textContent("#whoami")).toBe(viewer ? "auditor (viewer)" : "ops");
      await page.click("a[href='#/keys']");
      await page.waitForSelector("#keys-table tr[data-key='made-by-ops']");
      expect(await page.isVisible("#create-key")).toBe(!viewer);
      expect(await page.isVisible("#keys-table tr[data-key='made-by-ops'] button.toggle")).toBe(!viewer);
      await page.click("a[href='#/customers']");
      await page.waitForSelector("#customers-table");
      expect(await page.isVisible("#create-customer")).toBe(!viewer);
      await page.close();
    }
  });

  test("[[admins]] tokens must be strong, set, and unique; a start with a weak one is refused, naming the admin, never printing the token", async () => {
    const dir = tempDir();
    const binary = await binaryIn(dir);
    writeFileSync(join(dir, "gateway.toml"), `[[admins]]\nname = "weak"\ntoken_env = "WEAK"\nrole = "viewer"\n`);
    const env = { GATEWAY_SECRET: "test-secret-0123456789abcdef", OPENAI_API_KEY: "sk-x", WEAK: "short-token" };
    const weak = await runCli(["serve", "--config", join(dir, "gateway.toml"), "--port", "0"], { cwd: dir, binary, env });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain("admins[0] ('weak'): its token must be at least 32 random characters");
    expect(weak.stderr).not.toContain("short-token");
    const unset = await runCli(["serve", "--config", join(dir, "gateway.toml"), "--port", "0"], { cwd: dir, binary, env: { ...env, WEAK: "" } });
    expect(unset.stderr).toContain("environment variable WEAK is not set");
    writeFileSync(join(dir, "gateway.toml"), `[[admins]]\nname = "a"\ntoken_env = "T"\n\n[[admins]]\nname = "b"\ntoken_env = "T"\n`);
    const twice = await runCli(["serve", "--config", join(dir, "gateway.toml"), "--port", "0"], { cwd: dir, binary, env: { ...env, T: OPS } });
    expect(twice.stderr).toContain("admins[1] ('b'): another admin has this token");
  });
});
