// The providers and routes as the config file describes them, once read and checked (src/config.ts).

/** The API an upstream speaks. */
export type ProviderType = "openai" | "anthropic" | "azure" | "gemini" | "bedrock";

/** AWS credentials for SigV4 (Bedrock). */
export interface AwsCredentials {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** An upstream, the API it speaks, and the model globs routed to it. */
export interface ProviderConfig {
  name: string;
  type: ProviderType;
  /** Without trailing slash, e.g. https://api.openai.com/v1 */
  baseUrl: string;
  apiKey: string | undefined;
  models: string[];
  /** The inbound APIs this provider serves. */
  endpoints: Endpoint[];
  /** Retries after a connection failure or a 429/500/502/503/504, before anything reached the customer. */
  maxRetries: number;
  /** The longest wait before a retry (a larger Retry-After is cut to it). */
  retryMaxWaitMs: number;
  /** Azure: the API version (`v1`: Azure's OpenAI-compatible /openai/v1 paths). */
  apiVersion?: string;
  /** Azure: model → deployment name (a model not listed is its own deployment name). */
  deployments?: Record<string, string>;
  /** Bedrock: region and credentials. */
  aws?: AwsCredentials;
}

/** The inbound APIs a provider can serve. */
export type Endpoint = "chat" | "responses" | "embeddings" | "messages";

/** A model pattern served by several providers (`[[routes]]`). */
export interface RouteConfig {
  models: string[];
  providers: { name: string; weight: number }[];
  fallbacks: string[];
}

export interface CooldownConfig {
  /** Failed requests in a row (after retries) that put a provider in cooldown. */
  failures: number;
  ms: number;
}
