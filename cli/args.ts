import type { ArgsDef } from "citty";
import { UserError } from "../src/errors.ts";
import { closest } from "./suggest.ts";

export interface StrictArgs {
  positionals: string[];
  flags: Record<string, string | boolean | undefined>;
}

/**
 * Parses a command's raw arguments against its citty `args` definition, strictly: unknown options,
 * missing or extra positionals are errors (citty itself ignores extras and would read a key such
 * as `-k3y` as flags). After `--` everything is positional; a lone `-` is a positional.
 */
export function parseStrict(rawArgs: string[], def: ArgsDef): StrictArgs {
  const positionalDefs = Object.entries(def).filter(([, d]) => d.type === "positional");
  const flagDefs = new Map(Object.entries(def).filter(([, d]) => d.type !== "positional"));
  const positionals: string[] = [];
  const flags: StrictArgs["flags"] = {};
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") {
      positionals.push(...rawArgs.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    const [rawName, inline] = arg.startsWith("--") ? splitOnce(arg.slice(2)) : [arg.slice(1), undefined];
    const flagDef = flagDefs.get(rawName);
    if (!flagDef || (!arg.startsWith("--") && rawName.length !== 1)) {
      const near = arg.startsWith("--") ? closest(rawName, [...flagDefs.keys(), "help"]) : undefined;
      if (near) throw new UserError(`unknown option '${arg}' (did you mean --${near}?)`);
      // Only commands that take values such as keys can be meant to get one that starts with '-'.
      const hint = positionalDefs.length > 0 ? "a value that starts with '-' must come after '--', or be read from stdin with '-'" : "see --help";
      throw new UserError(`unknown option '${arg}' (${hint})`);
    }
    if (flagDef.type === "boolean") {
      if (inline !== undefined) throw new UserError(`option --${rawName} takes no value`);
      flags[rawName] = true;
    } else {
      const value = inline ?? rawArgs[++i];
      if (value === undefined) throw new UserError(`option --${rawName} needs a value`);
      flags[rawName] = value;
    }
  }
  const required = positionalDefs.filter(([, d]) => d.required !== false).length;
  if (positionals.length < required) {
    const missing = positionalDefs.slice(positionals.length).map(([n]) => n.toUpperCase());
    throw new UserError(`missing argument ${missing[0]} (see --help)`);
  }
  if (positionals.length > positionalDefs.length) {
    throw new UserError(`too many arguments: expected at most ${positionalDefs.length}, got ${positionals.length} (see --help)`);
  }
  return { positionals, flags };
}

function splitOnce(s: string): [string, string | undefined] {
  const eq = s.indexOf("=");
  return eq === -1 ? [s, undefined] : [s.slice(0, eq), s.slice(eq + 1)];
}

/** Options every command that touches the database accepts. */
export const dbArgs = {
  db: { type: "string", description: "SQLite database file (env GATEWAY_DB, default ./gateway.db); with GATEWAY_DATABASE_URL set, commands use that PostgreSQL database instead", valueHint: "PATH" },
} as const satisfies ArgsDef;
