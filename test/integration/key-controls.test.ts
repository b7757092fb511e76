// A key's hint (its value's last 4 characters, to trace a leaked value), the client addresses it may be
// used from, and its output cap — from the CLI and the admin API, enforced by the compiled binary for the
// openai and Anthropic SDKs.
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import OpenAI from "openai";
import { promptBound } from "../../src/admission/bound.ts";
import { Prices, costNanoUsd } from "../../src/usage/pricing.ts";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(60_000);

const ADMIN = "admin-token-for-tests-0123456789";
const upstream = startFakeUpstream();
let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({ mode: "binary", upstreamUrl: upstream.url, env: { GATEWAY_TRUST_PROXY: "1", GATEWAY_ADMIN_TOKEN: ADMIN } });
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

const openai = (key: string, from?: string) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0, defaultHeaders: from ? { "x-forwarded-for": from } : {} });
const hi = (key: string, from?: string, body: Record<string, unknown> = {}) =>
  openai(key, from).chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], ...body } as OpenAI.ChatCompletionCreateParamsNonStreaming);
const admin = (path: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.json());

describe("key hints", () => {
  test("create-key and rotate-key print the hint; list-keys shows it and --hint finds the key a leaked value belongs to; so does the admin API", async () => {
    const a = await gw.cli(["create-key", "hint-a", "--generate"]);
    const b = await gw.cli(["create-key", "hint-b", "--generate"]);
    const plainA = /Plain key \(save this securely\): (\S+)/.exec(a.stdout)![1]!;
    const plainB = /Plain key \(save this securely\): (\S+)/.exec(b.stdout)![1]!;
    expect(a.stdout).toContain(`Hint (shown in listings): …${plainA.slice(-4)}`);
    const table = (await gw.cli(["list-keys"])).stdout;
    expect(table).toContain("HINT");
    expect(table).toContain(`…${plainB.slice(-4)}`);
    expect(table).not.toContain(plainA); // only the hint, never the value
    const found = JSON.parse((await gw.cli(["list-keys", "--json", "--hint", plainA.slice(-4)])).stdout) as { name: string; hint: string }[];
    expect(found.map((k) => k.name)).toEqual(["hint-a"]);
    expect(found[0]!.hint).toBe(`…${plainA.slice(-4)}`);
    expect(((await admin(`/admin/keys?hint=${encodeURIComponent(`…${plainB.slice(-4)}`)}`)) as { name: string }[]).map((k) => k.name)).toEqual(["hint-b"]);
    const bad = await gw.cli(["list-keys", "--hint", "xy"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("a hint is the last 4 characters of a key");

    const rotated = await gw.cli(["rotate-key", "hint-a"]);
    const newPlain = /New plain key \(save this securely\): (\S+)/.exec(rotated.stdout)![1]!;
    expect(rotated.stdout).toContain(`Hint (shown in listings): …${newPlain.slice(-4)}`);
    const after = JSON.parse((await gw.cli(["list-keys", "--json", "--hint", newPlain.slice(-4)])).stdout) as { name: string }[];
    expect(after.map((k) => k.name)).toEqual(["hint-a"]);
  });
});

describe("client address allow-list", () => {
  test("only addresses in the key's CIDR blocks (IPv4 and IPv6, X-Forwarded-For with trust_proxy) are served; others get 403 ip_not_allowed in the API's shape; changes apply at once", async () => {
    const { key } = await gw.createKey("office-only", 1000, ["--allowed-ips", "10.0.0.0/8, 2001:DB8::/32"]);
    expect((await hi(key, "10.1.2.3")).choices[0]!.message.content).toContain("Hello");
    expect((await hi(key, "2001:db8::5")).choices).toHaveLength(1);
    const rows = gw.rows().length;
    for (const from of ["192.168.1.1", "2001:db9::1", undefined]) {
      const refused = await hi(key, from).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((refused as InstanceType<typeof OpenAI.PermissionDeniedError>).error).toMatchObject({ code: "ip_not_allowed", message: expect.stringContaining(from ?? "127.0.0.1") });
    }
    expect(gw.rows().length).toBe(rows); // refused before any provider
    const messages = await new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 }).messages.create({ model: "gpt-4o", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(messages).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((messages as { error: { type: string; error: { type: string } } }).error.type).toBe("error");

    const shown = ((await admin("/admin/keys")) as { name: string; allowed_ips: string[] | null }[]).find((k) => k.name === "office-only")!;
    expect(shown.allowed_ips).toEqual(["10.0.0.0/8", "2001:db8::/32"]);
    expect((await gw.cli(["update-key", "office-only", "--allowed-ips", "127.0.0.1"])).code).toBe(0);
    expect((await hi(key)).choices).toHaveLength(1);
    expect(await hi(key, "10.1.2.3").catch((e: unknown) => e)).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((await gw.cli(["update-key", "office-only", "--no-allowed-ips"])).code).toBe(0);
    expect((await hi(key, "192.168.1.1")).choices).toHaveLength(1);

    const invalid = await gw.cli(["update-key", "office-only", "--allowed-ips", "10.0.0.0/33"]);
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain("invalid CIDR block '10.0.0.0/33'");
  });
});

describe("per-key output cap", () => {
  test("a larger ask is lowered to the cap, none gets the cap, a smaller one is left alone; the reservation uses the cap", async () => {
    const { key } = await gw.createKey("capped", 1000, ["--max-output-tokens", "50"]);
    await hi(key, undefined, { max_tokens: 1000 });
    expect(upstream.received.at(-1)!.body.max_tokens).toBe(50);
    await hi(key);
    expect(upstream.received.at(-1)!.body.max_tokens).toBe(50);
    await hi(key, undefined, { max_tokens: 20 });
    expect(upstream.received.at(-1)!.body.max_tokens).toBe(20);
    await hi(key, undefined, { max_completion_tokens: 400 });
    expect(upstream.received.at(-1)!.body).toMatchObject({ max_completion_tokens: 50 });
    expect(upstream.received.at(-1)!.body.max_tokens).toBeUndefined();
    await new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 }).messages.create({ model: "gpt-4o", max_tokens: 4000, messages: [{ role: "user", content: "hi" }] });
    expect(upstream.received.at(-1)!.body.max_tokens).toBe(50);

    // A budget of exactly one capped worst case: a request asking 100,000 output tokens fits, clamped.
    const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], max_tokens: 100_000 });
    const worst = costNanoUsd(new Prices().find(["gpt-4o"]), { promptTokens: promptBound(body), completionTokens: 50, cachedTokens: 0 })!;
    const budgeted = await gw.createKey("capped-budget", 1000, ["--max-output-tokens", "50", "--budget", (worst / 1e9).toFixed(9)]);
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${budgeted.key}` }, body });
    expect(res.status).toBe(200);
    expect(upstream.received.at(-1)!.body.max_tokens).toBe(50);
    const view = (await (await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${budgeted.key}` } })).json()) as Record<string, unknown>;
    expect(view).toMatchObject({ name: "capped-budget", max_output_tokens: 50, spent_usd: expect.any(String) });
    const cleared = await gw.cli(["update-key", "capped", "--no-max-output-tokens"]);
    expect(cleared.code).toBe(0);
    await hi(key, undefined, { max_tokens: 1000 });
    expect(upstream.received.at(-1)!.body.max_tokens).toBe(1000);
  });
});
