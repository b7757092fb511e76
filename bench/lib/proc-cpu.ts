import { readdirSync, readFileSync } from "node:fs";

/** Microseconds per clock tick: /proc reports CPU time in ticks (USER_HZ = 100). */
export const TICK_US = 1e6 / 100;

/** CPU ticks (user + system) per thread name of a process, threads of one name summed. */
export function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(name, (out.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
    } catch {}
  }
  return out;
}

/** CPU ticks of a whole process (every thread). */
export function processTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
