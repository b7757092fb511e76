import { ApiError } from "../errors.ts";

/** Why usage cannot be recorded right now; each source sets and clears its own reason. */
export type StorageFaultSource = "writer" | "file";

export type StorageState = { ok: true } | { ok: false; reason: string };

export interface StorageHealthOptions {
  log?: (line: string) => void;
}

/**
 * Whether the gateway can record usage. While it cannot, requests are refused before they reach an
 * upstream (an answer whose row cannot be written would be unbillable spend). Logs once per change
 * of state, never once per request.
 */
export function createStorageHealth({ log = console.error }: StorageHealthOptions = {}) {
  const reasons = new Map<StorageFaultSource, string>();
  let current: StorageState = { ok: true };

  function summarize(): StorageState {
    if (reasons.size === 0) return { ok: true };
    return { ok: false, reason: [...reasons.values()].join("; ") };
  }

  return {
    state: (): StorageState => current,
    /** Records a fault (a reason) or its end (null) for one source. */
    set(source: StorageFaultSource, reason: string | null): void {
      if (reason === null ? !reasons.has(source) : reasons.get(source) === reason) return;
      if (reason === null) reasons.delete(source);
      else reasons.set(source, reason);
      const next = summarize();
      if (next.ok === current.ok && (next.ok || (current as { reason: string }).reason === next.reason)) return;
      current = next;
      log(next.ok ? "[gateway] usage recording recovered; accepting requests again" : `[gateway] usage cannot be recorded (${next.reason}); answering 503 until it recovers`);
    },
    /** Throws the 503 a customer gets instead of a request that could not be billed. */
    assertWritable(): void {
      if (!current.ok) throw usageNotRecorded(current.reason, false);
    },
  };
}

export type StorageHealth = ReturnType<typeof createStorageHealth>;

/** The 503 for a request whose usage row cannot be committed (`forwarded`: the upstream already answered). */
export function usageNotRecorded(reason: string, forwarded: boolean): ApiError {
  const what = forwarded ? "The answer is withheld because its usage could not be recorded" : "The request was not forwarded because usage cannot be recorded right now";
  return new ApiError(503, `${what} (${reason}). Retry later.`, "server_error", "usage_not_recorded", null, { "retry-after": "5" });
}
