// The provider key in an upstream error body, whole or in part, in any encoding: never passed on.
import { expect, test } from "bun:test";
import { redactSecret } from "../../src/routing/redact.ts";

const KEY = "sk-proj-Abc123Def456Ghi789Jkl012Mno345";

test("the key, a prefix or any 8+ characters of it are replaced; other text stays", () => {
  expect(redactSecret(`Incorrect API key provided: ${KEY}.`, KEY)).toBe("Incorrect API key provided: ***.");
  expect(redactSecret(`Incorrect API key provided: ${KEY.slice(0, 20)}*****`, KEY)).toBe("Incorrect API key provided: ********");
  expect(redactSecret(`key ending ...${KEY.slice(-10)}`, KEY)).toBe("key ending ...***");
  expect(redactSecret("nothing secret here, sk-other-key-entirely", KEY)).toBe("nothing secret here, sk-other-key-entirely");
  expect(redactSecret(`{"error":{"message":"bad key ${KEY}","type":"x"}}`, KEY)).toBe('{"error":{"message":"bad key ***","type":"x"}}');
});

test("base64, base64url (at any alignment inside a longer value) and URL-encoded forms are replaced", () => {
  for (const wrapped of [KEY, `user:${KEY}`, `ab:${KEY}`, `a:${KEY}:z`]) {
    for (const enc of ["base64", "base64url"] as const) {
      const encoded = Buffer.from(wrapped).toString(enc);
      const out = redactSecret(`Authorization: Basic ${encoded}`, KEY);
      expect(out).toContain("***");
      // What is left of the encoded value cannot carry 8 characters of the key.
      expect(Buffer.from(out.replace("Authorization: Basic ", "").replace("***", ""), enc).toString("latin1")).not.toContain(KEY.slice(8, 16));
    }
  }
  const special = "key/with+special=chars&more";
  expect(redactSecret(`?key=${encodeURIComponent(special)}`, special)).toBe("?key=***");
});

test("linear in the body: a 64 KB body of near-misses is redacted in milliseconds", () => {
  const body = (KEY.slice(0, 7) + "!").repeat(8192);
  const t = performance.now();
  expect(redactSecret(body, KEY)).toBe(body);
  expect(performance.now() - t).toBeLessThan(100);
});
