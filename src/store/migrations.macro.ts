// Bun macro: runs at build time (and at transpile time under `bun run`/`bun test`), so the
// compiled binary carries its migrations and needs no `migrations/` folder beside it.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface EmbeddedMigration {
  tag: string;
  /** drizzle's `folderMillis`: the journal's `when`, used to decide what is applied. */
  when: number;
  /** sha256 of the SQL file, as drizzle's own migrator records it. */
  hash: string;
  statements: string[];
}

/** `folder`: "" for SQLite's (migrations/), "postgres" for PostgreSQL's (migrations/postgres/). */
export function embeddedMigrations(folder = ""): EmbeddedMigration[] {
  const dir = join(import.meta.dir, "../../migrations", folder);
  const journal = JSON.parse(readFileSync(join(dir, "meta/_journal.json"), "utf8")) as {
    entries: { tag: string; when: number }[];
  };
  return journal.entries.map(({ tag, when }) => {
    const sql = readFileSync(join(dir, `${tag}.sql`), "utf8");
    return {
      tag,
      when,
      hash: createHash("sha256").update(sql).digest("hex"),
      statements: sql.split("--> statement-breakpoint").map((s) => s.trim()).filter(Boolean),
    };
  });
}
