// What the usage reports and the Responses API need from a database; each dialect implements it (src/store/).
import type { UsageReport, ReportQuery } from "./analytics.ts";
import type { RequestsPage, RequestsQuery } from "./requests.ts";

export interface StoredResponse {
  provider: string;
  tokens: number;
}

/** The reads of usage: reports, request records, stored answers. */
export interface UsageQueries {
  report(q: ReportQuery): Promise<UsageReport>;
  requests(q: RequestsQuery): Promise<RequestsPage>;
  /**
   * A Responses API answer, for the key that created it only: the provider that served it, and its prompt
   * plus completion tokens (what continuing its conversation adds to a prompt, at most).
   */
  storedResponse(responseId: string, keyId: string): Promise<StoredResponse | undefined>;
  /**
   * Output items of Responses API answers, for the key that created them only: the sum of their answers'
   * completion tokens when this key created every one of `itemIds`, else undefined.
   */
  itemTokens(itemIds: string[], keyId: string): Promise<number | undefined>;
}
