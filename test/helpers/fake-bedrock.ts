// A real HTTP server speaking AWS Bedrock's Converse API on port 0: /model/{modelId}/converse and
// /converse-stream (AWS's binary event stream, encoded with Smithy's codec). It checks what AWS checks:
// every request's SigV4 signature, recomputed independently (@smithy/signature-v4, the AWS SDK's own
// signer) over exactly the headers the request says it signed; an unknown access key or a wrong
// signature is 403, as AWS answers. It also checks the Converse request's shape.
import { Sha256 } from "@aws-crypto/sha256-js";
import { EventStreamCodec } from "@smithy/core/event-streams";
import { fromUtf8, toUtf8 } from "@smithy/core/serde";
import { SignatureV4 } from "@smithy/signature-v4";
import type { Server } from "bun";
import { receive, type ReceivedRequest } from "./fake-upstream.ts";

export const AWS_REGION = "us-east-1";
export const AWS_KEY = { accessKeyId: "AKIDGATEWAYTEST0001", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYGATEWAYKEY" };
/** 25 uncached input tokens, 100 read from and 50 written to the cache, 12 output. */
export const BEDROCK_USAGE = { inputTokens: 25, outputTokens: 12, totalTokens: 187, cacheReadInputTokens: 100, cacheWriteInputTokens: 50 };
export const BEDROCK_TEXT = ["Hello", " from", " Bedrock", " ✓"];
export const BEDROCK_TOOL_INPUT = { city: "Paris" };
/** A model id containing this answers 429 ThrottlingException; one containing "broken" breaks off mid-stream with an exception. */
export const THROTTLED = "throttled";

export interface FakeBedrock {
  url: string;
  received: ReceivedRequest[];
  stop(): Promise<void>;
}

const awsError = (status: number, type: string, message: string) => Response.json({ message }, { status, headers: { "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` } });

/** Recomputes the request's signature over the headers it names; the 403 AWS would send, or undefined. */
async function refusal(req: Request, url: URL, body: string): Promise<Response | undefined> {
  const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(req.headers.get("authorization") ?? "");
  if (!auth) return awsError(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
  const [, accessKeyId, , region, service, signedHeaders, signature] = auth as unknown as string[];
  if (accessKeyId !== AWS_KEY.accessKeyId) return awsError(403, "UnrecognizedClientException", "The security token included in the request is invalid.");
  const amzDate = req.headers.get("x-amz-date") ?? "";
  const when = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));
  if (!(Math.abs(Date.now() - when) < 5 * 60_000)) return awsError(403, "InvalidSignatureException", "Signature expired or not yet current.");
  const headers: Record<string, string> = {};
  for (const name of signedHeaders!.split(";")) headers[name] = req.headers.get(name) ?? "";
  const signer = new SignatureV4({ service: service!, region: region!, sha256: Sha256, applyChecksum: false, uriEscapePath: true, credentials: { ...AWS_KEY, ...(headers["x-amz-security-token"] ? { sessionToken: headers["x-amz-security-token"] } : {}) } });
  const query: Record<string, string> = Object.fromEntries(url.searchParams);
  const signed = await signer.sign({ method: req.method, protocol: "http:", hostname: url.hostname, port: Number(url.port), path: url.pathname, query, headers, body }, { signingDate: new Date(when) });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
  if (expected !== signature || region !== AWS_REGION || service !== "bedrock") {
    return awsError(403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.");
  }
  return undefined;
}

/** What Converse refuses (a subset: the checks translation can break). */
function problem(body: Record<string, unknown>): string | undefined {
  const messages = body.messages as { role: string; content: Record<string, unknown>[] }[] | undefined;
  if (!Array.isArray(messages) || messages.length === 0) return "A conversation must start with a user message.";
  if (messages[0]!.role !== "user") return "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
  for (const [i, m] of messages.entries()) {
    if (i > 0 && messages[i - 1]!.role === m.role) return "A conversation must alternate between user and assistant roles.";
    if (!Array.isArray(m.content) || m.content.length === 0) return `The content field in the Message object at messages.${i} is empty.`;
    for (const block of m.content) {
      if (Object.keys(block).length !== 1) return "Malformed input request: a content block must have exactly one member";
      if (block.text === "") return `The text field in the ContentBlock object at messages.${i}.content is blank.`;
    }
  }
  for (const k of Object.keys(body)) if (!["messages", "system", "inferenceConfig", "toolConfig", "additionalModelRequestFields", "guardrailConfig"].includes(k)) return `Malformed input request: extraneous key [${k}] is not permitted`;
  return undefined;
}

const wantsTool = (body: Record<string, unknown>) => {
  const messages = body.messages as { content: Record<string, unknown>[] }[];
  return body.toolConfig !== undefined && !messages.at(-1)!.content.some((b) => b.toolResult !== undefined);
};

function answer(body: Record<string, unknown>) {
  const content: Record<string, unknown>[] = [{ text: BEDROCK_TEXT.join("") }];
  if (wantsTool(body)) content.push({ toolUse: { toolUseId: "tooluse_fake1", name: "get_weather", input: BEDROCK_TOOL_INPUT } });
  return { output: { message: { role: "assistant", content } }, stopReason: wantsTool(body) ? "tool_use" : "end_turn", usage: BEDROCK_USAGE, metrics: { latencyMs: 42 } };
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);
const str = (value: string) => ({ type: "string" as const, value });
const frame = (type: string, payload: Record<string, unknown>) =>
  codec.encode({ headers: { ":event-type": str(type), ":content-type": str("application/json"), ":message-type": str("event") }, body: fromUtf8(JSON.stringify({ ...payload, p: "abcdefgh" })) });
const exception = (type: string, message: string) => codec.encode({ headers: { ":exception-type": str(type), ":content-type": str("application/json"), ":message-type": str("exception") }, body: fromUtf8(JSON.stringify({ message })) });

function frames(body: Record<string, unknown>, broken: boolean): Uint8Array[] {
  const out = [frame("messageStart", { role: "assistant" }), ...BEDROCK_TEXT.map((text) => frame("contentBlockDelta", { contentBlockIndex: 0, delta: { text } })), frame("contentBlockStop", { contentBlockIndex: 0 })];
  if (broken) return [...out, exception("modelStreamErrorException", "The model stream broke off.")];
  if (wantsTool(body)) {
    const args = JSON.stringify(BEDROCK_TOOL_INPUT);
    out.push(
      frame("contentBlockStart", { contentBlockIndex: 1, start: { toolUse: { toolUseId: "tooluse_fake2", name: "get_weather" } } }),
      frame("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: args.slice(0, 5) } } }),
      frame("contentBlockDelta", { contentBlockIndex: 1, delta: { toolUse: { input: args.slice(5) } } }),
      frame("contentBlockStop", { contentBlockIndex: 1 }),
    );
  }
  out.push(frame("messageStop", { stopReason: wantsTool(body) ? "tool_use" : "end_turn" }), frame("metadata", { usage: BEDROCK_USAGE, metrics: { latencyMs: 40 } }));
  return out;
}

export function startFakeBedrock(): FakeBedrock {
  const received: ReceivedRequest[] = [];
  const server: Server<undefined> = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const { url, text, json } = await receive(req, received);
      const body = json ?? {};
      const refused = await refusal(req, url, text);
      if (refused) return refused;
      const m = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(url.pathname);
      if (!m || req.method !== "POST") return awsError(404, "UnknownOperationException", "Unknown operation");
      const modelId = decodeURIComponent(m[1]!);
      if (modelId.includes(THROTTLED)) return awsError(429, "ThrottlingException", "Too many requests, please wait before trying again.");
      const wrong = problem(body);
      if (wrong) return awsError(400, "ValidationException", wrong);
      if (m[2] === "converse") return Response.json(answer(body));
      const parts = frames(body, modelId.includes("broken"));
      let i = 0;
      return new Response(
        new ReadableStream({
          pull(c) {
            if (i >= parts.length) return c.close();
            // Frames split across network chunks, as they arrive from AWS.
            const f = parts[i++]!;
            c.enqueue(f.subarray(0, 7));
            c.enqueue(f.subarray(7));
          },
        }),
        { headers: { "content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": crypto.randomUUID() } },
      );
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, received, stop: async () => void (await server.stop(true)) };
}
