import type { Database } from "bun:sqlite";
import { existsSync } from "node:fs";

// The WAL-index header (the first 48 bytes of the `-shm` file, https://www.sqlite.org/walformat.html)
// changes with every commit of every connection: its iChange counter, mxFrame and checksums.
const HEADER_WORDS = 12;

/**
 * Says, for the price of reading 48 bytes of shared memory, whether any connection may have committed
 * since the last call: true when the WAL-index header moved (or cannot be read), false when it is
 * exactly as last seen — then nothing was committed since. Lets a per-request `PRAGMA data_version`
 * (a read transaction, 2–15 µs) run only after a commit.
 *
 * The mapping is only read while `sqlite` is open: SQLite truncates a `-shm` file only when its first
 * connection opens it, never while another holds it open.
 */
export function createCommitWatch(sqlite: Database): { moved(): boolean; forget(): void } {
  let header: Uint32Array | null | undefined;
  const seen = new Uint32Array(HEADER_WORDS);

  function map(): Uint32Array | null {
    const path = `${sqlite.filename}-shm`;
    if (!sqlite.filename || sqlite.filename === ":memory:" || !existsSync(path)) return null;
    try {
      const bytes = Bun.mmap(path, { shared: true, size: HEADER_WORDS * 4 });
      return bytes.length >= HEADER_WORDS * 4 ? new Uint32Array(bytes.buffer, bytes.byteOffset, HEADER_WORDS) : null;
    } catch {
      return null;
    }
  }

  return {
    moved(): boolean {
      if (header === undefined) header = map();
      if (header === null) return true;
      let same = true;
      for (let i = 0; i < HEADER_WORDS; i++) {
        if (header[i] !== seen[i]) {
          same = false;
          seen[i] = header[i]!;
        }
      }
      return !same;
    },
    /** The caller could not act on the last `true`: the next call says true again. */
    forget(): void {
      seen[2] = ~seen[2]!;
    },
  };
}
