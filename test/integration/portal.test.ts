// The customer portal (/portal) in Chromium against the compiled binary: a customer signs in with an API
// key and sees its limits, what is left, budget and balance, spend by day and model and its recent
// requests — numbers equal to the database's — and its account's totals; never another key's requests,
// never an admin route; a wrong key gets a clear message; the page keeps the strict CSP.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import type { Browser } from "playwright-core";
import { launchChromium, offlinePage } from "../helpers/chromium.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(120_000);

// Evaluated in the page, not here.
declare const document: { querySelectorAll(s: string): { length: number } };

const upstream = startFakeUpstream();
let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url });
  browser = await launchChromium();
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await gw.stop();
  await upstream.stop();
});

/** The portal's money format: cents, or the exact figure below a cent. */
const money = (nano: number) => {
  const n = nano / 1e9;
  return n !== 0 && Math.abs(n) < 0.01 ? `$${n.toFixed(6).replace(/0+$/, "")}` : `$${n.toFixed(2)}`;
};

describe("customer portal", () => {
  test("signed in with a key: its limits, budget, the account's totals and balance, spend by day and model, its own recent requests, all equal to the database's", async () => {
    const cli = async (args: string[]) => expect((await gw.cli(args)).code).toBe(0);
    await cli(["create-customer", "portal-co", "--budget", "10", "--prepaid"]);
    await cli(["credits", "add", "portal-co", "20"]);
    const mine = await gw.createKey("portal-key", 30, ["--customer", "portal-co", "--budget", "5", "--tpm", "100000", "--max-parallel", "4"]);
    const other = await gw.createKey("portal-other", 30, ["--customer", "portal-co"]);
    const sdk = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    for (let i = 0; i < 3; i++) await sdk(mine.key).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    for (let i = 0; i < 2; i++) await sdk(other.key).chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    const rows = gw.rows();
    const spent = (id: string) => rows.filter((r) => r.key_id === id).reduce((n, r) => n + (r.cost_nano_usd as number), 0);
    const mineNano = spent(mine.id);
    const accountNano = mineNano + spent(other.id);
    expect(mineNano).toBeGreaterThan(0);

    const { page, blocked } = await offlinePage(browser, new URL(gw.url).origin);
    const asked: string[] = [];
    page.on("request", (r) => void asked.push(new URL(r.url()).pathname));
    const opened = await page.goto(`${gw.url}/portal`);
    expect(opened!.headers()["content-security-policy"]).toContain("script-src 'self'");
    await page.fill("#signin input[name=key]", mine.key);
    await page.click("#signin button[type=submit]");
    await page.waitForFunction(() => document.querySelectorAll("#requests-table tbody tr").length === 3);
    expect(await page.textContent("#key-name")).toBe("portal-key");
    expect(await page.textContent("#key-budget")).toBe(`${money(mineNano)} / $5.00`);
    expect(await page.textContent("#key-remaining")).toBe(money(5e9 - mineNano));
    expect(await page.textContent("#key-resets")).toMatch(/^\d{4}-\d\d-01 00:00 UTC$/);
    expect(await page.textContent("#key-tpm")).toMatch(/^\d+ of 100000$/);
    expect(await page.textContent("#key-parallel")).toBe("0 of 4");
    expect(await page.textContent("#customer h3")).toBe("Account portal-co (all its keys)");
    expect(await page.textContent("#customer-budget")).toBe(`${money(accountNano)} / $10.00`);
    expect(await page.textContent("#balance")).toBe(money(20e9 - accountNano));
    // Only this key's requests and models: the other key's gpt-4o-mini never shows.
    const requests = await page.locator("#requests-table tbody tr").allTextContents();
    expect(requests.every((r) => r.includes("gpt-4o") && !r.includes("gpt-4o-mini"))).toBe(true);
    const models = await page.locator("#models-table tbody tr td").allTextContents();
    expect(models.slice(0, 2)).toEqual(["gpt-4o", "3"]);
    expect(await page.locator("#models-table tbody tr").count()).toBe(1);
    await page.waitForSelector("#spend-chart canvas");
    expect(Number(await page.getAttribute("#spend-chart", "data-total"))).toBeCloseTo(mineNano / 1e9, 9);
    expect(asked.filter((p) => p.startsWith("/admin"))).toEqual([]);
    expect(asked.filter((p) => p.startsWith("/v1/")).sort()).toEqual(["/v1/key", "/v1/key", "/v1/usage", "/v1/usage", "/v1/usage/requests"]);
    expect(blocked).toEqual([]);
    // The key is in this tab's sessionStorage only: never a cookie or the URL.
    expect(await page.context().cookies()).toEqual([]);
    expect(page.url()).not.toContain(mine.key);
    await page.close();
  });

  test("a wrong key gets a clear message and stays signed out; the customer routes refuse another key's requests", async () => {
    const { page } = await offlinePage(browser, new URL(gw.url).origin);
    await page.goto(`${gw.url}/portal`);
    await page.fill("#signin input[name=key]", "gw-this-is-not-a-key-of-this-gateway-000");
    await page.click("#signin button[type=submit]");
    await page.waitForSelector("#signin-error");
    expect(await page.textContent("#signin-error")).toBe("That API key was not accepted. Check that you pasted the whole key, as your provider gave it to you.");
    expect(await page.evaluate(() => sessionStorage.getItem("gateway-portal-key"))).toBeNull();
    await page.close();
    const { key } = await gw.createKey("portal-nosy", 30);
    const page1 = (await (await fetch(`${gw.url}/v1/usage/requests?limit=1000`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: unknown[] };
    expect(page1.data).toEqual([]);
    const bad = await fetch(`${gw.url}/v1/usage/requests?limit=0`, { headers: { authorization: `Bearer ${key}` } });
    expect(bad.status).toBe(400);
    expect((await fetch(`${gw.url}/v1/usage/requests`)).status).toBe(401);
  });
});
