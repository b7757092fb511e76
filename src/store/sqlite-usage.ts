import type { Db } from "../db/client.ts";
import { overview } from "../dashboard/overview.ts";
import { usageReport } from "../usage/analytics.ts";
import { listRequests } from "../usage/requests.ts";
import type { StoredResponse, UsageQueries } from "./types.ts";

/** Usage reads of the embedded SQLite database (synchronous underneath, one snapshot each). */
export function sqliteUsageQueries(db: Db): UsageQueries {
  const stored = db.$client.query<StoredResponse, [string, string]>("SELECT provider, prompt_tokens + completion_tokens AS tokens FROM usage WHERE response_id = ? AND key_id = ? LIMIT 1");
  return {
    report: async (q) => usageReport(db, q),
    requests: async (q) => listRequests(db, q),
    overview: async (now) => overview(db, now),
    storedResponse: async (responseId, keyId) => stored.get(responseId, keyId) ?? undefined,
  };
}
