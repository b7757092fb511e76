// The only module that reads the environment. Everything else receives a typed Config.
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { UserError } from "./errors.ts";
import { readConfigFile, type ConfigFile } from "./config-file.ts";
import { webhooksOf, type WebhookSettings } from "./webhooks/config.ts";
import type { Admin } from "./keys/admin-auth.ts";
import type { CooldownConfig, ProviderConfig, RouteConfig } from "./upstreams/provider-config.ts";
import { nonEmpty, providersFromFile, servedBy, trimSlash } from "./config-providers.ts";
import { LOG_LEVELS, type LogFormat, type LogLevel } from "./observe/logger.ts";
import { buildPrices, type Prices } from "./usage/pricing.ts";
import type { CacheSettings } from "./cache/policy.ts";

export interface CliFlags {
  db?: string;
  port?: string;
  host?: string;
  config?: string;
  "log-format"?: string;
  /** `serve --demo`: the built-in demo provider's URL; it is the only provider. */
  demoUrl?: string;
  "metrics-port"?: string;
  workers?: string;
}

export interface BaseConfig {
  dbPath: string;
  /** PostgreSQL instead of the SQLite file (GATEWAY_DATABASE_URL, or database_url in the config file). */
  databaseUrl: string | undefined;
  busyTimeoutMs: number;
  secret: string | undefined;
  secretFile: string;
  /** Enables /admin/*; also never accepted as a customer key. */
  adminToken: string | undefined;
  /** The origin customers reach the gateway at (one-time key links): GATEWAY_PUBLIC_URL (or public_url); unset: the listen address. */
  publicUrl: string | undefined;
}

export interface ServerConfig extends BaseConfig {
  port: number;
  host: string;
  shutdownGraceMs: number;
  providers: ProviderConfig[];
  routes: RouteConfig[];
  cooldown: CooldownConfig;
  prices: Prices;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  /** The response cache: whose requests share answers, its size in SQLite, which requests it takes. */
  cache: CacheSettings;
  /** Used when a request names no model. */
  defaultModel: string | undefined;
  /** The output a request may produce when it sets no max_tokens and its model's maximum is unknown (reservations). */
  defaultMaxOutputTokens: number;
  /** Upstream answers (not streams) larger than this are dropped with a 502. */
  maxUpstreamBytes: number;
  /** A model's context window when the price list names none (bounds input the gateway cannot see). */
  defaultMaxInputTokens: number;
  /** Web searches a request of a key with a budget or token limit may make when it sets no cap. */
  defaultMaxToolCalls: number;
  /** Closes a connection that sends nothing for this long (keep-alive idle, or a stalled request). */
  idleTimeoutMs: number;
  /** A request body must arrive within this long after its headers. */
  bodyTimeoutMs: number;
  /** Failed admin authentications per client address and minute before it gets 429. */
  adminFailuresPerMinute: number;
  /** Who may use /admin/*: GATEWAY_ADMIN_TOKEN as "admin", and the config file's [[admins]]. */
  admins: AdminConfig[];
  webhooks: WebhookSettings; // [[webhooks]] and [alerts]
  logFormat: LogFormat;
  logLevel: LogLevel;
  /** Client addresses from X-Forwarded-For. */
  trustProxy: boolean;
  /** GET /metrics with this bearer token. */
  metricsToken: string | undefined;
  /** A second listener on 127.0.0.1 serving /metrics without a token. */
  metricsPort: number | undefined;
  metricsPerKey: boolean;
  /** Raw usage rows older than this many days are deleted (roll-ups kept); undefined keeps everything. */
  usageRetentionDays: number | undefined;
  /** Redis shared by every instance for the per-minute request limit. */
  redisUrl: string | undefined;
  /** How often customers' automatic refills are checked (a new period's top-up happens within this). */
  refillCheckMs: number;
  /** Threads serving the port (serve --workers): the primary and workers - 1 request threads. */
  workers: number;
  /** The flags and environment it was loaded from: a request thread loads the same. */
  loadedFrom: { flags: CliFlags; env: Env };
}

type Env = Record<string, string | undefined>;

