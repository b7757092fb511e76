import { defineCommand } from "citty";
import { loadBaseConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/store/sqlite/client.ts";
import { UserError } from "../../src/errors.ts";
import { copyToPostgres } from "../../src/store/postgres/copy-from-sqlite.ts";
import { openPostgres, redactUrl } from "../../src/store/postgres/client.ts";
import { parseStrict } from "../args.ts";

export const migrateDb = defineCommand({
  meta: {
    name: "migrate-db",
    description:
      "Copy this SQLite database (keys, usage rows, roll-ups) into an empty PostgreSQL database and check counts and sums. Stop the server first; afterwards start every instance with GATEWAY_DATABASE_URL and the same lookup secret (GATEWAY_SECRET: the contents of the .secret file beside the SQLite database, unless GATEWAY_SECRET was already set).",
  },
  args: {
    to: { type: "string", description: "The PostgreSQL database, e.g. postgres://gateway:PASSWORD@db:5432/gateway", valueHint: "URL", required: true },
    db: { type: "string", description: "The SQLite database file to copy (env GATEWAY_DB, default ./gateway.db)", valueHint: "PATH" },
  },
  async run({ rawArgs, cmd }) {
    const { flags } = parseStrict(rawArgs, cmd.args as never);
    const to = flags.to as string | undefined;
    if (!to || !/^postgres(ql)?:\/\/[^/\s]+/.test(to)) throw new UserError("--to must be a PostgreSQL URL like postgres://user:password@host:5432/database");
    // The source is always the SQLite file, whatever GATEWAY_DATABASE_URL says.
    const config = loadBaseConfig({ db: flags.db as string | undefined }, { ...process.env, GATEWAY_DATABASE_URL: undefined });
    const db = openDatabase({ path: config.dbPath, busyTimeoutMs: config.busyTimeoutMs, create: false });
    const sql = await openPostgres(to, { max: 1 });
    try {
      const copied = await copyToPostgres(db, sql, { progress: (line) => console.log(line) });
      for (const c of copied) console.log(`${c.table}: ${c.rows} rows copied`);
      console.log(`Copied ${config.dbPath} to ${redactUrl(to)}; counts and sums match.`);
      console.log("Next: start every instance with GATEWAY_DATABASE_URL set to that URL and the same GATEWAY_SECRET (the lookup secret this database's keys were digested with).");
    } finally {
      await sql.close({ timeout: 2 });
      db.$client.close();
    }
  },
});
