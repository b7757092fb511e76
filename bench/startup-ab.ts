// `bun run bench/startup-ab.ts OLD_BINARY NEW_BINARY [STARTS]`: interleaved start-ups of two gateway binaries,
// exec to first healthy `/health` (as `bun run bench` measures it), on one small database in a temp dir;
// prints each side's median and quartiles. Starts alternate so the box's drift falls on both alike; the
// first start of each (the database's creation) is not counted.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startupMs } from "./lib/startup.ts";

const [oldBinary, newBinary, starts = "21"] = process.argv.slice(2);
if (!oldBinary || !newBinary) {
  console.error("usage: bun run bench/startup-ab.ts OLD_BINARY NEW_BINARY [STARTS]");
  process.exit(1);
}
const sides = [resolve(oldBinary), resolve(newBinary)];
const dir = mkdtempSync(join(tmpdir(), "gw-startup-"));
const env = { GATEWAY_ADMIN_TOKEN: "startup-ab-admin-token-0123456789abcdef", OPENAI_API_KEY: "sk-startup-ab" };
const times: number[][] = [[], []];
let port = 19400;
for (let i = 0; i <= Number(starts); i++) {
  for (const [side, binary] of sides.entries()) {
    const ms = await startupMs(binary, dir, env, ++port);
    if (i > 0) times[side]!.push(ms);
  }
}
const at = (s: number[], q: number) => s[Math.min(s.length - 1, Math.floor(s.length * q))]!.toFixed(0);
for (const [side, binary] of sides.entries()) {
  const s = [...times[side]!].sort((a, b) => a - b);
  console.log(`${side === 0 ? "old" : "new"} ${binary}: median ${at(s, 0.5)} ms (p25 ${at(s, 0.25)}, p75 ${at(s, 0.75)}) over ${s.length} starts`);
}
