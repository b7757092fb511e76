import { Value } from "@sinclair/typebox/value";
import { t } from "elysia";
import { readFileSync } from "node:fs";
import { UserError } from "../errors.ts";

const Price = t.Object(
  {
    input_cost_per_token: t.Number({ minimum: 0 }),
    output_cost_per_token: t.Number({ minimum: 0 }),
    cache_read_input_token_cost: t.Optional(t.Number({ minimum: 0 })),
    cache_creation_input_token_cost: t.Optional(t.Number({ minimum: 0 })),
    max_output_tokens: t.Optional(t.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

const Provider = t.Object(
  {
    name: t.String({ pattern: "^[A-Za-z0-9_.-]+$" }),
    base_url: t.String({ pattern: "^https?://" }),
    api_key_env: t.Optional(t.String({ minLength: 1 })),
    /** false for local servers (Ollama, vLLM) that take no key. */
    api_key_required: t.Optional(t.Boolean()),
    models: t.Array(t.String({ minLength: 1 }), { minItems: 1 }),
    /** The inbound APIs it serves (default: all of chat, responses, embeddings). */
    max_retries: t.Optional(t.Integer({ minimum: 0, maximum: 10 })),
    retry_max_wait_ms: t.Optional(t.Integer({ minimum: 0 })),
    endpoints: t.Optional(t.Array(t.Union([t.Literal("chat"), t.Literal("responses"), t.Literal("embeddings")]), { minItems: 1 })),
  },
  { additionalProperties: false },
);

/** The TOML config file, as written by the operator. */
export const ConfigFileSchema = t.Object(
  {
    providers: t.Optional(t.Array(Provider)),
    models: t.Optional(t.Record(t.String(), Price)),
    pricing_file: t.Optional(t.String({ minLength: 1 })),
    default_model: t.Optional(t.String({ minLength: 1 })),
    default_max_output_tokens: t.Optional(t.Integer({ minimum: 1 })),
    max_body_bytes: t.Optional(t.Integer({ minimum: 1 })),
    upstream_timeout_ms: t.Optional(t.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export type ConfigFile = typeof ConfigFileSchema.static;
export type PriceEntry = typeof Price.static;

/** Reads and validates the TOML config file; every problem is reported with its path. */
export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UserError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = Bun.TOML.parse(text);
  } catch (err) {
    throw new UserError(`config file ${path} is not valid TOML: ${(err as Error).message.split("\n")[0]}`);
  }
  const errors = [...Value.Errors(ConfigFileSchema, data)];
  if (errors.length > 0) {
    const lines = errors.slice(0, 10).map((e) => `  ${tomlPath(e.path)}: ${e.message}`);
    throw new UserError(`config file ${path} has ${errors.length} problem(s):\n${lines.join("\n")}`);
  }
  const config = data as ConfigFile;
  const names = new Set<string>();
  for (const [i, p] of (config.providers ?? []).entries()) {
    if (names.has(p.name)) throw new UserError(`config file ${path}: providers[${i}].name: duplicate provider name '${p.name}'`);
    names.add(p.name);
  }
  return config;
}

// "/providers/0/base_url" -> "providers[0].base_url"
function tomlPath(pointer: string): string {
  if (pointer === "") return "(top level)";
  return pointer
    .slice(1)
    .split("/")
    .map((seg) => seg.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${/^[\w-]+$/.test(seg) ? seg : JSON.stringify(seg)}` : seg), "");
}
