// Nothing unauthenticated is read beyond its headers; slow and idle clients are bounded.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { startFakeUpstream } from "../helpers/fake-upstream.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

setDefaultTimeout(90_000);

const ADMIN = "admin-token-slow-clients-0123456789";
const upstream = startFakeUpstream();
let gw: TestGateway;
let key: string;
beforeAll(async () => {
  gw = await startGateway({
    mode: "binary",
    upstreamUrl: upstream.url,
    env: { GATEWAY_ADMIN_TOKEN: ADMIN, GATEWAY_IDLE_TIMEOUT_MS: "2000", GATEWAY_BODY_TIMEOUT_MS: "2000" },
  });
  key = (await gw.createKey("slow-clients")).key;
});
afterAll(async () => {
  await gw.stop();
  await upstream.stop();
});

const port = () => Number(new URL(gw.url).port);
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(require("node:fs").readFileSync(`/proc/${gw.pid}/status`, "utf8"))?.[1]) / 1024;

/** Opens a socket, writes `head` (and then `body` slowly or not at all), and resolves with what came back once it closes. */
function openSocket(head: string): { socket: Socket; response: Promise<string>; closed: () => boolean } {
  let out = "";
  let isClosed = false;
  const socket = connect(port(), "127.0.0.1", () => socket.write(head));
  socket.on("data", (d) => (out += d.toString("latin1")));
  socket.on("error", () => {});
  const response = new Promise<string>((resolve) =>
    socket.on("close", () => {
      isClosed = true;
      resolve(out);
    }),
  );
  return { socket, response, closed: () => isClosed };
}

async function timedChat(): Promise<{ ms: number; status: number }> {
  const t0 = performance.now();
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
  });
  await res.text();
  return { ms: performance.now() - t0, status: res.status };
}

describe("unauthenticated bodies", () => {
  test("18 MB admin bodies without a token are refused from their headers: 401 at once, memory flat, customers unaffected", async () => {
    const before = rssMb();
    const big = Buffer.alloc(18 * 1024 * 1024, "a");
    const senders = Array.from({ length: 4 }, () => {
      const s = openSocket(`POST /admin/keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n`);
      s.socket.on("connect", () => s.socket.write(big));
      return s.response;
    });
    const customer = await timedChat();
    const answers = await Promise.all(senders);
    for (const a of answers) {
      expect(a).toStartWith("HTTP/1.1 401");
      expect(a).toContain('"code":"invalid_admin_token"');
      expect(a.toLowerCase()).toContain("x-request-id: req_");
    }
    expect(customer.status).toBe(200);
    expect(rssMb() - before).toBeLessThan(60);
    expect(rssMb()).toBeLessThan(150);
  });

  test("with a valid token, admin bodies over 64 KB get 413 unread; chunked admin bodies are refused", async () => {
    const over = openSocket(`POST /admin/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Length: 70000\r\n\r\n{"name":`);
    const answer = await over.response;
    expect(answer).toStartWith("HTTP/1.1 413");
    expect(answer).toContain('"code":"request_too_large"');
    const chunked = openSocket(`POST /admin/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n`);
    expect(await chunked.response).toStartWith("HTTP/1.1 411");
  });

  test("a 30 MB customer body with Content-Length gets the OpenAI-shaped 413 with a request id, before it is sent", async () => {
    const s = openSocket(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Length: ${30 * 1024 * 1024}\r\n\r\n{"model":`);
    const answer = await s.response;
    expect(answer).toStartWith("HTTP/1.1 413");
    expect(answer.toLowerCase()).toContain("x-request-id: req_");
    const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { error: { code: string; type: string } };
    expect(body.error).toMatchObject({ code: "request_too_large", type: "invalid_request_error" });
  });
});

describe("slow and idle clients", () => {
  test("1,000 idle and slow sockets: a normal client is still served at once, and the sockets are closed after the timeout", async () => {
    const sockets: ReturnType<typeof openSocket>[] = [];
    for (let i = 0; i < 500; i++) {
      // Idle: one request answered, then nothing (keep-alive).
      sockets.push(openSocket("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
      // Slow: a valid key and a body sent a byte at a time.
      const slow = openSocket(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Length: 1000\r\n\r\n{`);
      const drip = setInterval(() => (slow.closed() ? clearInterval(drip) : slow.socket.write(" ")), 200);
      sockets.push(slow);
    }
    await Bun.sleep(500);
    expect(sockets.filter((s) => s.closed()).length).toBe(0);
    const served = await timedChat();
    expect(served.status).toBe(200);
    expect(served.ms).toBeLessThan(500);
    const t0 = Date.now();
    await Promise.race([Promise.all(sockets.map((s) => s.response)), Bun.sleep(15_000)]);
    const open = sockets.filter((s) => !s.closed()).length;
    for (const s of sockets) s.socket.destroy();
    expect(open).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    // The slow bodies were answered 408 (or cut) and none reached the upstream.
    const slowAnswers = await Promise.all(sockets.filter((_, i) => i % 2 === 1).map((s) => s.response));
    expect(slowAnswers.some((a) => a.includes("200 OK"))).toBe(false);
    expect((await timedChat()).status).toBe(200);
  });

  test("a client that aborts its upload leaves no error-level log line", async () => {
    for (let i = 0; i < 20; i++) {
      const s = openSocket(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Length: 5000\r\n\r\n{"model":"gpt-4o-mini",`);
      await Bun.sleep(20);
      s.socket.destroy();
    }
    await Bun.sleep(300);
    expect(gw.logs()).not.toContain("internal error");
  });
});
