// Preloaded by bunfig.toml: removes every temp dir the run created once all test files have run
// (bun test emits neither 'exit' nor 'beforeExit', so a process hook would never fire).
import { afterAll } from "bun:test";
import { removeTempDirs } from "./tmp.ts";

afterAll(removeTempDirs);