export function loadBaseConfig(flags: CliFlags, env: Env = process.env): BaseConfig {
  const dbPath = flags.db ?? env.GATEWAY_DB ?? "gateway.db";
  const url = databaseUrl(nonEmpty(env.GATEWAY_DATABASE_URL));
  if (url !== undefined && flags.db !== undefined) throw new UserError("--db names a SQLite file, but GATEWAY_DATABASE_URL is set: unset one of them");
  return {
    dbPath,
    databaseUrl: url,
    busyTimeoutMs: intSetting(env, "GATEWAY_BUSY_TIMEOUT_MS", 5000, 0),
    secret: nonEmpty(env.GATEWAY_SECRET),
    secretFile: nonEmpty(env.GATEWAY_SECRET_FILE) ?? join(dirname(dbPath), `${basename(dbPath)}.secret`),
    adminToken: nonEmpty(env.GATEWAY_ADMIN_TOKEN),
    publicUrl: publicUrl(nonEmpty(env.GATEWAY_PUBLIC_URL)),
  };
}

function publicUrl(url: string | undefined): string | undefined {
  if (url !== undefined && !/^https?:\/\/[^/\s]+(\/[^\s]*)?$/.test(url)) throw new UserError(`GATEWAY_PUBLIC_URL must look like https://gateway.example.com, got '${url}'`);
  return url === undefined ? undefined : trimSlash(url);
}

