import { globToRegExp } from "../glob.ts";

/** The allow-list column (comma-separated globs; a JSON array is accepted too) as patterns; null for none. */
export function parseModelList(raw: string | null): string[] | null {
  if (raw === null) return null;
  let items: unknown = null;
  if (raw.trim().startsWith("[")) {
    try {
      items = JSON.parse(raw);
    } catch {}
  }
  const list = Array.isArray(items) ? items.map(String) : raw.split(",");
  const patterns = list.map((p) => p.trim()).filter((p) => p !== "");
  // An emptied column means no list (every model), as --all-models would set it.
  return patterns.length === 0 ? null : patterns;
}

const compiled = new Map<string, RegExp>();

/** True when `model` matches one of the patterns, exactly and case-sensitively. */
export function modelAllowed(patterns: string[], model: string): boolean {
  for (const p of patterns) {
    let re = compiled.get(p);
    if (!re) {
      if (compiled.size > 10_000) compiled.clear();
      compiled.set(p, (re = globToRegExp(p)));
    }
    if (re.test(model)) return true;
  }
  return false;
}
