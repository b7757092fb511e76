// The client addresses a key may be used from: CIDR blocks, IPv4 and IPv6 (an IPv4 client seen as
// ::ffff:a.b.c.d matches its IPv4 block). The client address is the one the access log shows
// (X-Forwarded-For only with trust_proxy).
import { UserError } from "../errors.ts";

// node:net costs about 20 ms to load: it is loaded the first time a key with an allow-list is read, not
// at every start.
let net: typeof import("node:net") | undefined;
const nodeNet = () => (net ??= require("node:net") as typeof import("node:net"));
const isIP = (address: string) => nodeNet().isIP(address);

export interface IpAllowList {
  /** The blocks as given (normalised), for display. */
  blocks: string[];
  allows(address: string | undefined): boolean;
}

const MAX_BLOCKS = 1000;

/** "10.0.0.0/8,2001:db8::/32" (or an array; a bare address is its own block) as the column's text; throws on anything else. */
export function validateIpList(value: unknown): string {
  const items = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : null;
  if (!items) throw new UserError("allowed IPs must be a list of CIDR blocks such as '10.0.0.0/8,2001:db8::/32'");
  const blocks = items.map((b) => (typeof b === "string" ? b.trim() : "")).filter((b) => b !== "");
  if (blocks.length === 0) throw new UserError("allowed IPs must name at least one CIDR block (use --no-allowed-ips / null to allow every address)");
  if (blocks.length > MAX_BLOCKS) throw new UserError(`allowed IPs may name at most ${MAX_BLOCKS} blocks`);
  return blocks.map(normalise).join(",");
}

function normalise(block: string): string {
  const [address = "", prefix, extra] = block.split("/");
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (family === 0 || extra !== undefined || !(bits >= 0 && bits <= max)) {
    throw new UserError(`invalid CIDR block '${block}': expected an IPv4 or IPv6 address with an optional /prefix, such as 10.0.0.0/8 or 2001:db8::/32`);
  }
  return `${address.toLowerCase()}/${bits}`;
}

const parsed = new Map<string, IpAllowList>();

/** The column's text as a matcher (cached: key rows are read once per change); null for none. */
export function parseIpList(raw: string | null): IpAllowList | null {
  if (raw === null || raw.trim() === "") return null;
  let list = parsed.get(raw);
  if (list) return list;
  const blocks = raw.split(",").map((b) => b.trim()).filter((b) => b !== "");
  const matcher = new (nodeNet().BlockList)();
  for (const b of blocks) {
    const [address, prefix] = b.split("/");
    const family = isIP(address!);
    // A hand-edited row with a bad block allows nothing through it rather than everything.
    if (family !== 0) matcher.addSubnet(address!, prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix), family === 4 ? "ipv4" : "ipv6");
  }
  list = {
    blocks,
    allows(address) {
      if (!address) return false;
      const family = isIP(address);
      if (family === 0) return false;
      return matcher.check(address, family === 4 ? "ipv4" : "ipv6");
    },
  };
  if (parsed.size > 10_000) parsed.clear();
  parsed.set(raw, list);
  return list;
}
