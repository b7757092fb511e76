// Two (and more) processes opening a brand-new database at the same moment must both succeed.
import { Database } from "bun:sqlite";
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { ROOT, runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/tmp.ts";

// Real servers and processes: more than the 5 s default per test.
setDefaultTimeout(60_000);

const journal = (await Bun.file(join(ROOT, "migrations/meta/_journal.json")).json()) as { entries: unknown[] };

test("concurrent first starts on a fresh file migrate exactly once", async () => {
  const dir = tempDir();
  for (let round = 0; round < 6; round++) {
    const db = join(dir, `fresh-${round}.db`);
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        runCli(["create-key", `k-${round}-${i}`, `sk-race-${round}-${i}-xyz`, "5", "--db", db], { cwd: dir }),
      ),
    );
    for (const r of results) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    const sqlite = new Database(db, { readonly: true });
    expect(sqlite.query("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual({ n: journal.entries.length });
    expect(sqlite.query("SELECT count(*) AS n FROM api_keys").get()).toEqual({ n: 4 });
    expect(sqlite.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(sqlite.query("PRAGMA page_size").get()).toEqual({ page_size: 1024 });
    sqlite.close();
  }
});
