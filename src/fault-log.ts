// A background job that keeps failing the same way (every 250 ms during a storage fault) logs one line
// when it starts failing or its error changes, and one when it works again with how often it failed.

export interface FaultLog {
  /** The job failed with this message. */
  failed(message: string): void;
  /** The job worked. */
  ok(): void;
}

export function createFaultLog(what: string, log: (line: string) => void): FaultLog {
  let current: string | null = null;
  let times = 0;
  return {
    failed(message) {
      if (message === current) {
        times++;
        return;
      }
      current = message;
      times = 1;
      log(`[gateway] ${what} failed (logged once until it changes or recovers): ${message}`);
    },
    ok() {
      if (current === null) return;
      log(`[gateway] ${what} works again after failing ${times} time${times === 1 ? "" : "s"} (${current})`);
      current = null;
      times = 0;
    },
  };
}
