// A usage writer's thread that dies at its first write (an uncaught error, as a bug would), once: the file
// `<database>.died` says it already did, and then it is the real writer.
import { existsSync, writeFileSync } from "node:fs";
import "../../src/store/sqlite/writer-thread.ts";

declare const self: Worker;
const real = self.onmessage!;
let marker = "";

self.onmessage = (e: MessageEvent<{ t: string; path?: string }>) => {
  if (e.data.t === "open") marker = `${e.data.path}.died`;
  if (e.data.t !== "write" || existsSync(marker)) return real.call(self, e);
  writeFileSync(marker, "died");
  throw new Error("the writer's thread dies here");
};
