// One-time key hand-over: instead of printing a key, the admin gets a link to give the customer. The
// link's token is stored only as a hash; the key waits encrypted under a key derived from the token (the
// database alone cannot reveal it) and is erased once it has been shown. Opening the link shows a page;
// revealing the key is a POST, so a chat app that fetches links for a preview cannot use it up.

// node:crypto (with Node's streams) costs about 6 ms to load: loaded for the first hand-over, not at every start.
const nodeCrypto = () => require("node:crypto") as typeof import("node:crypto");
const sha256 = (s: string) => new Bun.CryptoHasher("sha256").update(s);

/** A hand-over as stored: what opens it (the token's hash) and the key it shows, encrypted. */
export interface KeyShare {
  tokenHash: string;
  keyId: string;
  /** iv (12 bytes) + ciphertext + tag (16 bytes), base64; null once claimed. */
  sealed: string | null;
  createdAt: number;
  expiresAt: number;
  claimedAt: number | null;
  /** The client address that claimed it. */
  claimedFrom: string | null;
}

export const hashToken = (token: string) => sha256(token).digest("hex");
const keyOf = (token: string) => sha256(`gateway key share\u0000${token}`).digest();

/** A new hand-over of `plainKey`: the token for the link, and the row to store. */
export function sealShare(plainKey: string, keyId: string, ttlMs: number, now: number): { token: string; share: KeyShare } {
  const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const cipher = nodeCrypto().createCipheriv("aes-256-gcm", keyOf(token), iv);
  const sealed = Buffer.concat([iv, cipher.update(plainKey, "utf8"), cipher.final(), cipher.getAuthTag()]).toString("base64");
  return { token, share: { tokenHash: hashToken(token), keyId, sealed, createdAt: now, expiresAt: now + ttlMs, claimedAt: null, claimedFrom: null } };
}

/** The key a hand-over holds, with the link's token. */
export function openShare(token: string, sealed: string): string {
  const bytes = Buffer.from(sealed, "base64");
  const decipher = nodeCrypto().createDecipheriv("aes-256-gcm", keyOf(token), bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString("utf8");
}

/** What a claim found: the key's share (claimed now), or why not. */
export type Claim = { ok: true; share: KeyShare } | { ok: false; reason: "unknown" | "claimed" | "expired" };

/** Where hand-overs are kept; each dialect implements it. */
export interface ShareStore {
  insertShare(share: KeyShare): Promise<void>;
  /** Where a share stands, without claiming it (the page's GET). */
  shareState(tokenHash: string, now: number): Promise<"open" | "unknown" | "claimed" | "expired">;
  /** Marks the share claimed (once: a second claim finds it claimed) and erases its sealed key; returns it as it was. */
  claimShare(tokenHash: string, now: number, from: string | null): Promise<Claim>;
}
