import { Value } from "@sinclair/typebox/value";
import { t } from "elysia";
import { readFileSync } from "node:fs";
import { UserError } from "./errors.ts";
import { AlertsSchema, WebhookSchema } from "./webhooks/config.ts";

const Price = t.Object(
  {
    input_cost_per_token: t.Number({ minimum: 0 }),
    output_cost_per_token: t.Number({ minimum: 0 }),
    cache_read_input_token_cost: t.Optional(t.Number({ minimum: 0 })),
    cache_creation_input_token_cost: t.Optional(t.Number({ minimum: 0 })),
    max_output_tokens: t.Optional(t.Integer({ minimum: 1 })),
    /** The model's context window: bounds input the gateway cannot measure (files, stored conversations). */
    max_input_tokens: t.Optional(t.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

const Provider = t.Object(
  {
    name: t.String({ pattern: "^[A-Za-z0-9_.-]+$" }),
    /** The API it speaks: "openai" (OpenAI-compatible, the default), "anthropic", "azure" (Azure OpenAI), "gemini" (Google's Gemini API) or "bedrock" (AWS Bedrock's Converse API). */
    type: t.Optional(t.Union([t.Literal("openai"), t.Literal("anthropic"), t.Literal("azure"), t.Literal("gemini"), t.Literal("bedrock")])),
    /** Required except for gemini (Google's endpoint) and bedrock (the region's endpoint). */
    base_url: t.Optional(t.String({ pattern: "^https?://" })),
    /** azure: the api-version query parameter, or "v1" for Azure's /openai/v1 paths. */
    api_version: t.Optional(t.String({ pattern: "^[A-Za-z0-9.-]+$" })),
    /** azure: model name → deployment name. */
    deployments: t.Optional(t.Record(t.String({ minLength: 1 }), t.String({ pattern: "^[A-Za-z0-9_.-]+$" }))),
    /** bedrock: the AWS region, e.g. us-east-1 (default: AWS_REGION, then AWS_DEFAULT_REGION). */
    region: t.Optional(t.String({ pattern: "^[a-z0-9-]+$" })),
    /** bedrock: the environment variables holding the credentials (default: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). */
    aws_access_key_id_env: t.Optional(t.String({ minLength: 1 })),
    aws_secret_access_key_env: t.Optional(t.String({ minLength: 1 })),
    aws_session_token_env: t.Optional(t.String({ minLength: 1 })),
    api_key_env: t.Optional(t.String({ minLength: 1 })),
    /** false for local servers (Ollama, vLLM) that take no key. */
    api_key_required: t.Optional(t.Boolean()),
    models: t.Array(t.String({ minLength: 1 }), { minItems: 1 }),
    max_retries: t.Optional(t.Integer({ minimum: 0, maximum: 10 })),
    retry_max_wait_ms: t.Optional(t.Integer({ minimum: 0 })),
    /** The inbound APIs it serves (default: every one its type can serve). */
    endpoints: t.Optional(t.Array(t.Union([t.Literal("chat"), t.Literal("responses"), t.Literal("embeddings"), t.Literal("messages")]), { minItems: 1 })),
  },
  { additionalProperties: false },
);

/** A model pattern served by several providers: weighted choice, then the others, then the fallbacks. */
const Route = t.Object(
  {
    models: t.Array(t.String({ minLength: 1 }), { minItems: 1 }),
    providers: t.Array(t.Union([t.String({ minLength: 1 }), t.Object({ name: t.String({ minLength: 1 }), weight: t.Optional(t.Number({ exclusiveMinimum: 0 })) }, { additionalProperties: false })]), { minItems: 1 }),
    fallbacks: t.Optional(t.Array(t.String({ minLength: 1 }))),
  },
  { additionalProperties: false },
);

/** The TOML config file, as written by the operator. */
/** A named admin token (the token itself from the environment), with its role. */
const Admin = t.Object(
  { name: t.String({ minLength: 1, maxLength: 100 }), token_env: t.String({ minLength: 1 }), role: t.Optional(t.Union([t.Literal("admin"), t.Literal("viewer")])) },
  { additionalProperties: false },
);

export const ConfigFileSchema = t.Object(
  {
    providers: t.Optional(t.Array(Provider)),
    admins: t.Optional(t.Array(Admin)),
    /** Signed (Standard Webhooks) event deliveries. */
    webhooks: t.Optional(t.Array(WebhookSchema)),
    alerts: t.Optional(AlertsSchema),
    routes: t.Optional(t.Array(Route)),
    /** A provider that failed this many requests in a row (after its retries) is skipped for cooldown_ms. */
    cooldown_failures: t.Optional(t.Integer({ minimum: 1 })),
    cooldown_ms: t.Optional(t.Integer({ minimum: 0 })),
    models: t.Optional(t.Record(t.String(), Price)),
    pricing_file: t.Optional(t.String({ minLength: 1 })),
    default_model: t.Optional(t.String({ minLength: 1 })),
    default_max_output_tokens: t.Optional(t.Integer({ minimum: 1 })),
    default_max_input_tokens: t.Optional(t.Integer({ minimum: 1 })),
    default_max_tool_calls: t.Optional(t.Integer({ minimum: 0 })),
    max_body_bytes: t.Optional(t.Integer({ minimum: 1 })),
    /** Client addresses from X-Forwarded-For (only behind a proxy that sets it). */
    trust_proxy: t.Optional(t.Boolean()),
    /** Label request, token and cost metrics with the key's name (one series per key). */
    metrics_per_key: t.Optional(t.Boolean()),
    /** Raw usage rows older than this are deleted; the daily roll-ups are kept. */
    usage_retention_days: t.Optional(t.Integer({ minimum: 1 })),
    /** Redis shared by several instances (same as GATEWAY_REDIS_URL). */
    redis_url: t.Optional(t.String({ minLength: 1 })),
    database_url: t.Optional(t.String({ minLength: 1 })),
    /** The origin customers reach the gateway at: one-time key links are built on it (same as GATEWAY_PUBLIC_URL). */
    public_url: t.Optional(t.String({ minLength: 1 })),
    upstream_timeout_ms: t.Optional(t.Integer({ minimum: 1 })),
    /** Whose requests share cached answers: each key's own (default), a customer's keys, or every key. */
    cache_scope: t.Optional(t.Union([t.Literal("key"), t.Literal("customer"), t.Literal("global")])),
    /** The response cache's size in SQLite, in MB; the oldest answers go first. */
    cache_max_mb: t.Optional(t.Number({ exclusiveMinimum: 0 })),
    /** Cache requests whatever their temperature (default: only temperature 0 or unset). */
    cache_any_temperature: t.Optional(t.Boolean()),
  },
  { additionalProperties: false },
);

export type ConfigFile = typeof ConfigFileSchema.static;
export type PriceEntry = typeof Price.static;
export type ProviderEntry = typeof Provider.static;

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
  for (const [i, r] of (config.routes ?? []).entries()) {
    const named = [...r.providers.map((p, j) => [typeof p === "string" ? p : p.name, `providers[${j}]`] as const), ...(r.fallbacks ?? []).map((f, j) => [f, `fallbacks[${j}]`] as const)];
    for (const [name, at] of named) {
      if (!names.has(name)) throw new UserError(`config file ${path}: routes[${i}].${at}: unknown provider '${name}' (providers: ${[...names].join(", ") || "none"})`);
    }
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
