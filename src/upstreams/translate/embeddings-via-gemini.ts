// OpenAI embeddings served by Gemini's batchEmbedContents: one request for any number of inputs, the
// vectors back as OpenAI's list (base64 when the customer asked, as OpenAI's SDKs do by default).
import { invalidRequest } from "../../errors.ts";
import { isObj, type Obj } from "./chat-parts.ts";

/** An embeddings request as a batchEmbedContents request for `model`. */
export function embeddingsToGemini(body: Obj, model: string): Obj {
  const inputs = typeof body.input === "string" ? [body.input] : Array.isArray(body.input) ? body.input : [];
  if (!inputs.every((x) => typeof x === "string")) throw invalidRequest("Token arrays are not supported for this model (its provider embeds text): send strings.", "input", "unsupported_value");
  const dims = typeof body.dimensions === "number" ? { outputDimensionality: body.dimensions } : {};
  return { requests: (inputs as string[]).map((text) => ({ model: `models/${model}`, content: { parts: [{ text }] }, ...dims })) };
}

/** Float32 little-endian bytes in base64: OpenAI's `encoding_format: "base64"`. */
function base64Vector(values: number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString("base64");
}

/** A batchEmbedContents answer as OpenAI's embedding list. Gemini states no token count: the gateway counts the input. */
export function geminiToEmbeddings(answer: Obj, model: string, encoding: unknown): Obj {
  const embeddings = Array.isArray(answer.embeddings) ? answer.embeddings : [];
  const data = embeddings.map((e, index) => {
    const values = isObj(e) && Array.isArray(e.values) ? (e.values as number[]) : [];
    return { object: "embedding", index, embedding: encoding === "base64" ? base64Vector(values) : values };
  });
  const tokens = isObj(answer.usageMetadata) && typeof answer.usageMetadata.promptTokenCount === "number" ? answer.usageMetadata.promptTokenCount : undefined;
  return { object: "list", data, model, ...(tokens === undefined ? {} : { usage: { prompt_tokens: tokens, total_tokens: tokens } }) };
}
