// The only module that reads the environment. Everything else receives a typed Config.
import { basename, dirname, join } from "node:path";
import { UserError } from "./errors.ts";

export interface CliFlags {
  db?: string;
  port?: string;
  host?: string;
  config?: string;
}

export interface BaseConfig {
  dbPath: string;
  busyTimeoutMs: number;
  secret: string | undefined;
  secretFile: string;
}

export interface ServerConfig extends BaseConfig {
  port: number;
  host: string;
  adminToken: string | undefined;
  shutdownGraceMs: number;
}

type Env = Record<string, string | undefined>;

export function loadBaseConfig(flags: CliFlags, env: Env = process.env): BaseConfig {
  const dbPath = flags.db ?? env.GATEWAY_DB ?? "gateway.db";
  return {
    dbPath,
    busyTimeoutMs: intSetting(env, "GATEWAY_BUSY_TIMEOUT_MS", 5000, 0),
    secret: nonEmpty(env.GATEWAY_SECRET),
    secretFile: nonEmpty(env.GATEWAY_SECRET_FILE) ?? join(dirname(dbPath), `${basename(dbPath)}.secret`),
  };
}

export function loadServerConfig(flags: CliFlags, env: Env = process.env): ServerConfig {
  const port = flags.port ?? env.PORT ?? "8080";
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new UserError(`port must be an integer 0-65535, got '${port}'`);
  return {
    ...loadBaseConfig(flags, env),
    port: Number(port),
    host: flags.host ?? nonEmpty(env.HOST) ?? "0.0.0.0",
    adminToken: nonEmpty(env.GATEWAY_ADMIN_TOKEN),
    shutdownGraceMs: intSetting(env, "GATEWAY_SHUTDOWN_GRACE_MS", 10_000, 0),
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v;
}

function intSetting(env: Env, name: string, fallback: number, min: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new UserError(`${name} must be an integer >= ${min}, got '${raw}'`);
  return Number(raw);
}
