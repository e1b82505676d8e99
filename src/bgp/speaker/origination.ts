/**
 * What this host tells its peers "is behind me": its affine IPAM blocks, each as one prefix (the
 * aggregate: a /26 instead of 64 host routes, as Calico's BIRD exports its blocks), plus each
 * local workload address that lies outside those blocks — an address borrowed from another host's
 * block when ours were full, which only a host route can steer here (Calico exports these /32s
 * too; the longer prefix wins over the owning host's block route). Pure: blocks and workload
 * addresses in, prefixes out.
 */
import { cidrContainsIp, formatCidr, parseCidr, parseIp, parseIpOrCidr, type Cidr } from '../../net/ip.js';
import type { Prefix } from '../types.js';

function prefixOf(cidr: Cidr): Prefix {
  const [address, length] = formatCidr(cidr).split('/') as [string, string];
  return { family: cidr.family === 4 ? 'ipv4' : 'ipv6', address, length: Number(length) };
}

export function prefixText(p: Prefix): string {
  return `${p.address}/${p.length}`;
}

/**
 * The prefixes to originate: the blocks, then the workload addresses (`10.65.0.7` or
 * `10.65.0.7/32`) no block contains, sorted and without duplicates.
 */
export function originatedPrefixes(blocks: Iterable<string>, workloadAddresses: Iterable<string>): Prefix[] {
  const blockCidrs: Cidr[] = [];
  const out = new Map<string, Prefix>();
  for (const text of blocks) {
    const cidr = parseCidr(text);
    if (cidr === undefined) continue;
    blockCidrs.push(cidr);
    const p = prefixOf(cidr);
    out.set(prefixText(p), p);
  }
  for (const text of workloadAddresses) {
    const cidr = parseIpOrCidr(text);
    if (cidr === undefined) continue;
    const ip = parseIp(formatCidr(cidr).split('/')[0] as string);
    if (ip === undefined) continue;
    if (blockCidrs.some((b) => b.family === ip.family && cidrContainsIp(b, ip))) continue;
    const host: Cidr = { family: ip.family, address: ip.value, prefixLength: ip.family === 4 ? 32 : 128 };
    const p = prefixOf(host);
    out.set(prefixText(p), p);
  }
  return [...out.values()].sort(comparePrefixes);
}

function comparePrefixes(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family < b.family ? -1 : 1;
  const x = parseIp(a.address)?.value ?? 0n;
  const y = parseIp(b.address)?.value ?? 0n;
  if (x !== y) return x < y ? -1 : 1;
  return a.length - b.length;
}

/** What to originate and withdraw to go from `before` to `after`. */
export function diffPrefixes(
  before: readonly Prefix[],
  after: readonly Prefix[],
): { originate: Prefix[]; withdraw: Prefix[] } {
  const had = new Set(before.map(prefixText));
  const has = new Set(after.map(prefixText));
  return {
    originate: after.filter((p) => !had.has(prefixText(p))),
    withdraw: before.filter((p) => !has.has(prefixText(p))),
  };
}
