/**
 * IP and CIDR arithmetic for both families, on bigint so IPv4 and IPv6 share one code path.
 * Text in, canonical text out: `parseIp('010.1.1.1')` is rejected (no octal surprises, as Go's
 * net.ParseIP), IPv6 is printed in RFC 5952 form (lowercase, longest zero run compressed).
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
}

export interface Cidr {
  readonly family: IpFamily;
  /** The network address (host bits zero when normalized, as given otherwise). */
  readonly address: bigint;
  readonly prefixLength: number;
}

export function familyBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

/** Parses an address; returns undefined for anything that is not a plain IPv4 or IPv6 address. */
export function parseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) {
    let value = 0n;
    for (const part of text.split('.')) {
      if (part.length > 1 && part.startsWith('0')) return undefined;
      value = (value << 8n) | BigInt(Number(part));
    }
    return { family: 4, value };
  }
  if (isIPv6(text) && !text.includes('%')) return { family: 6, value: parseIpv6(text) };
  return undefined;
}

function parseIpv6(text: string): bigint {
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  const maybeV4 = text.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    const v4 = parseIp(maybeV4);
    tailV4 = v4?.value ?? 0n;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const leftGroups = left ? left.split(':') : [];
  const rightGroups = right ? right.split(':') : [];
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [
    ...leftGroups,
    ...Array<string>(right === undefined ? 0 : missing).fill('0'),
    ...rightGroups,
  ];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

export function formatIp(ip: IpAddress): string {
  return ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.value);
}

function formatIpv4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
}

function formatIpv6(v: bigint): string {
  const groups: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = Number((v >> BigInt((7 - i) * 16)) & 0xffffn);
  return formatIpv6Groups(groups);
}

/**
 * RFC 5952 text of an IPv6 address given as its eight 16-bit groups: lowercase, no leading zeros,
 * the longest run of two or more zero groups as `::` (the first one on a tie). The BGP codec calls
 * it once per IPv6 prefix it decodes, so it stays a plain loop over numbers.
 */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.map((g) => g.toString(16)).join(':');
  const head = groups.slice(0, bestStart).map((g) => g.toString(16));
  const tail = groups.slice(bestStart + bestLen).map((g) => g.toString(16));
  return `${head.join(':')}::${tail.join(':')}`;
}

/** Canonical text of an address, or undefined if it is not one. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? formatIp(ip) : undefined;
}

/** Parses `addr/len`; a bare address is rejected here (see parseIpOrCidr). Host bits are kept. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  if (prefixLength > familyBits(ip.family)) return undefined;
  return { family: ip.family, address: ip.value, prefixLength };
}

/** An address or a CIDR; a bare address becomes a host route (/32 or /128). */
export function parseIpOrCidr(text: string): Cidr | undefined {
  if (text.includes('/')) return parseCidr(text);
  const ip = parseIp(text);
  return ip ? { family: ip.family, address: ip.value, prefixLength: familyBits(ip.family) } : undefined;
}

export function hostMask(family: IpFamily, prefixLength: number): bigint {
  return (1n << BigInt(familyBits(family) - prefixLength)) - 1n;
}

/** The same prefix with host bits cleared. */
export function normalizeCidr(c: Cidr): Cidr {
  return { ...c, address: c.address & ~hostMask(c.family, c.prefixLength) };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.address })}/${c.prefixLength}`;
}

/** Canonical `network/len` text (host bits cleared), or undefined if the text is not a CIDR. */
export function canonicalCidr(text: string): string | undefined {
  const c = parseIpOrCidr(text);
  return c ? formatCidr(normalizeCidr(c)) : undefined;
}

export function cidrContainsIp(c: Cidr, ip: IpAddress): boolean {
  if (c.family !== ip.family) return false;
  const mask = ~hostMask(c.family, c.prefixLength);
  return (c.address & mask) === (ip.value & mask);
}

/** True when `inner` lies entirely within `outer`. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    inner.prefixLength >= outer.prefixLength &&
    cidrContainsIp(outer, { family: inner.family, value: inner.address })
  );
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
}

/** Number of addresses in the prefix. */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(familyBits(c.family) - c.prefixLength);
}

const MAC_RE = /^([0-9a-fA-F]{2})([:-][0-9a-fA-F]{2}){5}$/;

export function isMac(text: string): boolean {
  return MAC_RE.test(text);
}
