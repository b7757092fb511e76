/** Runs `work` now and then every `intervalMs` in the background, never twice at once. */
export function repeat(work: () => Promise<void>, intervalMs: number): { stop(): void } {
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await work();
    } finally {
      running = false;
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  void tick();
  return { stop: () => clearInterval(timer) };
}
