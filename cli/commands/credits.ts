import { defineCommand } from "citty";
import { formatUsd } from "../../src/admission/money.ts";
import type { CreditView } from "../../src/customers/service.ts";
import { dbArgs, parseStrict } from "../args.ts";
import { withCustomers } from "../context.ts";
import { printTable } from "../table.ts";

function show(v: CreditView): void {
  console.log(`Customer '${v.customer}': balance $${v.balance_usd} (credits $${v.credits_usd} - spent $${v.spent_usd})`);
  if (v.ledger.length === 0) return void console.log("No credits yet.");
  printTable(["ID", "AMOUNT", "NOTE", "BY", "AT"], v.ledger.map((e) => [String(e.id), `$${e.amount_usd}`, e.note ?? "", e.actor, e.created_at]), [1]);
}

const add = defineCommand({
  meta: { name: "add", description: "Add credits to a customer's ledger (a negative amount is an adjustment). Example: gateway credits add acme-corp 50 --note 'invoice 42'" },
  args: {
    customer: { type: "positional", description: "Name or id of the customer", valueHint: "CUSTOMER" },
    amount: { type: "positional", description: "US dollars, e.g. 50 or 12.50 (to take some back, a negative amount after '--': credits add acme -- -5)", valueHint: "USD" },
    note: { type: "string", description: "Why: an invoice, a refund", valueHint: "TEXT" },
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const v = await withCustomers(flags, (s) => s.addCredits(positionals[0]!, { amountUsd: positionals[1], note: flags.note }));
    console.log(`Added $${v.ledger.at(-1)!.amount_usd} to '${v.customer}': balance $${v.balance_usd}.`);
  },
});

const showCommand = defineCommand({
  meta: { name: "show", description: "A customer's balance and credit ledger" },
  args: { customer: { type: "positional", description: "Name or id of the customer", valueHint: "CUSTOMER" }, json: { type: "boolean", description: "Print JSON for scripts" }, ...dbArgs },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const v = await withCustomers(flags, (s) => s.credits(positionals[0]!));
    if (flags.json) return void console.log(JSON.stringify(v, null, 2));
    show(v);
  },
});

export const credits = defineCommand({
  meta: { name: "credits", description: `Prepaid credits of a customer: 'credits add CUSTOMER USD [--note TEXT]', 'credits show CUSTOMER [--json]' (balances are exact to ${formatUsd(1)} USD)` },
  subCommands: { add, show: showCommand },
});
