import type { Db } from "./client.ts";
import { overview } from "./overview.ts";
import { usageReport } from "./reports.ts";
import { listRequests } from "./requests.ts";
import { sqliteFailures } from "../failures.ts";
import type { OverviewQuery } from "../../dashboard/overview.ts";
import type { StoredResponse, UsageQueries } from "../../usage/queries.ts";

/** Usage reads of the embedded SQLite database (synchronous underneath, one snapshot each). */
export function sqliteUsageQueries(db: Db): UsageQueries & OverviewQuery {
  const stored = db.$client.query<StoredResponse, [string, string]>("SELECT provider, prompt_tokens + completion_tokens AS tokens FROM usage WHERE response_id = ? AND key_id = ? LIMIT 1");
  const items = db.$client.query<{ n: number; tokens: number | null }, [string, string]>(
    "SELECT count(*) AS n, sum(tokens) AS tokens FROM response_items WHERE key_id = ? AND item_id IN (SELECT value FROM json_each(?))",
  );
  const failures = sqliteFailures(db);
  return {
    report: async (q) => usageReport(db, q),
    requests: async (q) => listRequests(db, q),
    overview: async (now) => ({ ...overview(db, now), failures: failures.recent(now) }),
    storedResponse: async (responseId, keyId) => stored.get(responseId, keyId) ?? undefined,
    async itemTokens(itemIds, keyId) {
      const unique = [...new Set(itemIds)];
      const found = items.get(keyId, JSON.stringify(unique));
      return found && found.n === unique.length ? (found.tokens ?? 0) : undefined;
    },
  };
}
