// SQLite's key rows for the verifier: looked up by digest, cached until the database's keys_version moves.
import { isBusy, type Db } from "./client.ts";
import { MAX_CACHED_KEYS, type KeyRow, type KeyRowSource } from "../../keys/verifier.ts";
import { keyRowSql } from "../key-row-sql.ts";

/** The SQLite source: the cache holds until the keys_version counter says a key changed. */
export function sqliteKeyRows(db: Db): KeyRowSource {
  const byLookup = db.$client.query<KeyRow, [string]>(keyRowSql("?1"));
  // Triggers on api_keys move keys_version whoever changes a key (this server's admin API, the CLI, a
  // sqlite3 shell's UPDATE, another server), so such a change is seen on the next request; the usage
  // writer's commits (another connection, many per second) leave it alone.
  const keysVersion = db.$client.query<{ v: string }, []>("SELECT value AS v FROM meta WHERE key = 'keys_version'");
  // PRAGMA data_version (no page read) says whether anything was committed since; only then is keys_version read.
  const dataVersion = db.$client.query<{ data_version: number }, []>("PRAGMA data_version");
  let seenData = -1;
  let seenVersion: string | undefined = "";
  // The version is read once per event-loop iteration (it is a read transaction: a tenth of the request
  // path's CPU when read per request). Bun runs immediates at the start of the next iteration, before it
  // polls for sockets, so a request that arrives after another connection's commit is only ever read by
  // an iteration that checks again.
  let checkedThisIteration = false;
  const nextIteration = () => {
    checkedThisIteration = false;
  };
  const rows = new Map<string, KeyRow>();
  function readOnce(lookup: string): KeyRow | null {
    if (!checkedThisIteration) {
      const data = dataVersion.get()!.data_version;
      if (data !== seenData) {
        const version = keysVersion.get()?.v; // may throw (busy): nothing is marked as checked then
        if (version !== seenVersion) {
          rows.clear();
          seenVersion = version;
        }
        seenData = data;
      }
      checkedThisIteration = true;
      setImmediate(nextIteration);
    }
    const cached = rows.get(lookup);
    if (cached) return cached;
    const row = byLookup.get(lookup);
    // Unknown keys are not remembered: a flood of random keys must not grow memory.
    if (row) {
      if (rows.size >= MAX_CACHED_KEYS) rows.clear();
      rows.set(lookup, row);
    }
    return row;
  }
  return {
    // busy_timeout is 0 on the server's connection: a read that meets another connection's brief lock
    // (a checkpoint, WAL recovery) is simply tried again a few times before the request gets a 503.
    read(lookup) {
      for (let attempt = 1; ; attempt++) {
        try {
          return readOnce(lookup);
        } catch (err) {
          if (!isBusy(err) || attempt >= 5) throw err;
        }
      }
    },
    forget: () => rows.clear(),
  };
}
