import { defineCommand } from "citty";
import { UserError } from "../../src/errors.ts";
import { dbArgs, parseStrict } from "../args.ts";
import { printTable } from "../table.ts";
import { openStores } from "../../src/store/open.ts";
import { loadBaseConfig } from "../../src/config.ts";
import { postEvent } from "../../src/webhooks/sender.ts";

const configArg = { config: { type: "string", description: "TOML config file with the [[webhooks]] (env GATEWAY_CONFIG)", valueHint: "PATH" } } as const;

const list = defineCommand({
  meta: { name: "list", description: "Webhook deliveries not yet delivered (pending, with their next attempt, or failed), newest first; --all shows delivered ones too" },
  args: { all: { type: "boolean", description: "Delivered ones too" }, limit: { type: "string", description: "At most this many (default 100)", valueHint: "N" }, json: { type: "boolean", description: "Print JSON" }, ...dbArgs },
  async run({ rawArgs, cmd }) {
    const { flags } = parseStrict(rawArgs, cmd.args as never);
    const limit = flags.limit === undefined ? 100 : Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UserError(`--limit must be a whole number from 1 to 10000, got '${String(flags.limit)}'`);
    const stores = await openStores(loadBaseConfig({ db: flags.db as string | undefined }));
    try {
      const rows = await stores.webhooks.list(flags.all ? "all" : "undelivered", limit);
      const shown = rows.map((r) => ({ event: `evt_${r.eventId}`, type: r.type, endpoint: r.endpoint, status: r.status, attempts: r.attempts, next_attempt_at: r.status === "pending" ? new Date(r.nextAt).toISOString() : null, last_error: r.lastError, created_at: new Date(r.createdAt).toISOString() }));
      if (flags.json) return void console.log(JSON.stringify(shown, null, 2));
      if (shown.length === 0) return void console.log(flags.all ? "No webhook deliveries yet." : "Every webhook event was delivered.");
      printTable(["EVENT", "TYPE", "ENDPOINT", "STATUS", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR"], shown.map((r) => [r.event, r.type, r.endpoint, r.status, String(r.attempts), r.next_attempt_at ?? "", r.last_error ?? ""]), [4]);
    } finally {
      await stores.close();
    }
  },
});

const test = defineCommand({
  meta: { name: "test", description: "Send a signed webhook.test event to each configured endpoint now (or --endpoint NAME) and show what it answered" },
  args: { endpoint: { type: "string", description: "Only this endpoint (its name)", valueHint: "NAME" }, ...configArg, ...dbArgs },
  async run({ rawArgs, cmd }) {
    const { flags } = parseStrict(rawArgs, cmd.args as never);
    const { loadServerConfig } = await import("../../src/config.ts");
    const config = loadServerConfig({ config: flags.config as string | undefined }, process.env, { keysRequired: false });
    const endpoints = config.webhooks.endpoints.filter((e) => flags.endpoint === undefined || e.name === flags.endpoint);
    if (endpoints.length === 0) {
      throw new UserError(flags.endpoint === undefined ? "no [[webhooks]] in the config file (give it with --config or GATEWAY_CONFIG)" : `no webhook named '${flags.endpoint}' (configured: ${config.webhooks.endpoints.map((e) => e.name).join(", ") || "none"})`);
    }
    let failed = 0;
    for (const ep of endpoints) {
      const now = Date.now();
      const id = `evt_test_${now.toString(36)}`;
      const body = JSON.stringify({ type: "webhook.test", id, timestamp: new Date(now).toISOString(), data: { endpoint: ep.name } });
      try {
        const res = await postEvent(ep, id, body, now, 10_000);
        const ok = res.status >= 200 && res.status < 300;
        if (!ok) failed++;
        console.log(`${ep.name}: ${ok ? "delivered" : "refused"} (HTTP ${res.status})`);
      } catch (err) {
        failed++;
        console.log(`${ep.name}: not delivered: ${(err as Error).name === "TimeoutError" ? "no answer within 10 s" : (err as Error).message}`);
      }
    }
    if (failed > 0) process.exitCode = 1;
  },
});

export const webhooks = defineCommand({
  meta: { name: "webhooks", description: "Signed webhook deliveries: 'webhooks list [--all]' shows pending and failed ones, 'webhooks test [--endpoint NAME]' sends a test event" },
  subCommands: { list, test },
});
