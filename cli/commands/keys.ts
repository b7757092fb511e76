import { defineCommand } from "citty";
import { UserError } from "../../src/errors.ts";
import type { KeyInfo, KeySettings } from "../../src/keys/key-info.ts";
import type { NewValue } from "../../src/keys/service.ts";
import { parseDuration } from "../../src/keys/validate.ts";
import { dbArgs, parseStrict, type StrictArgs } from "../args.ts";
import { withKeys } from "../context.ts";
import { printTable } from "../table.ts";

const SHARE_ARG = {
  type: "string",
  description: "Print a one-time link to the key instead of the key (valid this long, e.g. 24h; at most 30d): the customer opens it once (GATEWAY_PUBLIC_URL sets its origin)",
  valueHint: "DURATION",
} as const;

const target = {
  key: { type: "positional", description: "Name or id of the key", valueHint: "NAME_OR_ID" },
} as const;

/** Spend-control settings shared by create-key and update-key. */
const settingArgs = {
  budget: { type: "string", description: "Spend limit per budget period in US dollars, e.g. 25.50", valueHint: "USD" },
  "budget-period": { type: "string", description: "day, week, month (calendar periods in UTC; default month) or total (never resets)", valueHint: "PERIOD" },
  tpm: { type: "string", description: "Tokens per minute (prompt + completion)", valueHint: "N" },
  "max-parallel": { type: "string", description: "Requests in flight at once", valueHint: "N" },
  expires: { type: "string", description: "Expiry: ISO date-time (2027-01-01T00:00:00Z) or a duration from now (30d, 12h)", valueHint: "WHEN" },
  models: { type: "string", description: "Allowed models, comma-separated glob patterns, e.g. 'gpt-4o*,claude-*'", valueHint: "PATTERNS" },
  "allowed-ips": { type: "string", description: "Client addresses the key may be used from, comma-separated CIDR blocks (IPv4, IPv6), e.g. '10.0.0.0/8,2001:db8::/32'; others get 403 ip_not_allowed", valueHint: "CIDRS" },
  customer: { type: "string", description: "The customer the key belongs to (name or id): a request must fit the customer's limits too", valueHint: "CUSTOMER" },
  "max-output-tokens": { type: "string", description: "Most output tokens a request may ask for: larger asks are lowered to it, a request without one gets it", valueHint: "N" },
  "cache-ttl": { type: "string", description: "Answer repeated deterministic requests (temperature 0) from the response cache for this long, e.g. 1h, 7d", valueHint: "DURATION" },
} as const;

const clearArgs = {
  "no-budget": { type: "boolean", description: "Remove the budget" },
  "no-tpm": { type: "boolean", description: "Remove the tokens-per-minute limit" },
  "no-max-parallel": { type: "boolean", description: "Remove the in-flight limit" },
  "no-expiry": { type: "boolean", description: "Remove the expiry" },
  "all-models": { type: "boolean", description: "Allow every model (remove the allow-list)" },
  "no-allowed-ips": { type: "boolean", description: "Allow every client address (remove the address list)" },
  "no-max-output-tokens": { type: "boolean", description: "Remove the output cap" },
  "no-cache": { type: "boolean", description: "Stop caching the key's answers" },
  "no-customer": { type: "boolean", description: "Take the key out of its customer" },
} as const;

/** The key settings the flags give; a setting and its clearing flag together are a mistake. */
function settingsFrom(flags: StrictArgs["flags"]): KeySettings {
  const pick = (set: string, clear: string): unknown => {
    if (flags[set] !== undefined && flags[clear]) throw new UserError(`--${set} and --${clear} contradict each other`);
    return flags[clear] ? null : flags[set];
  };
  return {
    budgetUsd: pick("budget", "no-budget"),
    budgetPeriod: flags["budget-period"],
    tpmLimit: pick("tpm", "no-tpm"),
    maxParallel: pick("max-parallel", "no-max-parallel"),
    expiresAt: pick("expires", "no-expiry"),
    allowedModels: pick("models", "all-models"),
    allowedIps: pick("allowed-ips", "no-allowed-ips"),
    maxOutputTokens: pick("max-output-tokens", "no-max-output-tokens"),
    cacheTtl: pick("cache-ttl", "no-cache"),
    customer: pick("customer", "no-customer"),
  };
}

