import { defineCommand } from "citty";
import { UserError } from "../../src/errors.ts";
import type { ServerConfig } from "../../src/config.ts";
import { createRouter } from "../../src/routing/router.ts";
import type { ModelPrice } from "../../src/usage/price-types.ts";
import { dbArgs, parseStrict } from "../args.ts";
import { printTable } from "../table.ts";

export const prices = defineCommand({
  meta: {
    name: "prices",
    description:
      "What each model costs and where the price comes from: the embedded catalog (@pydantic/genai-prices), pricing_file, or [models]. " +
      "'gateway prices MODEL' resolves one model as a request would; 'gateway prices check' lists the models in the usage table that have no price",
  },
  args: {
    model: { type: "positional", required: false, description: "A model as a customer names it, or 'check'", valueHint: "MODEL|check" },
    config: { type: "string", description: "TOML config file with providers and prices (env GATEWAY_CONFIG)", valueHint: "PATH" },
    days: { type: "string", description: "check: how far back the usage table is read (default 30)", valueHint: "N" },
    json: { type: "boolean", description: "Print JSON" },
    ...dbArgs,
  },
  async run({ rawArgs, cmd }) {
    const { positionals, flags } = parseStrict(rawArgs, cmd.args as never);
    const { loadServerConfig } = await import("../../src/config.ts");
    const { loadCatalog } = await import("../../src/usage/catalog.ts");
    const config = loadServerConfig({ config: flags.config as string | undefined }, process.env, { keysRequired: false });
    loadCatalog();
    const target = positionals[0];
    if (target === "check") return check(config, flags);
    if (flags.days !== undefined) throw new UserError("--days goes with 'gateway prices check'");
    const models = target !== undefined ? [target] : listed(config);
    const rows = models.map((m) => resolve(config, m));
    if (flags.json) return void console.log(JSON.stringify(rows, null, 2));
    if (rows.length > 0) printTable(["MODEL", "PROVIDER", "INPUT/1M", "OUTPUT/1M", "CACHE READ/1M", "CACHE WRITE/1M", "CONTEXT", "MAX OUTPUT", "SOURCE"], rows.map(cells), [2, 3, 4, 5, 6, 7]);
    for (const r of rows) for (const t of r.price?.tiers ?? []) console.log(`${r.model}: prompts over ${t.above} tokens are priced whole at ${usd(t.input)} input, ${usd(t.output)} output per 1M`);
    if (target === undefined) {
      const { CATALOG_NAME, CATALOG_VERSION } = await import("../../src/usage/catalog.ts");
      console.log(`Every other model is looked up in ${CATALOG_NAME} ${CATALOG_VERSION} (embedded): gateway prices MODEL`);
    }
    if (target !== undefined && !rows[0]!.price) {
      throw new UserError(`no price for '${target}': its requests are recorded without a cost and a key with a budget refuses it; add [models."${target}"] to the config file`);
    }
  },
});

interface Resolved {
  model: string;
  provider: string | null;
  price: { input: number; output: number; cache_read: number; cache_write: number; context: number | null; max_output: number | null; source: string; tiers: { above: number; input: number; output: number }[] } | null;
}

/** The providers' literal model names and the operator's own price entries. */
function listed(config: ServerConfig): string[] {
  const names = new Set(config.providers.flatMap((p) => p.models.filter((m) => !/[*?]/.test(m))));
  for (const m of config.prices.overridden()) names.add(m);
  return [...names].sort();
}

const perMillion = (pico: number) => pico / 1e6;

function resolve(config: ServerConfig, model: string, at = Date.now()): Resolved {
  const route = createRouter(config.providers, { routes: config.routes, cooldown: config.cooldown }).candidates(model)[0];
  const p: ModelPrice | undefined = config.prices.find([route?.upstreamModel, model], at, route?.provider.name);
  return {
    model,
    provider: route?.provider.name ?? null,
    price: p
      ? {
          input: perMillion(p.inputPico),
          output: perMillion(p.outputPico),
          cache_read: perMillion(p.cachedInputPico),
          cache_write: perMillion(p.cacheWritePico),
          context: p.maxInputTokens ?? null,
          max_output: p.maxOutputTokens ?? null,
          source: p.source,
          tiers: (p.tiers ?? []).map((t) => ({ above: t.above, input: perMillion(t.rates.inputPico), output: perMillion(t.rates.outputPico) })),
        }
      : null,
  };
}

const usd = (n: number) => `$${n}`;

function cells(r: Resolved): string[] {
  const p = r.price;
  if (!p) return [r.model, r.provider ?? "(no route)", "—", "—", "—", "—", "", "", "no price"];
  return [r.model, r.provider ?? "(no route)", usd(p.input), usd(p.output), usd(p.cache_read), usd(p.cache_write), p.context ? String(p.context) : "", p.max_output ? String(p.max_output) : "", p.source];
}

async function check(config: ServerConfig, flags: Record<string, string | boolean | undefined>): Promise<void> {
  const days = flags.days === undefined ? 30 : Number(flags.days);
  if (!Number.isInteger(days) || days < 1) throw new UserError(`--days must be a whole number of days, 1 or more, got '${flags.days}'`);
  const { openKeys } = await import("../context.ts");
  const { usage, close } = await openKeys(flags);
  const now = Date.now();
  let report;
  try {
    report = await usage.report({ from: now - days * 86_400_000, to: now, groupBy: "model" });
  } finally {
    await close();
  }
  const seen = report.rows.map((r) => ({ ...resolve(config, r.model!, now), requests: r.requests, recorded_unpriced: r.unpriced_requests }));
  const missing = seen.filter((s) => !s.price);
  if (flags.json) console.log(JSON.stringify({ days, models: seen, unpriced: missing.map((m) => m.model) }, null, 2));
  else {
    printTable(["MODEL", "PROVIDER", "REQUESTS", "RECORDED WITHOUT COST", "PRICE NOW"], seen.map((s) => [s.model, s.provider ?? "(no route)", String(s.requests), String(s.recorded_unpriced), s.price ? s.price.source : "none"]), [2, 3]);
  }
  if (missing.length > 0) {
    throw new UserError(`${missing.length} model(s) used in the last ${days} days have no price: ${missing.map((m) => m.model).join(", ")}; add [models."NAME"] to the config file`);
  }
  if (!flags.json) console.log(`Every model used in the last ${days} days has a price.`);
}
