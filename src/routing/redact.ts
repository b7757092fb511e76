// The operator's provider key must never reach a customer, whole or in part: an upstream error that
// echoes it (or 8+ characters of it, or it in base64, base64url or URL-encoded) has those parts replaced.
const WINDOW = 8;

const windowsCache = new Map<string, Set<string>>();

/** Every WINDOW-character piece of the secret in each form an error body could carry it in. */
function windowsOf(secret: string): Set<string> {
  let set = windowsCache.get(secret);
  if (set) return set;
  const forms = [secret, encodeURIComponent(secret)];
  // base64 of the secret at each alignment it can have inside a longer encoded value ("user:key").
  for (let pad = 0; pad < 3; pad++) {
    for (const enc of ["base64", "base64url"] as const) {
      const encoded = Buffer.from("x".repeat(pad) + secret).toString(enc).replace(/=+$/, "");
      forms.push(encoded.slice(pad === 0 ? 0 : 4, encoded.length - 3));
    }
  }
  set = new Set();
  for (const f of forms) for (let i = 0; i + WINDOW <= f.length; i++) set.add(f.slice(i, i + WINDOW));
  windowsCache.set(secret, set);
  return set;
}

/** `text` with every run made of pieces of `secret` (in any of its forms) replaced by `***`. */
export function redactSecret(text: string, secret: string | undefined): string {
  if (!secret || secret.length < WINDOW || text.length < WINDOW) return text;
  const windows = windowsOf(secret);
  let out = "";
  let last = 0;
  let i = 0;
  while (i + WINDOW <= text.length) {
    if (!windows.has(text.slice(i, i + WINDOW))) {
      i++;
      continue;
    }
    // Extend the run while consecutive windows are pieces of the secret.
    let end = i + WINDOW;
    while (end < text.length && windows.has(text.slice(end - WINDOW + 1, end + 1))) end++;
    out += text.slice(last, i) + "***";
    last = i = end;
  }
  return out + text.slice(last);
}
