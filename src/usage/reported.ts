// What an upstream says a request used, as every inbound API's usage extraction hands it on.

/** Token usage as the upstream reported it (in OpenAI's terms: prompt includes cached and cache writes). */
export interface ReportedUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number | null;
  reasoningTokens: number | null;
  /** Part of promptTokens written to the provider's prompt cache. */
  cacheWriteTokens?: number | null;
  /** Web searches the provider ran (billed per call). */
  webSearches?: number;
  /** Set when the upstream sent a usage object whose counts cannot be believed (what it sent). */
  suspect?: string;
}
