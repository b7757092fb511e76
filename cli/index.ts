#!/usr/bin/env bun
import { VERSION } from "../src/version.ts";

// citty decides on colours when it is imported: none when the output is piped.
if (!process.stdout.isTTY) process.env.NO_COLOR ??= "1";
const { defineCommand, runCommand, runMain, showUsage } = await import("citty");

const main = defineCommand({
  meta: { name: "gateway", version: VERSION, description: "Single-binary LLM API gateway: keys, rate limits, cost records." },
  subCommands: {
    serve: () => import("./commands/serve.ts").then((m) => m.serve),
    "create-key": () => import("./commands/keys.ts").then((m) => m.createKey),
    "list-keys": () => import("./commands/keys.ts").then((m) => m.listKeys),
    "disable-key": () => import("./commands/keys.ts").then((m) => m.disableKey),
    "enable-key": () => import("./commands/keys.ts").then((m) => m.enableKey),
    "set-rate-limit": () => import("./commands/keys.ts").then((m) => m.setRateLimit),
    "update-key": () => import("./commands/keys.ts").then((m) => m.updateKey),
    "rotate-key": () => import("./commands/keys.ts").then((m) => m.rotateKey),
    "delete-key": () => import("./commands/keys.ts").then((m) => m.deleteKey),
    "create-customer": () => import("./commands/customers.ts").then((m) => m.createCustomer),
    "list-customers": () => import("./commands/customers.ts").then((m) => m.listCustomers),
    "update-customer": () => import("./commands/customers.ts").then((m) => m.updateCustomer),
    "disable-customer": () => import("./commands/customers.ts").then((m) => m.disableCustomer),
    "enable-customer": () => import("./commands/customers.ts").then((m) => m.enableCustomer),
    "delete-customer": () => import("./commands/customers.ts").then((m) => m.deleteCustomer),
    credits: () => import("./commands/credits.ts").then((m) => m.credits),
    audit: () => import("./commands/audit.ts").then((m) => m.audit),
    webhooks: () => import("./commands/webhooks.ts").then((m) => m.webhooks),
    usage: () => import("./commands/usage.ts").then((m) => m.usage),
    prices: () => import("./commands/prices.ts").then((m) => m.prices),
    "migrate-db": () => import("./commands/migrate-db.ts").then((m) => m.migrateDb),
  },
});

let rawArgs = process.argv.slice(2);
// `gateway help [command]` and `gateway version` work like --help and --version.
if (rawArgs[0] === "help") rawArgs = [...rawArgs.slice(1), "--help"];
if (rawArgs.length === 1 && rawArgs[0] === "version") rawArgs = ["--version"];
const beforeDashDash = rawArgs.includes("--") ? rawArgs.slice(0, rawArgs.indexOf("--")) : rawArgs;
const commands = Object.keys(main.subCommands ?? {});
const first = rawArgs[0];
const wellKnown = ["--help", "-h", "--version", "-v"];

if (rawArgs.length === 0) {
  await showUsage(main);
  process.exit(1);
} else if (first !== undefined && !commands.includes(first) && !wellKnown.includes(first)) {
  const { closest } = await import("./suggest.ts");
  const candidates = first.startsWith("-") ? ["--help", "--version"] : [...commands, "help", "version"];
  const near = closest(first, candidates);
  const what = first.startsWith("-") ? "option" : "command";
  console.error(`error: unknown ${what} '${first}'${near ? ` (did you mean ${near}?)` : ""}; see 'gateway --help' for the commands`);
  process.exit(1);
} else if (beforeDashDash.some((a) => a === "--help" || a === "-h") || (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v"))) {
  await runMain(main, { rawArgs: beforeDashDash });
} else {
  try {
    await runCommand(main, { rawArgs });
  } catch (err) {
    // User mistakes and expected failures: their message (one line each), never a stack.
    const message = (err instanceof Error ? err.message : String(err)).replace(/\u001b\[[0-9;]*m/g, "");
    const { UserError } = await import("../src/errors.ts");
    console.error(`error: ${err instanceof UserError ? message : message.split("\n")[0]}`);
    process.exit(1);
  }
}
