// The config file's `[[providers]]` as the gateway uses them: each type's own settings checked, keys and
// credentials read from the environment (named by the entry), defaults filled in.
import { UserError } from "./errors.ts";
import type { ProviderEntry } from "./config-file.ts";
import type { Endpoint, ProviderConfig } from "./upstreams/provider-config.ts";
import { UPSTREAM_TYPES } from "./upstreams/index.ts";

type Env = Record<string, string | undefined>;

/** Google's Gemini API, where `base_url` is not set. */
export const GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta";

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

export function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v;
}

/** The endpoints every provider of a type serves. */
export function servedBy(type: ProviderConfig["type"]): Endpoint[] {
  return Object.keys(UPSTREAM_TYPES[type].adapters) as Endpoint[];
}

/**
 * The providers of a config file. `keysRequired: false` describes a config (`gateway prices`) without
 * the keys and credentials it names.
 */
export function providersFromFile(entries: ProviderEntry[], path: string, env: Env, keysRequired: boolean, retries: { maxRetries: number; retryMaxWaitMs: number }): ProviderConfig[] {
  return entries.map((p, i) => {
    const at = `config file ${path}: providers[${i}]`;
    const type = p.type ?? "openai";
    const wrong = (field: string, types: string) => new UserError(`${at}.${field}: only a provider of type ${types} takes it ('${p.name}' is '${type}')`);
    if (p.api_version !== undefined && type !== "azure") throw wrong("api_version", "'azure'");
    if (p.deployments !== undefined && type !== "azure") throw wrong("deployments", "'azure'");
    for (const field of ["region", "aws_access_key_id_env", "aws_secret_access_key_env", "aws_session_token_env"] as const) {
      if (p[field] !== undefined && type !== "bedrock") throw wrong(field, "'bedrock'");
    }
    if (type === "bedrock" && p.api_key_env !== undefined) throw new UserError(`${at}.api_key_env: a bedrock provider signs its requests with AWS credentials: set aws_access_key_id_env and aws_secret_access_key_env (default AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) instead`);
    if (type === "azure" && p.api_version === undefined) throw new UserError(`${at}.api_version: an azure provider needs its API version, e.g. "2024-10-21", or "v1" for Azure's /openai/v1 paths`);
    const serves = servedBy(type);
    const unserved = (p.endpoints ?? []).find((e) => !serves.includes(e));
    if (unserved) throw new UserError(`${at}.endpoints: a provider of type '${type}' cannot serve '${unserved}' (it serves ${serves.join(", ")})`);
    const common = { name: p.name, type, models: p.models, endpoints: p.endpoints ?? serves, maxRetries: p.max_retries ?? retries.maxRetries, retryMaxWaitMs: p.retry_max_wait_ms ?? retries.retryMaxWaitMs };
    if (type === "bedrock") return { ...common, ...bedrock(p, at, env, keysRequired) };
    const baseUrl = p.base_url ?? (type === "gemini" ? GEMINI_BASE_URL : undefined);
    if (baseUrl === undefined) throw new UserError(`${at}.base_url: a provider of type '${type}' needs its base URL`);
    const apiKey = p.api_key_env === undefined ? undefined : nonEmpty(env[p.api_key_env]);
    if (p.api_key_env !== undefined && apiKey === undefined && keysRequired) throw new UserError(`${at}.api_key_env: environment variable ${p.api_key_env} is not set`);
    if (apiKey === undefined && p.api_key_required !== false && keysRequired) {
      throw new UserError(`${at} ('${p.name}') has no provider key: set api_key_env, or api_key_required = false for a server that needs none`);
    }
    return { ...common, baseUrl: trimSlash(baseUrl), apiKey, ...(type === "azure" ? { apiVersion: p.api_version, deployments: p.deployments ?? {} } : {}) };
  });
}

/** A Bedrock provider's region, endpoint and credentials. */
function bedrock(p: ProviderEntry, at: string, env: Env, keysRequired: boolean): Pick<ProviderConfig, "baseUrl" | "apiKey" | "aws"> {
  const region = p.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  if (region === undefined) throw new UserError(`${at}.region: a bedrock provider needs its AWS region (region = "us-east-1", or AWS_REGION)`);
  const idEnv = p.aws_access_key_id_env ?? "AWS_ACCESS_KEY_ID";
  const secretEnv = p.aws_secret_access_key_env ?? "AWS_SECRET_ACCESS_KEY";
  const tokenEnv = p.aws_session_token_env ?? "AWS_SESSION_TOKEN";
  const accessKeyId = nonEmpty(env[idEnv]);
  const secretAccessKey = nonEmpty(env[secretEnv]);
  if ((accessKeyId === undefined || secretAccessKey === undefined) && keysRequired) {
    throw new UserError(`${at} ('${p.name}'): AWS credentials are not set: environment variables ${accessKeyId === undefined ? idEnv : secretEnv}${accessKeyId === undefined && secretAccessKey === undefined ? ` and ${secretEnv}` : ""}`);
  }
  const sessionToken = nonEmpty(env[tokenEnv]);
  return {
    baseUrl: trimSlash(p.base_url ?? `https://bedrock-runtime.${region}.amazonaws.com`),
    // The secret is what must never reach a customer: error bodies are redacted of it as of any provider key.
    apiKey: secretAccessKey,
    aws: { region, accessKeyId: accessKeyId ?? "", secretAccessKey: secretAccessKey ?? "", ...(sessionToken ? { sessionToken } : {}) },
  };
}
