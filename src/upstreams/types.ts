// What an upstream type is: how it is authenticated, and for each inbound API it serves, how a
// customer's request becomes its request and its answer becomes the customer's (absent: unchanged).
import type { Endpoint, ProviderConfig } from "./provider-config.ts";
import type { ErrorShape } from "../errors.ts";

/** One request on its way to one provider. */
export interface CallContext {
  /** The customer's body as sent, and parsed. */
  text: string;
  body: Record<string, unknown>;
  upstreamModel: string;
  /** The provider asked (its type's own settings: Azure's deployments). */
  provider: ProviderConfig;
  /** The body already names `upstreamModel` (no rewrite needed to forward it). */
  sameModel: boolean;
  stream: boolean;
  /** Chat: the customer asked for the usage chunk itself. */
  wantsUsage: boolean;
  /** A model's answer size limit, for an API that requires one when the request sets none. */
  maxOutputTokens: (model: string) => number;
  /** A model's answer size limit when the operator's price list states one: a larger cap is lowered to it. */
  outputLimit: (model: string) => number | undefined;
  /** The customer's request headers (API version and beta flags are forwarded where the API has them). */
  customerHeaders: Headers;
}

export interface Adapter {
  /** Under the provider's base URL; a function where the path names the model (Azure's deployment, Gemini, Bedrock). */
  path: string | ((provider: ProviderConfig, upstreamModel: string, stream: boolean) => string);
  body(ctx: CallContext): string;
  /** The upstream's JSON answer in the customer's API (given the customer's request and the model asked). */
  answer?(payload: Record<string, unknown>, request: { body: Record<string, unknown>; upstreamModel: string }): Record<string, unknown>;
  /** The upstream's event stream in the customer's API. */
  events?(upstream: ReadableStream<Uint8Array>, context?: StreamContext): ReadableStream<Uint8Array>;
  /** The translated stream's first event states the prompt's tokens (Anthropic's message_start): count them alongside the request. */
  countsPrompt?: boolean;
  /** Messages only: where the upstream counts tokens (absent: the gateway counts them). */
  countPath?: string;
  /** The content type of its streams, when not server-sent events (Bedrock's AWS event stream). */
  streamType?: string;
}

/** What a translated stream knows before its first event. */
export interface StreamContext {
  /** The prompt's tokens by the gateway's tokenizer (the upstream reports its own only at the end). */
  promptTokens?: number;
  /** The model asked (a stream that names none: Bedrock's). */
  upstreamModel?: string;
}

export interface UpstreamType {
  /** The operator's key (and API version) as this API expects them; nothing of the customer's. */
  headers(provider: ProviderConfig, customerHeaders?: Headers): Record<string, string>;
  /** The shape of its error bodies ("own": neither customer API's; re-shaped for every customer). */
  errorShape: ErrorShape | "own";
  /** The message of one of its error bodies (default: OpenAI's and Anthropic's `error.message`). */
  errorMessage?(payload: Record<string, unknown>): { message: string; type?: string } | undefined;
  /** An error answer other than 401/403 that means the operator's key was refused (Gemini: 400 API_KEY_INVALID). */
  refusesCredentials?(status: number, text: string): boolean;
  /** Its model list's entries: id and creation time (seconds); absent: only the provider's literal model names are listed. */
  modelEntry?(raw: Record<string, unknown>): { id: string; created: number } | undefined;
  /** The URL of a path (default: the base URL and the path). */
  url?(provider: ProviderConfig, path: string): string;
  /** Signs the finished request (Bedrock's SigV4): the headers to send. */
  sign?(provider: ProviderConfig, url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<Record<string, string>>;
  /** The inbound APIs it serves, natively or translated. */
  adapters: Partial<Record<Endpoint, Adapter>>;
}

/** The path of an adapter for one model. */
export function pathOf(adapter: Adapter, provider: ProviderConfig, upstreamModel: string, stream: boolean): string {
  return typeof adapter.path === "string" ? adapter.path : adapter.path(provider, upstreamModel, stream);
}

/** The full URL of a path at a provider. */
export function urlOf(type: UpstreamType, provider: ProviderConfig, path: string): string {
  return type.url ? type.url(provider, path) : `${provider.baseUrl}${path}`;
}

/** The customer's body with the routed model, untouched when it already names it. */
export function withModel(ctx: CallContext): string {
  return ctx.sameModel ? ctx.text : JSON.stringify({ ...ctx.body, model: ctx.upstreamModel });
}
