import { defineCommand } from "citty";
import { UserError } from "../../src/errors.ts";
import type { CustomerInfo, CustomerSettings } from "../../src/customers/service.ts";
import { dbArgs, parseStrict, type StrictArgs } from "../args.ts";
import { withCustomers } from "../context.ts";
import { printTable } from "../table.ts";

const target = { customer: { type: "positional", description: "Name or id of the customer", valueHint: "CUSTOMER" } } as const;

/** The limits a customer's keys share, as for a key (a request must fit both). */
const settingArgs = {
  "rate-limit": { type: "string", description: "Requests per minute, all the customer's keys together", valueHint: "N" },
  tpm: { type: "string", description: "Tokens per minute (prompt + completion), all its keys together", valueHint: "N" },
  "max-parallel": { type: "string", description: "Requests in flight at once, all its keys together", valueHint: "N" },
  budget: { type: "string", description: "Spend limit per budget period in US dollars, all its keys together", valueHint: "USD" },
  "budget-period": { type: "string", description: "day, week, month (calendar, UTC; default month) or total", valueHint: "PERIOD" },
  prepaid: { type: "boolean", description: "Admit requests only while the balance (credits minus all spend) covers them: see 'gateway credits'" },
  refill: { type: "string", description: "At each refill period's start, top the balance up to this many US dollars (one ledger entry)", valueHint: "USD" },
  "refill-period": { type: "string", description: "day, week or month (calendar, UTC; default month)", valueHint: "PERIOD" },
} as const;

const clearArgs = {
  "no-rate-limit": { type: "boolean", description: "Remove the requests-per-minute limit" },
  "no-tpm": { type: "boolean", description: "Remove the tokens-per-minute limit" },
  "no-max-parallel": { type: "boolean", description: "Remove the in-flight limit" },
  "no-budget": { type: "boolean", description: "Remove the budget" },
  "no-prepaid": { type: "boolean", description: "Stop requiring a balance" },
  "no-refill": { type: "boolean", description: "Stop the automatic refill" },
} as const;

function settingsFrom(flags: StrictArgs["flags"]): CustomerSettings {
  const pick = (set: string, clear: string): unknown => {
    if (flags[set] !== undefined && flags[clear]) throw new UserError(`--${set} and --${clear} contradict each other`);
    return flags[clear] ? null : flags[set];
  };
  const prepaid = pick("prepaid", "no-prepaid");
  return {
    rateLimitPerMinute: pick("rate-limit", "no-rate-limit"),
    tpmLimit: pick("tpm", "no-tpm"),
    maxParallel: pick("max-parallel", "no-max-parallel"),
    budgetUsd: pick("budget", "no-budget"),
    budgetPeriod: flags["budget-period"],
    prepaid: prepaid === null ? false : prepaid === true ? true : undefined,
    refillUsd: pick("refill", "no-refill"),
    refillPeriod: flags["refill-period"],
  };
}

function describe(c: CustomerInfo): string[] {
  const lines: string[] = [];
  if (c.rate_limit_per_minute !== null) lines.push(`Rate limit: ${c.rate_limit_per_minute} requests/minute (all its keys)`);
  if (c.tpm_limit !== null) lines.push(`Tokens per minute: ${c.tpm_limit}`);
  if (c.max_parallel !== null) lines.push(`Max parallel requests: ${c.max_parallel}`);
  if (c.budget_usd !== null) lines.push(`Budget: $${c.budget_usd} per ${c.budget_period === "total" ? "lifetime (never resets)" : c.budget_period} ($${c.spent_usd} spent this period)`);
  if (c.refill_usd !== null) lines.push(`Refill: to $${c.refill_usd} at the start of each ${c.refill_period}`);
  if (c.prepaid) lines.push(`Prepaid: balance $${c.balance_usd ?? "0.00"} (add credits with: gateway credits add ${c.name} USD)`);
  return lines;
}

export const createCustomer = defineCommand({
  meta: { name: "create-customer", description: "Create a customer (a company with several keys): limits its keys share, optionally prepaid. Give keys to it with create-key/update-key --customer NAME." },
  args: { name: { type: "positional", description: "Unique name, e.g. acme-corp" }, ...settingArgs, ...dbArgs },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const c = await withCustomers(flags, (s) => s.create({ name: positionals[0], ...settingsFrom(flags) }), { create: true });
    console.log(`Customer '${c.name}' created (${c.id}).`);
    for (const line of describe(c)) console.log(line);
  },
});

export const updateCustomer = defineCommand({
  meta: { name: "update-customer", description: "Change a customer's name, limits or prepaid flag. A running server applies it on the next request." },
  args: { ...target, name: { type: "string", description: "New name", valueHint: "NAME" }, ...settingArgs, ...clearArgs, ...dbArgs },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const c = await withCustomers(flags, (s) => s.update(positionals[0]!, { name: flags.name, ...settingsFrom(flags) }));
    console.log(`Customer '${c.name}' (${c.id}) updated.`);
    for (const line of describe(c)) console.log(line);
  },
});

export const listCustomers = defineCommand({
  meta: { name: "list-customers", description: "List customers: limits, spend this period, balance, number of keys." },
  args: { json: { type: "boolean", description: "Print JSON for scripts" }, ...dbArgs },
  async run({ rawArgs, cmd }) {
    const { flags } = parseStrict(rawArgs, cmd.args as never);
    const list = await withCustomers(flags, (s) => s.list());
    if (flags.json) return void console.log(JSON.stringify(list, null, 2));
    if (list.length === 0) return void console.log("No customers yet. Create one with: gateway create-customer NAME");
    const limit = (v: number | null) => (v === null ? "-" : String(v));
    printTable(
      ["NAME", "ID", "ACTIVE", "KEYS", "RATE LIMIT", "TPM", "PARALLEL", "BUDGET", "SPENT", "BALANCE"],
      list.map((c) => [
        c.name, c.id, c.is_active ? "yes" : "no", String(c.keys), c.rate_limit_per_minute === null ? "-" : `${c.rate_limit_per_minute}/min`, limit(c.tpm_limit), limit(c.max_parallel),
        c.budget_usd === null ? "-" : `$${c.budget_usd}/${c.budget_period}`, `$${c.spent_usd} (${c.budget_usd === null ? "month" : c.budget_period})`,
        c.balance_usd === null ? "-" : `$${c.balance_usd}${c.prepaid ? " prepaid" : ""}`,
      ]),
    );
  },
});

function setActive(active: boolean) {
  return defineCommand({
    meta: {
      name: active ? "enable-customer" : "disable-customer",
      description: active ? "Re-enable a customer: its keys work again." : "Disable a customer: every one of its keys is refused (403 customer_disabled) from the next request on.",
    },
    args: { ...target, ...dbArgs },
    async run({ rawArgs, cmd }) {
      const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
      const c = await withCustomers(flags, (s) => s.update(positionals[0]!, { isActive: active }));
      console.log(`Customer '${c.name}' (${c.id}) ${active ? "enabled" : "disabled"}.`);
    },
  });
}

export const disableCustomer = setActive(false);
export const enableCustomer = setActive(true);

export const deleteCustomer = defineCommand({
  meta: { name: "delete-customer", description: "Delete a customer that has no keys left (delete them, or move them with update-key --no-customer)." },
  args: { ...target, ...dbArgs },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const c = await withCustomers(flags, (s) => s.delete(positionals[0]!));
    console.log(`Customer '${c.name}' (${c.id}) deleted.`);
  },
});
