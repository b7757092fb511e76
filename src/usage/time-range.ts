import { ApiError } from "../errors.ts";

export const DAY_MS = 86_400_000;

export interface TimeRange {
  /** Inclusive, ms since epoch. */
  from: number;
  /** Exclusive, ms since epoch. */
  to: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Parses `from`/`to` (ISO dates = UTC midnight, or date-times with a zone); default: the last 30 days up to now. */
export function parseTimeRange(from: string | undefined, to: string | undefined, now = Date.now()): TimeRange {
  const end = to === undefined || to === "" ? now + 1 : parseInstant(to, "to");
  const start = from === undefined || from === "" ? Math.floor(end / DAY_MS) * DAY_MS - 29 * DAY_MS : parseInstant(from, "from");
  if (start >= end) throw new ApiError(400, "'from' must be before 'to' ('to' is exclusive).", "invalid_request_error", "invalid_value", "from");
  return { from: start, to: end };
}

function parseInstant(value: string, param: string): number {
  const ms = DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : DATE_TIME.test(value) ? Date.parse(value) : NaN;
  // Date.parse rolls 2026-02-30 over to March 2nd: insist the calendar date exists.
  const calendarOk = Number.isFinite(ms) && (!DATE.test(value) || new Date(ms).toISOString().startsWith(value)) && validDateTime(value);
  if (!calendarOk) {
    throw new ApiError(
      400,
      `Invalid '${param}': expected an ISO date (2026-01-31) or date-time with zone (2026-01-31T12:00:00Z), got '${value.slice(0, 64)}'.`,
      "invalid_request_error",
      "invalid_value",
      param,
    );
  }
  return ms;
}

function validDateTime(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(value);
  if (!m) return false;
  const [, y, mo, d, h = "0", mi = "0"] = m;
  const probe = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  return probe.getUTCMonth() === Number(mo) - 1 && probe.getUTCDate() === Number(d) && Number(h) < 24 && Number(mi) < 60;
}

export function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
