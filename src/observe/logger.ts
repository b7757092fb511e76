// The one logger: JSON lines (or a pretty form for humans) with time, level and message, written to
// stdout in one write per event-loop turn. Every operational message and every request goes through it.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "json" | "pretty";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
export const LOG_LEVELS = Object.keys(RANK) as LogLevel[];

export interface Logger {
  readonly format: LogFormat;
  /** Whether a message at `level` would be written (callers skip building fields otherwise). */
  enabled(level: LogLevel): boolean;
  /** Writes a JSON line built by the caller (the access log's, built without an intermediate object). */
  writeLine(line: string): void;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Start-up and shutdown: written at level info whatever the threshold (scripts wait for the listening line). */
  notice(msg: string, fields?: LogFields): void;
  /** Writes out what is buffered (at exit). */
  flush(): void;
}

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  /** Where finished lines go (without their newline); default: stdout, batched per event-loop turn. */
  sink?: (line: string) => void;
  clock?: () => number;
}

/**
 * Lines joined and written every 50 ms (or at 64 KB): a write per request line cost 3% of throughput
 * at 50 connections, and a write per event-loop turn 15-20% at one connection.
 */
function stdoutSink(): { write: (line: string) => void; flush: () => void } {
  const out = Bun.stdout.writer();
  let batch = "";
  let timer: Timer | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (batch === "") return;
    out.write(batch);
    batch = "";
    void out.flush();
  };
  return {
    write(line) {
      batch += `${line}\n`;
      if (batch.length > 65536) flush();
      else timer ??= setTimeout(flush, 50);
    },
    flush,
  };
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]/;

/** A JSON value, without JSON.stringify for the common cases (it was the logger's largest cost). */
export function jsonValue(v: string | number | boolean | null): string {
  if (typeof v === "string") return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`;
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  return String(v);
}

function pretty(time: string, level: LogLevel, msg: string, fields: LogFields | undefined): string {
  let line = `${time} ${level.toUpperCase().padEnd(5)} ${msg}`;
  if (fields) for (const k in fields) if (fields[k] !== undefined) line += ` ${k}=${typeof fields[k] === "string" && /\s/.test(fields[k]) ? JSON.stringify(fields[k]) : fields[k]}`;
  return line;
}

let lastMs = -1;
let lastIso = "";

/** The ISO time of `ms`, computed once per millisecond. */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export function createLogger({ format = "json", level = "info", sink, clock = Date.now }: LoggerOptions = {}): Logger {
  const threshold = RANK[level];
  const out = sink ? { write: sink, flush: () => {} } : stdoutSink();
  const log = (lvl: LogLevel, msg: string, fields?: LogFields, always = false) => {
    if (RANK[lvl] < threshold && !always) return;
    const time = isoTime(clock());
    if (format === "pretty") return out.write(pretty(time, lvl, msg, fields));
    // Fields are written in order after time, level and msg; undefined ones are left out.
    let line = `{"time":"${time}","level":"${lvl}","msg":${jsonValue(msg)}`;
    if (fields) for (const k in fields) if (fields[k] !== undefined) line += `,"${k}":${jsonValue(fields[k]!)}`;
    out.write(`${line}}`);
  };
  return {
    format,
    enabled: (lvl) => RANK[lvl] >= threshold,
    writeLine: out.write,
    log,
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
    notice: (msg, fields) => log("info", msg, fields, true),
    flush: out.flush,
  };
}

/**
 * The `(line) => void` callbacks the modules were given, through the logger: a message about an
 * internal error is an error, every other one a warning (they report faults: upstreams, storage,
 * implausible usage, admin throttling).
 */
export function lineLogger(logger: Logger): (line: string) => void {
  return (line) => {
    const msg = line.replace(/^\[gateway\] /, "");
    logger.log(/internal error|cannot|failed/i.test(msg) ? "error" : "warn", msg);
  };
}
