import { defineCommand } from "citty";
import { UserError } from "../../src/errors.ts";
import type { KeyInfo } from "../../src/keys/service.ts";
import { dbArgs, parseStrict } from "../args.ts";
import { openKeys } from "../context.ts";
import { printTable } from "../table.ts";

const target = {
  key: { type: "positional", description: "Name or id of the key", valueHint: "NAME_OR_ID" },
} as const;

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
    const { keys } = openKeys(flags, { create: true });
    const created = await keys.create({ name, key, rateLimitPerMinute: rateLimit });
    console.log(`API key '${created.name}' created successfully!`);
    console.log(`Key ID: ${created.id}`);
    console.log(`Plain key (save this securely): ${created.key}`);
    console.log(`Rate limit: ${created.rate_limit_per_minute} requests/minute`);
  },
});

export const listKeys = defineCommand({
  meta: { name: "list-keys", description: "List keys: name, id, active, rate limit, created. Never shows a key or its hash." },
  args: { json: { type: "boolean", description: "Print JSON for scripts" }, ...dbArgs },
  run({ rawArgs, cmd }) {
    const { flags } = parseStrict(rawArgs, cmd.args as never);
    const list = openKeys(flags).keys.list();
    if (flags.json) return void console.log(JSON.stringify(list, null, 2));
    if (list.length === 0) return void console.log("No keys yet. Create one with: gateway create-key NAME [KEY] [RATE_LIMIT]");
    printTable(
      ["NAME", "ID", "ACTIVE", "RATE LIMIT", "CREATED"],
      list.map((k: KeyInfo) => [k.name, k.id, k.is_active ? "yes" : "no", `${k.rate_limit_per_minute}/min`, k.created_at]),
    );
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
    run({ rawArgs, cmd }) {
      const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
      const info = openKeys(flags).keys.update(positionals[0]!, { isActive: active });
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
  run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const info = openKeys(flags).keys.update(positionals[0]!, { rateLimitPerMinute: positionals[1] });
    console.log(`API key '${info.name}' (${info.id}) rate limit: ${info.rate_limit_per_minute} requests/minute.`);
  },
});

async function readStdinKey(): Promise<string> {
  const text = await Bun.stdin.text();
  return text.replace(/\r?\n$/, "");
}
