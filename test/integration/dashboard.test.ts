// The dashboard in Debian's Chromium, served by the compiled binary with no network beyond the gateway:
// sign in, the overview's numbers and a drawn chart from known traffic, create a key and use it with the
// SDK, see its spend, disable it from the table and see the SDK refused. Screenshots of each page.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import type { Browser, Page } from "playwright-core";
import { launchChromium, offlinePage, screenshot } from "../helpers/chromium.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(120_000);

// The callbacks given to page.evaluate run in the browser, whose globals this project's types leave out.
declare const document: { querySelector(s: string): any; querySelectorAll(s: string): { length: number } };

const ADMIN = "dashboard-admin-token-0123456789";
// gpt-4o: 1200 prompt tokens (200 cached) and 300 completion tokens per request = $0.00575.
const COST = 0.00575;
const upstream = startFakeUpstream();
let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_ADMIN_TOKEN: ADMIN } });
  browser = await launchChromium();
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await gw.stop();
  await upstream.stop();
});

const gatewayPage = () => offlinePage(browser, new URL(gw.url).origin);

const shot = (page: Page, name: string) => screenshot(page, gw.dir, name);
const sdk = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${gw.url}/dashboard`);
  await page.fill("#signin input[name=token]", token);
  await page.click("#signin button[type=submit]");
}

describe("dashboard", () => {
  test("the dashboard and the API docs are sent with a strict CSP, X-Frame-Options: DENY and nosniff, and render without a violation", async () => {
    for (const path of ["/dashboard", "/docs"]) {
      const res = await fetch(`${gw.url}${path}`);
      await res.arrayBuffer();
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const { page } = await gatewayPage();
      const violations: string[] = [];
      page.on("console", (m) => void (/Content[ -]Security[ -]Policy/i.test(m.text()) && violations.push(m.text())));
      if (path === "/dashboard") {
        await signIn(page, ADMIN);
        await page.waitForSelector("#top-models");
      } else {
        await page.goto(`${gw.url}${path}`);
        await page.waitForSelector(".opblock-summary-path", { timeout: 20_000 });
      }
      expect(violations).toEqual([]);
      await page.close();
    }
  });

  test("a wrong token gets a clear message and stays signed out; the token is never in the URL or a cookie", async () => {
    const { page } = await gatewayPage();
    await signIn(page, "not-the-admin-token-123");
    await page.waitForSelector("#signin-error");
    expect(await page.textContent("#signin-error")).toContain("That admin token was refused");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await shot(page, "signin");
    await page.close();
  });

  test("overview from known traffic, a key created and used, its spend shown, disabled from the table and refused", async () => {
    const seeded = await gw.createKey("seeded-traffic");
    for (let i = 0; i < 4; i++) await sdk(seeded.key).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });

    const { page, blocked } = await gatewayPage();
    await signIn(page, ADMIN);
    await page.waitForSelector("#spend-today");
    expect(await page.textContent("#requests-today")).toBe("4");
    expect(await page.textContent("#spend-today")).toBe(`$${(4 * COST).toFixed(2)}`); // a total: to the cent
    expect(await page.textContent("#requests-month")).toBe("4");
    expect(await page.textContent("#error-rate")).toBe("0.0%");
    // The chart has drawn: its data adds up to the spend, and its canvas has coloured pixels.
    await page.waitForSelector("#spend-chart canvas");
    expect(Number(await page.getAttribute("#spend-chart", "data-total"))).toBeCloseTo(4 * COST, 9);
    const painted = await page.evaluate(() => {
      const canvas = document.querySelector("#spend-chart canvas");
      const pixels: Uint8ClampedArray = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(500);
    expect(await page.textContent("#top-models")).toContain("gpt-4o");
    expect(await page.textContent("#top-keys")).toContain("seeded-traffic");
    await page.selectOption("#stack-by", "key");
    await page.waitForSelector("#spend-chart canvas");
    expect(await page.textContent("#spend-chart")).toContain("seeded-traffic");
    await shot(page, "overview");

    // Keys: create one, copy its plain key from the page, use it with the SDK.
    await page.click("a[href='#/keys']");
    await page.fill("#create-key input[name=name]", "browser-made");
    await page.fill("#create-key input[name=rate]", "100");
    await page.fill("#create-key input[name=budget]", "5");
    await page.click("#create-key button[type=submit]");
    await page.waitForSelector("#new-key-value");
    const plain = (await page.textContent("#new-key-value"))!.trim();
    expect(plain.length).toBeGreaterThan(20);
    const reply = await sdk(plain).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    expect(reply.choices[0]!.message.content).toContain("Hello from the fake upstream");
    await page.reload();
    const row = page.locator("#keys-table tr[data-key='browser-made']");
    await row.waitFor();
    expect(await row.textContent()).toContain(`$${COST.toFixed(2)} / $5.00`);
    expect(await row.locator("td.hint").textContent()).toBe(`…${plain.slice(-4)}`);
    await shot(page, "keys");

    // Disable it from the table: the SDK is refused on its next request.
    page.on("dialog", (d) => void d.accept());
    await row.locator("button.toggle").click();
    await page.waitForSelector("#keys-table tr[data-key='browser-made'] .status-disabled");
    const refused = await sdk(plain).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);

    // The audit page names the dashboard and the admin token's name, and what changed.
    await page.click("a[href='#/audit']");
    await page.fill("#audit-subject", "browser-made");
    await page.locator("#audit-subject").dispatchEvent("change");
    await page.waitForFunction(() => document.querySelector("#audit-table tbody tr td:nth-child(3)")?.textContent === "key.disabled");
    const newest = await page.locator("#audit-table tbody tr").first().locator("td").allTextContents();
    expect(newest.slice(1)).toEqual(["dashboard:admin", "key.disabled", "browser-made", "is_active: true → false"]);
    expect(await page.locator("#audit-table tbody tr").last().locator("td").nth(2).textContent()).toBe("key.created");
    await shot(page, "audit");
    await page.click("a[href='#/keys']");
    await row.waitFor();

    // Key detail and the request log.
    await row.locator("a").click();
    await page.waitForSelector("#key-chart canvas");
    expect(await page.textContent("#key-limits")).toContain("100 requests/min");
    await page.waitForSelector("#requests-table tbody tr");
    expect(await page.locator("#requests-table tbody tr").count()).toBe(1);
    await shot(page, "key-detail");
    await page.click("a[href='#/requests']");
    await page.waitForFunction(() => document.querySelectorAll("#requests-table tbody tr").length === 5);
    await page.fill("#request-filters input[name=model]", "gpt-none");
    await page.locator("#request-filters input[name=model]").dispatchEvent("change");
    await page.waitForFunction(() => document.querySelector("#requests-table tbody")?.textContent?.includes("None yet."));
    await shot(page, "requests");
    expect(blocked).toEqual([]);
    await page.close();
  });

  test("customers page: create a prepaid customer, add credits, its key's spend, balance and keys equal the database's, disable it and its key is refused", async () => {
    const { page } = await gatewayPage();
    await signIn(page, ADMIN);
    await page.waitForSelector("#top-models");
    await page.click("a[href='#/customers']");
    await page.fill("#create-customer input[name=name]", "browser-co");
    await page.fill("#create-customer input[name=budget]", "20");
    await page.check("#create-customer input[name=prepaid]");
    await page.click("#create-customer button[type=submit]");
    const row = page.locator("#customers-table tr[data-customer='browser-co']");
    await row.waitFor();
    const answers = ["10", "invoice 7"];
    page.on("dialog", (d) => void (d.type() === "prompt" ? d.accept(answers.shift()) : d.accept()));
    await row.locator("button.credit").click();
    await page.waitForFunction(() => document.querySelector("#customers-table tr[data-customer='browser-co'] .balance")?.textContent === "$10.00 prepaid");
    const { key, id } = await gw.createKey("browser-co-key", 100, ["--customer", "browser-co"]);
    await sdk(key).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    await page.reload();
    await row.waitFor();
    const spent = gw.rows().filter((r) => r.key_id === id).reduce((n, r) => n + (r.cost_nano_usd as number), 0);
    expect(spent).toBe(COST * 1e9);
    const cells = await row.locator("td").allTextContents();
    expect(cells[2]).toBe("1"); // keys
    expect(cells[5]).toBe(`$${COST.toFixed(2)}`);
    expect(cells[6]).toBe(`$${((10e9 - spent) / 1e9).toFixed(5)} prepaid`);
    await shot(page, "customers");
    await page.click("a[href='#/keys']");
    await page.locator("#keys-table tr[data-key='browser-co-key'] td.customer").waitFor();
    expect(await page.textContent("#keys-table tr[data-key='browser-co-key'] td.customer")).toBe("browser-co");
    // The overview stacks spend by customer too; its numbers are the rows'.
    const overview = (await (await fetch(`${gw.url}/admin/overview`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { by_customer: { name: string; cost_usd: number[] }[] };
    expect(overview.by_customer.find((c) => c.name === "browser-co")!.cost_usd.reduce((a, b) => a + b, 0)).toBeCloseTo(spent / 1e9, 9);
    expect(overview.by_customer.map((c) => c.name)).toContain("(no customer)");
    await page.click("a[href='#/overview']");
    await page.selectOption("#stack-by", "customer");
    await page.waitForFunction(() => document.querySelector("#spend-chart")?.textContent?.includes("browser-co"));
    expect(await page.textContent("#spend-chart")).toContain("(no customer)");
    await page.click("a[href='#/customers']");
    await row.locator("button.toggle").click();
    await page.waitForSelector("#customers-table tr[data-customer='browser-co'] .status-disabled");
    const refused = await sdk(key).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    await page.close();
  });
});