/** `keysRequired: false` reads a config to describe it (`gateway prices`), without the provider keys it names. */
export function loadServerConfig(flags: CliFlags, env: Env = process.env, { keysRequired = true }: { keysRequired?: boolean } = {}): ServerConfig {
  const port = flags.port ?? env.PORT ?? "8080";
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new UserError(`port must be an integer 0-65535, got '${port}'`);
  const maxRetries = intSetting(env, "GATEWAY_MAX_RETRIES", 2, 0);
  const retryMaxWaitMs = intSetting(env, "GATEWAY_RETRY_MAX_WAIT_MS", 10_000, 0);
  const adminToken = nonEmpty(env.GATEWAY_ADMIN_TOKEN);
  if (adminToken !== undefined && !strongToken(adminToken)) {
    throw new UserError(`GATEWAY_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN} random characters, 128 bits or more (e.g. openssl rand -hex 24)`);
  }
  const configPath = flags.config ?? nonEmpty(env.GATEWAY_CONFIG);
  if (flags.demoUrl !== undefined && configPath) throw new UserError("--demo brings its own provider: leave out --config and GATEWAY_CONFIG");
  const file = configPath ? readConfigFile(configPath) : {};
  let providers: ProviderConfig[];
  if (flags.demoUrl !== undefined) {
    providers = [{ name: "demo", type: "openai", baseUrl: flags.demoUrl, apiKey: undefined, models: ["*"], endpoints: servedBy("openai"), maxRetries, retryMaxWaitMs }];
  } else if (file.providers && file.providers.length > 0) {
    providers = providersFromFile(file.providers, configPath!, env, keysRequired, { maxRetries, retryMaxWaitMs });
  } else {
    const apiKey = nonEmpty(env.OPENAI_API_KEY);
    const baseUrl = nonEmpty(env.OPENAI_BASE_URL) ?? "https://api.openai.com/v1";
    if (!/^https?:\/\//.test(baseUrl)) throw new UserError(`OPENAI_BASE_URL must start with http:// or https://, got '${baseUrl}'`);
    if (!apiKey && !isLoopback(baseUrl) && keysRequired) {
      throw new UserError(`OPENAI_API_KEY is not set: the gateway would call ${baseUrl} without a provider key (set it, or use a config file with api_key_required = false)`);
    }
    providers = [{ name: "openai", type: "openai", baseUrl: trimSlash(baseUrl), apiKey, models: ["*"], endpoints: servedBy("openai"), maxRetries, retryMaxWaitMs }];
    // ANTHROPIC_API_KEY adds Anthropic's own API for Claude models, ahead of the catch-all.
    const anthropicKey = nonEmpty(env.ANTHROPIC_API_KEY);
    if (anthropicKey) {
      providers.unshift({ name: "anthropic", type: "anthropic", baseUrl: "https://api.anthropic.com/v1", apiKey: anthropicKey, models: ["claude-*"], endpoints: ["chat", "messages"], maxRetries, retryMaxWaitMs });
    }
  }
  return {
    ...loadBaseConfig(flags, env),
    port: Number(port),
    host: flags.host ?? nonEmpty(env.HOST) ?? "0.0.0.0",
    shutdownGraceMs: intSetting(env, "GATEWAY_SHUTDOWN_GRACE_MS", 10_000, 0),
    providers,
    routes: routesOf(file),
    cooldown: { failures: file.cooldown_failures ?? 3, ms: file.cooldown_ms ?? 30_000 },
    prices: buildPrices(file.models, file.pricing_file && resolve(dirname(configPath!), file.pricing_file), providers),
    maxBodyBytes: intSetting(env, "GATEWAY_MAX_BODY_BYTES", file.max_body_bytes ?? 10 * 1024 * 1024, 1),
    upstreamTimeoutMs: intSetting(env, "GATEWAY_UPSTREAM_TIMEOUT_MS", file.upstream_timeout_ms ?? 600_000, 1),
    cache: { scope: file.cache_scope ?? "key", maxBytes: Math.round((file.cache_max_mb ?? 256) * 1024 * 1024), anyTemperature: file.cache_any_temperature ?? false },
    maxUpstreamBytes: intSetting(env, "GATEWAY_MAX_UPSTREAM_BYTES", 64 * 1024 * 1024, 1024),
    defaultModel: nonEmpty(env.GATEWAY_DEFAULT_MODEL) ?? file.default_model ?? (flags.demoUrl !== undefined ? "gpt-4o-mini" : undefined),
    defaultMaxOutputTokens: intSetting(env, "GATEWAY_DEFAULT_MAX_OUTPUT_TOKENS", file.default_max_output_tokens ?? 4096, 1),
    defaultMaxInputTokens: intSetting(env, "GATEWAY_DEFAULT_MAX_INPUT_TOKENS", file.default_max_input_tokens ?? 1_000_000, 1),
    defaultMaxToolCalls: intSetting(env, "GATEWAY_DEFAULT_MAX_TOOL_CALLS", file.default_max_tool_calls ?? 3, 0),
    idleTimeoutMs: Math.min(intSetting(env, "GATEWAY_IDLE_TIMEOUT_MS", 30_000, 1000), MAX_IDLE_TIMEOUT_MS),
    bodyTimeoutMs: intSetting(env, "GATEWAY_BODY_TIMEOUT_MS", 30_000, 100),
    adminFailuresPerMinute: intSetting(env, "GATEWAY_ADMIN_FAILURES_PER_MINUTE", 20, 1),
    admins: adminsOf(file, configPath, adminToken, env),
    logFormat: oneOf("--log-format / GATEWAY_LOG_FORMAT", flags["log-format"] ?? nonEmpty(env.GATEWAY_LOG_FORMAT), ["json", "pretty"] as const, "json"),
    logLevel: oneOf("GATEWAY_LOG_LEVEL", nonEmpty(env.GATEWAY_LOG_LEVEL), LOG_LEVELS, "info"),
    trustProxy: file.trust_proxy ?? env.GATEWAY_TRUST_PROXY === "1",
    metricsToken: metricsToken(env),
    metricsPort: portSetting("--metrics-port / GATEWAY_METRICS_PORT", flags["metrics-port"] ?? nonEmpty(env.GATEWAY_METRICS_PORT)),
    metricsPerKey: file.metrics_per_key ?? false,
    usageRetentionDays: file.usage_retention_days,
    redisUrl: redisUrl(nonEmpty(env.GATEWAY_REDIS_URL) ?? file.redis_url),
    databaseUrl: databaseUrl(nonEmpty(env.GATEWAY_DATABASE_URL) ?? file.database_url),
    publicUrl: publicUrl(nonEmpty(env.GATEWAY_PUBLIC_URL) ?? file.public_url),
    workers: workersSetting(flags.workers ?? nonEmpty(env.GATEWAY_WORKERS)),
    refillCheckMs: intSetting(env, "GATEWAY_REFILL_CHECK_MS", 30_000, 100),
    webhooks: webhooksOf(file, configPath, env, (name, fallback, min) => intSetting(env, name, fallback, min)),
    loadedFrom: { flags, env: { ...env } },
  };
}

const MAX_WORKERS = 64;

/** A number of threads, or "auto": one per core this process may use. */
function workersSetting(value: string | undefined): number {
  if (value === undefined) return 1;
  if (value === "auto") return Math.min(MAX_WORKERS, availableParallelism());
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_WORKERS) throw new UserError(`--workers / GATEWAY_WORKERS must be 'auto' or an integer 1-${MAX_WORKERS}, got '${value}'`);
  return Number(value);
}