/** The settings a key has, as lines for the CLI's confirmations. */
function describeLimits(k: KeyInfo): string[] {
  const lines = [`Rate limit: ${k.rate_limit_per_minute} requests/minute`];
  if (k.customer !== null) lines.push(`Customer: ${k.customer}`);
  if (k.budget_usd !== null) lines.push(`Budget: $${k.budget_usd} per ${k.budget_period === "total" ? "lifetime (never resets)" : k.budget_period} ($${k.spent_usd} spent this period)`);
  if (k.tpm_limit !== null) lines.push(`Tokens per minute: ${k.tpm_limit}`);
  if (k.max_parallel !== null) lines.push(`Max parallel requests: ${k.max_parallel}`);
  if (k.expires_at !== null) lines.push(`Expires: ${k.expires_at}`);
  if (k.allowed_models !== null) lines.push(`Allowed models: ${k.allowed_models.join(", ")}`);
  if (k.allowed_ips !== null) lines.push(`Allowed client addresses: ${k.allowed_ips.join(", ")}`);
  if (k.max_output_tokens !== null) lines.push(`Max output tokens per request: ${k.max_output_tokens}`);
  if (k.cache_ttl_s !== null) lines.push(`Response cache: answers kept ${k.cache_ttl_s} s`);
  return lines;
}

export const createKey = defineCommand({
  meta: {
    name: "create-key",
    description:
      "Create a customer API key; the plain key is printed once, only a bcrypt hash is stored. Example: gateway create-key customer-acme-corp \"$KEY\" 200",
  },
  args: {
    name: { type: "positional", description: "Unique name, e.g. customer-acme-corp" },
    key: { type: "positional", required: false, description: "The key (8-256 visible ASCII chars). '-' reads it from stdin; omit it to generate one; put '--' before a key that starts with '-'" },
    rate_limit: { type: "positional", required: false, description: "Requests per minute (default 60)", valueHint: "RATE_LIMIT" },
    generate: { type: "boolean", description: "Generate a secure random key (32 random bytes, URL-safe)" },
    share: SHARE_ARG,
    ...settingArgs,
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const [name, second, third] = positionals;
    let key: string | undefined;
    let rateLimit: string | undefined;
    if (flags.generate) {
      if (third !== undefined) throw new UserError("with --generate, give only NAME and RATE_LIMIT");
      rateLimit = second;
    } else if (third === undefined && second !== undefined && /^\d+$/.test(second)) {
      // `create-key NAME 100` is a generated key with a limit, not the key "100" (too short anyway).
      rateLimit = second;
    } else {
      key = second === "-" ? await readStdinKey() : second;
      rateLimit = third;
    }
    const created = await withKeys(flags, (keys) => keys.create({ name, key, ...settingsFrom(flags), rateLimitPerMinute: rateLimit, share: flags.share }), { create: true });
    console.log(`API key '${created.name}' created successfully!`);
    console.log(`Key ID: ${created.id}`);
    printValue(created, "Plain key (save this securely)");
    console.log(`Hint (shown in listings): ${created.hint}`);
    for (const line of describeLimits(created)) console.log(line);
  },
});

export const listKeys = defineCommand({
  meta: {
    name: "list-keys",
    description:
      "List keys: name, hint (the value's last 4 characters), id, active, limits, budget, what each spent this budget period (this month without a budget), last used, expiry. Never shows a key or its hash.",
  },
  args: {
    json: { type: "boolean", description: "Print JSON for scripts" },
    all: { type: "boolean", description: "Also list deleted keys" },
    hint: { type: "string", description: "Only the keys whose value ends with these 4 characters (trace a leaked value to its key)", valueHint: "LAST4" },
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { flags } = parseStrict(rawArgs, cmd.args as never);
    const list = await withKeys(flags, (keys) => keys.list({ all: flags.all === true, hint: flags.hint === undefined ? undefined : String(flags.hint) }));
    if (flags.json) return void console.log(JSON.stringify(list, null, 2));
    if (list.length === 0) return void console.log(flags.hint === undefined ? "No keys yet. Create one with: gateway create-key NAME [KEY] [RATE_LIMIT]" : `No key's value ends with '${String(flags.hint).replace(/^(…|\.\.\.)/, "")}'.`);
    printTable(
      ["NAME", "HINT", "CUSTOMER", "ID", "ACTIVE", "RATE LIMIT", "TPM", "PARALLEL", "BUDGET", "SPENT", "LAST USED", "EXPIRES", "MODELS", "CREATED"],
      list.map((k: KeyInfo) => [
        k.name,
        k.hint ?? "-",
        k.customer ?? "-",
        k.id,
        k.deleted_at ? "deleted" : k.is_active ? "yes" : "no",
        `${k.rate_limit_per_minute}/min`,
        k.tpm_limit === null ? "-" : String(k.tpm_limit),
        k.max_parallel === null ? "-" : String(k.max_parallel),
        k.budget_usd === null ? "-" : `$${k.budget_usd}/${k.budget_period}`,
        `$${k.spent_usd} (${k.budget_usd === null ? "month" : k.budget_period})`,
        k.last_used_at === null ? "never" : k.last_used_at.slice(0, 16).replace("T", " "),
        k.expires_at ?? "-",
        k.allowed_models === null ? "all" : k.allowed_models.join(","),
        k.created_at,
      ]),
    );
  },
});

