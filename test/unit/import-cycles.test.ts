import { expect, test } from "bun:test";
import { importCycles, importGraph } from "../../bench/import-cycles.ts";

test("no source file imports itself through others (type imports included)", () => {
  const graph = importGraph();
  expect(graph.size).toBeGreaterThan(100);
  expect([...graph.values()].flat().length).toBeGreaterThan(300);
  expect(importCycles(graph)).toEqual([]);
});

test("the cycle finder finds a cycle", () => {
  const graph = new Map([["/a", ["/b"]], ["/b", ["/c"]], ["/c", ["/a"]], ["/d", ["/a"]]]);
  expect(importCycles(graph).map((c) => c.length)).toEqual([3]);
});
