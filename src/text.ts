// Characters that can hide or reorder text on a terminal or page: C0 and C1 controls, DEL, and the
// Unicode format characters (bidi overrides and isolates, zero-width joiners...), plus line/paragraph separators.
const HIDDEN = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
const HIDDEN_ALL = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/** True when `s` holds a character that can hide or reorder text. */
export function hasHiddenCharacters(s: string): boolean {
  return HIDDEN.test(s);
}

/** `s` with every such character shown as an escape (`\u202e`), for tables printed to a terminal. */
export function escapeHidden(s: string): string {
  return s.replace(HIDDEN_ALL, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}
