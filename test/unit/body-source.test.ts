// A body the relay drains after the stream's last event (so its connection can be reused) lets go of
// everything at once when the rest arrives: nothing holds the exchange for the drain's one-second limit
// (at model speed that would be a second of every stream's objects kept alive).
import { expect, test } from "bun:test";
import { PushedBody } from "../../src/upstreams/transport/body-source.ts";

test("a drained body that then ended is collectable at once, not after the drain's timer", async () => {
  let cancelled = 0;
  const refs: WeakRef<object>[] = [];
  (() => {
    const exchange = { buffer: new Uint8Array(1 << 20) }; // what the control's closures would hold
    refs.push(new WeakRef(exchange));
    const body = new PushedBody({ pause() {}, resume() {}, cancel: () => void (cancelled++, exchange) });
    refs.push(new WeakRef(body));
    body.listen({ chunk() {}, batch() {}, end() {} });
    body.push(new TextEncoder().encode("data: [DONE]\n\n"));
    body.drain();
    body.push(new TextEncoder().encode("0\r\n\r\n"));
    body.end();
  })();
  const deadline = Date.now() + 500;
  while (refs.some((r) => r.deref() !== undefined) && Date.now() < deadline) {
    Bun.gc(true);
    await Bun.sleep(10);
  }
  expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true]);
  expect(cancelled).toBe(0); // it ended: nothing to cancel
});

test("a drained body whose rest never comes is cancelled after a second", async () => {
  let cancelled = 0;
  const body = new PushedBody({ pause() {}, resume() {}, cancel: () => void cancelled++ });
  body.listen({ chunk() {}, batch() {}, end() {} });
  body.drain();
  await Bun.sleep(900);
  expect(cancelled).toBe(0);
  const deadline = Date.now() + 1000;
  while (cancelled === 0 && Date.now() < deadline) await Bun.sleep(20);
  expect(cancelled).toBe(1);
});
