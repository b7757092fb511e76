// Token counts of customer text that never hold the event loop: every count runs on the tokenizer's own
// thread (token-worker.ts) — loading the tokenizer alone takes 0.5 s or more, and counting ~1 µs per
// character — and beyond EXACT_CHARS each further character counts as one token (no tokenizer gives a
// character more than one: an upper bound, never an undercount).

/** Counted exactly up to this many characters (~0.5 s of the worker's time); the rest by characters. */
const EXACT_CHARS = 512 * 1024;

let worker: Worker | undefined;
let nextId = 1;
const waiting = new Map<number, { resolve: (n: number) => void; bound: number }>();

// In the compiled binary the worker is an entry point of its own (package.json's build script), found by
// its path from the project root; from source, next to this file.
const WORKER_URL = import.meta.url.startsWith("file:///$bunfs/") ? "./src/usage/token-worker.ts" : new URL("./token-worker.ts", import.meta.url).href;

function startWorker(): Worker {
  const w = new Worker(WORKER_URL);
  w.onmessage = (e: MessageEvent<{ id: number; tokens: number }>) => {
    const job = waiting.get(e.data.id);
    waiting.delete(e.data.id);
    job?.resolve(e.data.tokens);
    if (waiting.size === 0) w.unref();
  };
  w.onerror = () => {
    // A worker that failed answers nobody: every waiting count falls back to its upper bound.
    worker = undefined;
    for (const job of waiting.values()) job.resolve(job.bound);
    waiting.clear();
  };
  return w;
}

function viaWorker(texts: string[], bound: number): Promise<number> {
  return new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, { resolve, bound });
    try {
      worker ??= startWorker();
      worker.ref(); // the process waits for an answer it is owed, not for an idle worker
      worker.postMessage({ id, texts });
    } catch {
      waiting.delete(id);
      resolve(bound);
    }
  });
}

/** The tokens of all `texts` (o200k_base, the GPT-4o family encoding), counted without blocking. */
export async function countTextTokens(texts: string[]): Promise<number> {
  let chars = 0;
  for (const t of texts) chars += t.length;
  if (chars === 0) return 0;
  // Past EXACT_CHARS, characters stand for tokens.
  let room = EXACT_CHARS;
  const exact: string[] = [];
  for (const t of texts) {
    if (room <= 0) break;
    exact.push(t.length <= room ? t : t.slice(0, room));
    room -= t.length;
  }
  const rest = Math.max(0, chars - EXACT_CHARS);
  return rest + (await viaWorker(exact, chars - rest));
}