export const updateKey = defineCommand({
  meta: {
    name: "update-key",
    description: "Change a key's name, rate limit, budget, token limit, in-flight limit, expiry or allowed models. A running server applies it on the next request.",
  },
  args: {
    ...target,
    name: { type: "string", description: "New name", valueHint: "NAME" },
    "rate-limit": { type: "string", description: "Requests per minute", valueHint: "N" },
    ...settingArgs,
    ...clearArgs,
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const info = await withKeys(flags, (keys) => keys.update(positionals[0]!, { name: flags.name, rateLimitPerMinute: flags["rate-limit"], ...settingsFrom(flags) }));
    console.log(`API key '${info.name}' (${info.id}) updated.`);
    for (const line of describeLimits(info)) console.log(line);
  },
});

export const rotateKey = defineCommand({
  meta: {
    name: "rotate-key",
    description: "Give a key a new value (same id: usage, budget and limits carry over). The old value stops working at once, or after --grace.",
  },
  args: {
    ...target,
    value: { type: "positional", required: false, description: "The new key; '-' reads it from stdin; omit it to generate one", valueHint: "KEY" },
    generate: { type: "boolean", description: "Generate the new key (the default)" },
    grace: { type: "string", description: "How long the old value keeps working, e.g. 24h or 30m (default: not at all)", valueHint: "DURATION" },
    share: SHARE_ARG,
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const [target, given] = positionals;
    if (flags.generate && given !== undefined) throw new UserError("give either a new KEY or --generate, not both");
    const graceMs = flags.grace === undefined ? 0 : parseDuration(String(flags.grace));
    if (graceMs === null) throw new UserError(`--grace must be a duration such as 24h or 30m, got '${flags.grace}'`);
    const key = given === "-" ? await readStdinKey() : given;
    const rotated = await withKeys(flags, (keys) => keys.rotate(target!, { key, graceMs, share: flags.share }));
    console.log(`API key '${rotated.name}' (${rotated.id}) rotated.`);
    printValue(rotated, "New plain key (save this securely)");
    console.log(`Hint (shown in listings): ${rotated.hint}`);
    console.log(rotated.previous_valid_until ? `The old key works until ${rotated.previous_valid_until}.` : "The old key no longer works.");
  },
});

export const deleteKey = defineCommand({
  meta: { name: "delete-key", description: "Delete a key: it stops working at once and leaves list-keys (--all shows it); its usage and reports stay." },
  args: { ...target, ...dbArgs },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const info = await withKeys(flags, (keys) => keys.delete(positionals[0]!));
    console.log(`API key '${info.name}' (${info.id}) deleted.`);
  },
});

function setActive(active: boolean) {
  return defineCommand({
    meta: {
      name: active ? "enable-key" : "disable-key",
      description: active
        ? "Re-enable a disabled key. A running server accepts it on its next request."
        : "Disable a key. A running server refuses it (403) from its next request on.",
    },
    args: { ...target, ...dbArgs },
    async run({ rawArgs, cmd }) {
      const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
      const info = await withKeys(flags, (keys) => keys.update(positionals[0]!, { isActive: active }));
      console.log(`API key '${info.name}' (${info.id}) ${active ? "enabled" : "disabled"}.`);
    },
  });
}

export const disableKey = setActive(false);
export const enableKey = setActive(true);

export const setRateLimit = defineCommand({
  meta: { name: "set-rate-limit", description: "Change a key's requests-per-minute limit. A running server applies it on its next request." },
  args: {
    ...target,
    rate_limit: { type: "positional", description: "Requests per minute, a positive integer", valueHint: "N" },
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const info = await withKeys(flags, (keys) => keys.update(positionals[0]!, { rateLimitPerMinute: positionals[1] }));
    console.log(`API key '${info.name}' (${info.id}) rate limit: ${info.rate_limit_per_minute} requests/minute.`);
  },
});

/** The new value: the key itself, or the one-time link that shows it. */
function printValue(v: NewValue, label: string): void {
  if ("key" in v) return void console.log(`${label}: ${v.key}`);
  console.log(`One-time link for the customer (shows the key once, until ${v.claim_expires_at}): ${v.claim_url}`);
}

async function readStdinKey(): Promise<string> {
  const text = await Bun.stdin.text();
  return text.replace(/\r?\n$/, "");
}
