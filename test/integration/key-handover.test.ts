// One-time key hand-over: create-key/rotate-key --share and the admin API's `share` give a link instead
// of the key; in Chromium the link shows the key once (and it works with the SDK), then answers 410; an
// expired link is 410; the database never holds the token or, after the claim, the key.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import OpenAI from "openai";
import type { Browser } from "playwright-core";
import { launchChromium, offlinePage } from "../helpers/chromium.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { startPostgres } from "../helpers/postgres.ts";

setDefaultTimeout(120_000);

const ADMIN = "handover-admin-token-0123456789-Xy7";
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

const sdk = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
const linkOf = (stdout: string) => /One-time link for the customer \(shows the key once, until [^)]+\): (\S+)/.exec(stdout)?.[1];
const shares = () => {
  const db = new Database(gw.dbPath, { readonly: true });
  try {
    return db.query("SELECT token_hash, sealed, claimed_at, claimed_from FROM key_shares").all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
};

describe("one-time key hand-over", () => {
  test("create-key --share prints a link, not the key; the link shows the key once in a browser, the key works, then the link is 410; the database holds neither the token nor the key", async () => {
    const created = await gw.cli(["create-key", "handed-over", "--share", "24h"], undefined);
    expect(created.code).toBe(0);
    expect(created.stdout).not.toContain("Plain key");
    const link = linkOf(created.stdout)!;
    const token = link.split("/").pop()!;
    // The link's origin is the server's listen address (GATEWAY_PUBLIC_URL unset); the CLI uses PORT.
    expect(link).toMatch(/^http:\/\/localhost:\d+\/claim\/[A-Za-z0-9_-]{43}$/);
    const url = `${gw.url}/claim/${token}`;
    expect(readFileSync(gw.dbPath).includes(token)).toBe(false);

    const { page, blocked } = await offlinePage(browser, new URL(gw.url).origin);
    const violations: string[] = [];
    page.on("console", (m) => void (/Content[ -]Security[ -]Policy/i.test(m.text()) && violations.push(m.text())));
    const opened = await page.goto(url);
    expect(opened!.status()).toBe(200);
    expect(await page.textContent("main")).toContain("shows your key once");
    await page.click("#reveal");
    await page.waitForSelector("#shown:not([hidden])");
    const key = (await page.textContent("#key"))!.trim();
    expect(key).toStartWith("gw-");
    expect(await page.textContent("#shown")).toContain("Save it now");
    expect((await sdk(key).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] })).choices).toHaveLength(1);
    const again = await page.goto(url);
    expect(again!.status()).toBe(410);
    expect(await page.textContent("#gone")).toContain("already opened");
    expect(violations).toEqual([]);
    expect(blocked).toEqual([]);
    await page.close();

    const second = await fetch(url, { method: "POST" });
    expect(second.status).toBe(410);
    expect(await second.json()).toMatchObject({ error: { code: "gone" } });
    const [row] = shares();
    expect(row).toMatchObject({ sealed: null, claimed_from: "127.0.0.1" });
    expect(row!.claimed_at).toBeNumber();
    expect(readFileSync(gw.dbPath).includes(key)).toBe(false);
    expect(readFileSync(gw.dbPath).includes(token)).toBe(false);
  });

  test("the admin API's share on create and rotate returns claim_url instead of key; rotate-key --share too; an expired link is 410 and shows nothing; unknown links 404", async () => {
    const admin = (path: string, body: unknown) =>
      fetch(`${gw.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, string>>);
    const created = await admin("/admin/keys", { name: "api-shared", share: "1h" });
    expect(created.key).toBeUndefined();
    expect(created.claim_url).toStartWith(`${gw.url}/claim/`); // the listen address
    const first = (await (await fetch(new URL(new URL(created.claim_url!).pathname, gw.url), { method: "POST" })).json()) as { key: string; name: string };
    expect(first.name).toBe("api-shared");

    const rotated = await admin("/admin/keys/api-shared/rotate", { share: "2h" });
    expect(rotated.key).toBeUndefined();
    const next = (await (await fetch(new URL(new URL(rotated.claim_url!).pathname, gw.url), { method: "POST" })).json()) as { key: string };
    expect(next.key).not.toBe(first.key);
    expect((await sdk(next.key).models.list()).data.length).toBeGreaterThan(0);
    expect(await sdk(first.key).models.list().catch((e: unknown) => e)).toBeInstanceOf(OpenAI.AuthenticationError);

    const cliRotated = await gw.cli(["rotate-key", "api-shared", "--share", "30m"]);
    const link = linkOf(cliRotated.stdout)!;
    // Time passes (the link's expiry moved into the past in the database): 410, and nothing is shown.
    const db = new Database(gw.dbPath);
    db.run("UPDATE key_shares SET expires_at = 1 WHERE claimed_at IS NULL");
    db.close();
    const expiredUrl = new URL(new URL(link).pathname, gw.url);
    expect((await fetch(expiredUrl)).status).toBe(410);
    const expired = await fetch(expiredUrl, { method: "POST" });
    expect(expired.status).toBe(410);
    expect(await expired.json()).toMatchObject({ error: { code: "gone", message: expect.stringContaining("expired") } });
    expect(shares().every((s) => s.sealed === null)).toBe(true);

    expect((await fetch(`${gw.url}/claim/${"x".repeat(43)}`)).status).toBe(404);
    const bad = await gw.cli(["create-key", "too-long", "--share", "90d"]);
    expect(bad.stderr).toContain("share must be a duration of at most 30d");
  });

  test("the dashboard's create key offers the link; on PostgreSQL the link works once too", async () => {
    const { page } = await offlinePage(browser, new URL(gw.url).origin);
    await page.goto(`${gw.url}/dashboard`);
    await page.fill("#signin input[name=token]", ADMIN);
    await page.click("#signin button[type=submit]");
    await page.click("a[href='#/keys']");
    await page.fill("#create-key input[name=name]", "dashboard-shared");
    await page.check("#create-key input[name=share]");
    await page.click("#create-key button[type=submit]");
    const link = (await (await page.waitForSelector("#new-key-url")).textContent())!.trim();
    expect(await page.$("#new-key-value")).toBeNull();
    await page.close();
    const claimed = (await (await fetch(new URL(new URL(link).pathname, gw.url), { method: "POST" })).json()) as { key: string; name: string };
    expect(claimed.name).toBe("dashboard-shared");
    expect((await sdk(claimed.key).models.list()).data.length).toBeGreaterThan(0);

    const pg = await startPostgres();
    const onPg = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_DATABASE_URL: await pg.createDatabase(), GATEWAY_PUBLIC_URL: "https://gateway.example.com/" } });
    try {
      const out = await onPg.cli(["create-key", "pg-shared", "--share", "24h"]);
      const pgLink = linkOf(out.stdout)!;
      expect(pgLink).toStartWith("https://gateway.example.com/claim/");
      const url = new URL(new URL(pgLink).pathname, onPg.url);
      expect((await fetch(url)).status).toBe(200);
      const got = await Promise.all([fetch(url, { method: "POST" }), fetch(url, { method: "POST" })]);
      expect(got.map((r) => r.status).sort()).toEqual([200, 410]); // two at once: one of them gets the key
      expect((await fetch(url)).status).toBe(410);
    } finally {
      await onPg.stop();
      await pg.stop();
    }
  });
});
