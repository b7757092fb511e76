// The tokenizer's thread: counts customer text off the event loop (see token-count.ts).
import { countTokens } from "gpt-tokenizer";
import { countInPieces } from "./token-pieces.ts";

declare const self: Worker;

self.onmessage = (event: MessageEvent<{ id: number; texts: string[] }>) => {
  const { id, texts } = event.data;
  let tokens = 0;
  for (const text of texts) tokens += countInPieces(text, countTokens);
  self.postMessage({ id, tokens });
};
