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
  /** Under the provider's base URL. */
  path: string;
  body(ctx: CallContext): string;
  /** The upstream's JSON answer in the customer's API. */
  answer?(payload: Record<string, unknown>): Record<string, unknown>;
  /** The upstream's event stream in the customer's API. */
  events?(upstream: ReadableStream<Uint8Array>, context?: StreamContext): ReadableStream<Uint8Array>;
  /** The translated stream's first event states the prompt's tokens (Anthropic's message_start): count them alongside the request. */
  countsPrompt?: boolean;
  /** Messages only: where the upstream counts tokens (absent: the gateway counts them). */
  countPath?: string;
}

/** What a translated stream knows before its first event. */
export interface StreamContext {
  /** The prompt's tokens by the gateway's tokenizer (the upstream reports its own only at the end). */
  promptTokens?: number;
}

export interface UpstreamType {
  /** The operator's key (and API version) as this API expects them; nothing of the customer's. */
  headers(provider: ProviderConfig, customerHeaders?: Headers): Record<string, string>;
  /** The shape of its error bodies. */
  errorShape: ErrorShape;
  /** Its model list's entries: id and creation time (seconds). */
  modelEntry(raw: Record<string, unknown>): { id: string; created: number } | undefined;
  /** The inbound APIs it serves, natively or translated. */
  adapters: Partial<Record<Endpoint, Adapter>>;
}

/** The customer's body with the routed model, untouched when it already names it. */
export function withModel(ctx: CallContext): string {
  return ctx.sameModel ? ctx.text : JSON.stringify({ ...ctx.body, model: ctx.upstreamModel });
}
