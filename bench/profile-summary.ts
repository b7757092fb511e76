// `bun run bench/profile-summary.ts FILE.cpuprofile [N]`: the N functions with the most samples, counted
// inclusively (a sample counts for every function on its stack) and by self. Samples, not the profile's
// time deltas: on a saturated box the sampler thread is delayed and one late sample carries a long delta.
const [file, n = "50"] = process.argv.slice(2);
if (!file) {
  console.error("usage: bun run bench/profile-summary.ts FILE.cpuprofile [N]");
  process.exit(1);
}
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const profile = (await Bun.file(file).json()) as { nodes: Node[]; samples: number[] };
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const label = ({ callFrame: f }: Node) => `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(src|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;

const inclusive = new Map<string, number>();
const self = new Map<string, number>();
for (const id of profile.samples) {
  const leaf = label(byId.get(id)!);
  self.set(leaf, (self.get(leaf) ?? 0) + 1);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const name = label(byId.get(at)!);
    if (!seen.has(name)) inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
    seen.add(name);
  }
}
const total = profile.samples.length;
const pct = (count = 0) => `${((100 * count) / total).toFixed(1)}%`.padStart(6);
console.log(`${total} samples   inclusive   self   function`);
for (const [name, count] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) console.log(`           ${pct(count)}  ${pct(self.get(name))}   ${name}`);
export {};
