// The upstream types a provider may have (`type = "..."` in the config). Adding one is a file next to
// these and a line here.
import type { ProviderType } from "./provider-config.ts";
import { anthropic } from "./anthropic.ts";
import { azure } from "./azure.ts";
import { bedrock } from "./bedrock.ts";
import { gemini } from "./gemini.ts";
import { openai } from "./openai.ts";
import type { UpstreamType } from "./types.ts";

export const UPSTREAM_TYPES: Record<ProviderType, UpstreamType> = { openai, anthropic, azure, gemini, bedrock };
