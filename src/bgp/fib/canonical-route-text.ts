/**
 * Prefixes and next hops as the FIB keys them: canonical text, so the desired state, the cache of
 * what the kernel has and a kernel listing compare as plain strings.
 *
 * Why not just `canonicalCidr` from src/net: it goes through bigint, ~1.5 us a prefix, and a full
 * table is 500k prefixes plus as many next-hop lists on every pass. IPv4 text that is already
 * canonical (what the RIB and the kernel print) is recognised with integer arithmetic; anything
 * else takes the general path. Next hops repeat (a table has few distinct ones), so they are cached.
 */
import { canonicalCidr, canonicalIp } from '../../net/ip.js';
import { formatPrefixKey, ipv4PrefixKey, type PrefixKey } from '../rib/index.js';

export type FibFamily = 4 | 6;

export function familyOfPrefix(prefix: string): FibFamily {
  return prefix.includes(':') ? 6 : 4;
}

/** Parses `a.b.c.d` from `start` to `end` when it is canonical dotted-quad text, else -1. */
function canonicalIpv4Value(text: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (i < end) {
    const first = i;
    let octet = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const digits = i - first;
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && text.charCodeAt(first) === 48)) return -1;
    value = value * 256 + octet;
    octets++;
    if (i === end) break;
    if (text.charCodeAt(i) !== 46 || octets === 4) return -1;
    i++;
  }
  return octets === 4 && i === end ? value : -1;
}

/**
 * The RIB's packed key (src/bgp/rib/prefix-key.ts) of `a.b.c.d/len` when the text is already in
 * canonical form (no leading zeros, host bits clear), else -1.
 */
function canonicalIpv4PrefixKey(text: string): number {
  const slash = text.indexOf('/');
  const digits = text.length - slash - 1;
  if (slash < 0 || digits < 1 || digits > 2) return -1;
  const d0 = text.charCodeAt(slash + 1) - 48;
  const d1 = digits === 2 ? text.charCodeAt(slash + 2) - 48 : 0;
  if (d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || (digits === 2 && d0 === 0)) return -1;
  const length = digits === 2 ? d0 * 10 + d1 : d0;
  if (length > 32) return -1;
  const value = canonicalIpv4Value(text, 0, slash);
  if (value < 0) return -1;
  const hostBits = length === 32 ? 0 : 2 ** (32 - length);
  return hostBits === 0 || value % hostBits === 0 ? ipv4PrefixKey(value, length) : -1;
}

/** `10.0.0.1` → `10.0.0.1/32`; `fd00:0::/64` → `fd00::/64`; canonical IPv4 returned as is. */
export function canonicalPrefix(dst: string): string {
  if (canonicalIpv4PrefixKey(dst) >= 0) return dst;
  const withLength = dst.includes('/') ? dst : `${dst}/${dst.includes(':') ? 128 : 32}`;
  return canonicalCidr(withLength) ?? withLength;
}

/**
 * A prefix as the FIB files it: the RIB's packed number for IPv4 (no string and no object per
 * prefix kept for a full table: a small integer sits in the map slot itself), canonical text for
 * IPv6 (few routes). `fibPrefixText` turns it back into text for a writer or a listing.
 */
export type FibPrefixKey = PrefixKey;

export function fibPrefixKey(dst: string): FibPrefixKey {
  const fast = canonicalIpv4PrefixKey(dst);
  if (fast >= 0) return fast;
  const canonical = canonicalPrefix(dst);
  if (familyOfPrefix(canonical) === 6) return canonical;
  const key = canonicalIpv4PrefixKey(canonical);
  return key >= 0 ? key : canonical; // not an address at all: kept as text, the writer refuses it
}

export const fibPrefixText: (key: FibPrefixKey) => string = formatPrefixKey;

export function familyOfKey(key: FibPrefixKey): FibFamily {
  return typeof key === 'number' ? 4 : familyOfPrefix(key);
}

const nextHopCache = new Map<string, string>();
const NEXT_HOP_CACHE_LIMIT = 4096;

function canonicalNextHop(hop: string): string {
  let canonical = nextHopCache.get(hop);
  if (canonical === undefined) {
    canonical = canonicalIp(hop) ?? hop;
    if (nextHopCache.size >= NEXT_HOP_CACHE_LIMIT) nextHopCache.clear();
    nextHopCache.set(hop, canonical);
  }
  return canonical;
}

/**
 * One shared, frozen list per distinct set of next hops: nearly every route of a table has the
 * same one (or the same few, with ECMP), so 500k routes hold a handful of lists, not 500k.
 */
const sharedLists = new Map<string, readonly string[]>();

/** Canonical, de-duplicated, sorted next-hop addresses (a shared, frozen list). */
export function normalizeNextHops(hops: Iterable<string>): readonly string[] {
  // The common case, one next hop, looks its shared list up without building one.
  if (Array.isArray(hops) && hops.length === 1) {
    const shared = sharedLists.get(canonicalNextHop(hops[0] as string));
    if (shared !== undefined) return shared;
  }
  const out: string[] = [];
  for (const hop of hops) {
    const canonical = canonicalNextHop(hop);
    if (!out.includes(canonical)) out.push(canonical);
  }
  if (out.length === 0) return out;
  const text = out.length === 1 ? (out[0] as string) : out.sort().join(' ');
  let shared = sharedLists.get(text);
  if (shared === undefined) {
    shared = Object.freeze(out);
    if (sharedLists.size >= NEXT_HOP_CACHE_LIMIT) sharedLists.clear();
    sharedLists.set(text, shared);
  }
  return shared;
}
