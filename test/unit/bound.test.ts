// The prompt bound: bytes, plus what bytes do not measure (images, tools, files, stored input).
import { expect, test } from "bun:test";
import { answersOf, chargeAtBound, IMAGE_ALLOWANCE, promptBound, TOOLS_ALLOWANCE } from "../../src/admission/bound.ts";

const text = (body: unknown) => JSON.stringify(body);

test("plain text is its bytes; images, tools and stored input add their allowances", () => {
  const plain = text({ model: "m", messages: [{ role: "user", content: "héllo" }] });
  expect(promptBound(plain, 128_000)).toBe(Buffer.byteLength(plain));
  const image = text({ model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x/y.png" } }] }] });
  expect(promptBound(image, 128_000)).toBe(Buffer.byteLength(image) + IMAGE_ALLOWANCE);
  const anthropicImage = text({ model: "m", messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: "https://x/y.png" } }] }] });
  expect(promptBound(anthropicImage, 128_000)).toBe(Buffer.byteLength(anthropicImage) + IMAGE_ALLOWANCE);
  const tools = text({ model: "m", tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { file_id: { type: "string" } } } } }], messages: [] });
  expect(promptBound(tools, 128_000)).toBe(Buffer.byteLength(tools) + TOOLS_ALLOWANCE);
  expect(promptBound(plain, 128_000, 5_000)).toBe(Buffer.byteLength(plain) + 5_000);
});

test("a file, document or audio part, or a stored prompt, counts as the whole context window", () => {
  for (const part of [{ type: "input_file", file_id: "file-1" }, { type: "file", file: { file_id: "file-1" } }, { type: "document", source: { type: "url", url: "https://x/a.pdf" } }, { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }]) {
    expect(promptBound(text({ model: "m", input: [{ role: "user", content: [part] }] }), 128_000)).toBe(128_000);
  }
  expect(promptBound(text({ model: "m", prompt: { id: "pmpt_1" } }), 200_000, 0, true)).toBe(200_000);
});

test("n answers; usage past the bound is charged at it", () => {
  expect(answersOf({ n: 20 })).toBe(20);
  expect(answersOf({ n: "20" })).toBe(1);
  expect(answersOf({})).toBe(1);
  expect(chargeAtBound(1_000_000_005, 1_000_000_000_000, { tokens: 105, costNanoUsd: 110_000 })).toEqual({ costNanoUsd: 110_000, tokens: 105, overBound: true });
  expect(chargeAtBound(100, 90_000, { tokens: 105, costNanoUsd: 110_000 })).toEqual({ costNanoUsd: 90_000, tokens: 100, overBound: false });
  expect(chargeAtBound(100, null, { tokens: 50, costNanoUsd: 0 })).toEqual({ costNanoUsd: null, tokens: 50, overBound: true });
  expect(chargeAtBound(100, 5, null)).toEqual({ costNanoUsd: 5, tokens: 100, overBound: false });
});
