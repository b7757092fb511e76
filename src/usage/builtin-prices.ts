// Built-in list prices, USD per 1M tokens: [input, output, cached input, cache write]. Taken from the providers'
// public pricing pages; the config file ([models."name"]) or a LiteLLM pricing_file overrides them.
export const BUILTIN_PRICES_DATE = "2025-08-15";

type PerMillion = readonly [input: number, output: number, cachedInput?: number, cacheWrite?: number];

export const BUILTIN_PRICES: Record<string, PerMillion> = {
  // OpenAI
  "gpt-5": [1.25, 10, 0.125],
  "gpt-5-mini": [0.25, 2, 0.025],
  "gpt-5-nano": [0.05, 0.4, 0.005],
  "gpt-4.1": [2, 8, 0.5],
  "gpt-4.1-mini": [0.4, 1.6, 0.1],
  "gpt-4.1-nano": [0.1, 0.4, 0.025],
  "gpt-4o": [2.5, 10, 1.25],
  "gpt-4o-mini": [0.15, 0.6, 0.075],
  "gpt-4-turbo": [10, 30],
  "gpt-4": [30, 60],
  "gpt-3.5-turbo": [0.5, 1.5],
  o1: [15, 60, 7.5],
  "o1-mini": [1.1, 4.4, 0.55],
  o3: [2, 8, 0.5],
  "o3-mini": [1.1, 4.4, 0.55],
  "o4-mini": [1.1, 4.4, 0.275],
  // Anthropic (cached = cache read; cache write = 5-minute cache creation)
  "claude-opus-4-1": [15, 75, 1.5, 18.75],
  "claude-opus-4": [15, 75, 1.5, 18.75],
  "claude-sonnet-4-5": [3, 15, 0.3, 3.75],
  "claude-sonnet-4": [3, 15, 0.3, 3.75],
  "claude-haiku-4-5": [1, 5, 0.1, 1.25],
  "claude-3-7-sonnet": [3, 15, 0.3, 3.75],
  "claude-3-5-sonnet": [3, 15, 0.3, 3.75],
  "claude-3-5-haiku": [0.8, 4, 0.08, 1],
  "claude-3-opus": [15, 75, 1.5, 18.75],
  "claude-3-haiku": [0.25, 1.25, 0.03, 0.3],
  // Google (prompts up to 200k tokens)
  "gemini-2.5-pro": [1.25, 10, 0.31],
  "gemini-2.5-flash": [0.3, 2.5, 0.075],
  "gemini-2.5-flash-lite": [0.1, 0.4, 0.025],
  "gemini-2.0-flash": [0.1, 0.4, 0.025],
  "gemini-2.0-flash-lite": [0.075, 0.3],
  "gemini-1.5-pro": [1.25, 5],
  "gemini-1.5-flash": [0.075, 0.3],
  // Mistral
  "mistral-large-latest": [2, 6],
  "mistral-medium-latest": [0.4, 2],
  "mistral-small-latest": [0.1, 0.3],
  "codestral-latest": [0.3, 0.9],
  "open-mistral-nemo": [0.15, 0.15],
  // DeepSeek (cached = cache hit)
  "deepseek-chat": [0.27, 1.1, 0.07],
  "deepseek-reasoner": [0.55, 2.19, 0.14],
};