/** A named admin: `viewer` may only read (GET), `admin` may change too. */
export type AdminConfig = Admin;

function adminsOf(file: ConfigFile, path: string | undefined, envToken: string | undefined, env: Env): AdminConfig[] {
  const admins: AdminConfig[] = envToken === undefined ? [] : [{ name: "admin", token: envToken, role: "admin" }];
  for (const [i, a] of (file.admins ?? []).entries()) {
    const where = `config file ${path}: admins[${i}] ('${a.name}')`;
    const token = nonEmpty(env[a.token_env]);
    if (token === undefined) throw new UserError(`${where}: environment variable ${a.token_env} is not set`);
    if (!strongToken(token)) throw new UserError(`${where}: its token must be at least ${MIN_ADMIN_TOKEN} random characters, 128 bits or more (e.g. openssl rand -hex 24)`);
    if (admins.some((b) => b.name === a.name)) throw new UserError(`${where}: another admin has this name`);
    if (admins.some((b) => b.token === token)) throw new UserError(`${where}: another admin has this token`);
    admins.push({ name: a.name, token, role: a.role ?? "admin" });
  }
  return admins;
}

function databaseUrl(url: string | undefined): string | undefined {
  if (url !== undefined && !/^postgres(ql)?:\/\/[^/\s]+/.test(url)) throw new UserError(`GATEWAY_DATABASE_URL must look like postgres://user:password@host:5432/database, got '${url.replace(/\/\/[^@/]*@/, "//***@")}'`);
  return url;
}

function redisUrl(url: string | undefined): string | undefined {
  if (url !== undefined && !/^rediss?:\/\/[^/\s]+/.test(url)) throw new UserError(`GATEWAY_REDIS_URL must look like redis://host:6379 or rediss://host:6380, got '${url.replace(/\/\/[^@/]*@/, "//***@")}'`);
  return url;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new UserError(`${name} must be one of ${allowed.join(", ")}, got '${value}'`);
  return value as T;
}

function portSetting(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new UserError(`${name} must be an integer 0-65535, got '${value}'`);
  return Number(value);
}

const MIN_ADMIN_TOKEN = 32;

/**
 * At least 32 characters worth 128 bits or more when each is drawn from the classes it uses (lower case,
 * upper case, digits, others), with no run of one character: guessing it stays hopeless at any rate.
 */
function strongToken(token: string): boolean {
  if (token.length < MIN_ADMIN_TOKEN || /(.)\1{3}/.test(token) || new Set(token).size < 8) return false;
  const alphabet = (/[a-z]/.test(token) ? 26 : 0) + (/[A-Z]/.test(token) ? 26 : 0) + (/\d/.test(token) ? 10 : 0) + (/[^a-zA-Z\d]/.test(token) ? 32 : 0);
  return token.length * Math.log2(alphabet) >= 128;
}

function metricsToken(env: Env): string | undefined {
  const token = nonEmpty(env.GATEWAY_METRICS_TOKEN);
  if (token !== undefined && token.length < 16) throw new UserError("GATEWAY_METRICS_TOKEN must be at least 16 characters (e.g. openssl rand -hex 24)");
  return token;
}

function routesOf(file: ConfigFile): RouteConfig[] {
  return (file.routes ?? []).map((r) => ({
    models: r.models,
    providers: r.providers.map((p) => (typeof p === "string" ? { name: p, weight: 1 } : { name: p.name, weight: p.weight ?? 1 })),
    fallbacks: r.fallbacks ?? [],
  }));
}

/** Bun counts idle time in whole seconds, at most 255. */
const MAX_IDLE_TIMEOUT_MS = 255_000;

/** A provider on this machine (a local model server) may take no key. */
function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function intSetting(env: Env, name: string, fallback: number, min: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new UserError(`${name} must be an integer >= ${min}, got '${raw}'`);
  return Number(raw);
}
