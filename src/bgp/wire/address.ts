/**
 * IP addresses and NLRI prefixes between their wire form (octets, RFC 4271 4.3 length+prefix) and the
 * canonical text of src/bgp/types.ts. Hand-written loops rather than `net`/URL parsing because the
 * codec runs this once per prefix in every UPDATE; IPv6 text is src/net/ip.ts's RFC 5952 formatter.
 */
import { formatIpv6Groups } from '../../net/ip.js';
import type { AddressFamily, Prefix } from '../types.js';

/** The text of each octet value, so formatting an address converts no numbers. */
const OCTET_TEXT: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/**
 * The text of the first two octets with their dots (`10.65.`) and of the last two (`1.0`), made
 * once each on first use: an address is then one concatenation of two cached halves instead of
 * seven of octets and dots, each of which allocated an intermediate string. A full table is 500k
 * addresses formatted at least twice (decoding, and the RIB handing routes to the FIB). Kept per
 * first octet, a row of 256 made when that octet is first seen: two flat tables of 65,536 slots
 * were 1 MB of every calico-node's heap at rest, where a table's addresses use a few rows.
 */
const HIGH_HALF_TEXT: (string[] | undefined)[] = new Array<string[] | undefined>(256);
const LOW_HALF_TEXT: (string[] | undefined)[] = new Array<string[] | undefined>(256);

function highHalfText(first: number, second: number): string {
  const row = (HIGH_HALF_TEXT[first] ??= new Array<string>(256));
  return (row[second] ??= OCTET_TEXT[first]! + '.' + OCTET_TEXT[second]! + '.');
}

function lowHalfText(third: number, fourth: number): string {
  const row = (LOW_HALF_TEXT[third] ??= new Array<string>(256));
  return (row[fourth] ??= OCTET_TEXT[third]! + '.' + OCTET_TEXT[fourth]!);
}

/** Dotted-quad text of an unsigned 32-bit value. */
export function ipv4Text(value: number): string {
  const high = Math.floor(value / 65536) & 0xffff;
  return highHalfText(high >>> 8, high & 255) + lowHalfText((value >>> 8) & 255, value & 255);
}

export function readIPv4(buf: Buffer, at: number): string {
  return highHalfText(buf[at]!, buf[at + 1]!) + lowHalfText(buf[at + 2]!, buf[at + 3]!);
}

export function readIPv6(buf: Buffer, at: number): string {
  const groups: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = (buf[at + 2 * i]! << 8) | buf[at + 2 * i + 1]!;
  return formatIpv6Groups(groups);
}

/** Writes the 4 octets of a dotted quad; returns false if the text is not one. */
export function writeIPv4(text: string, out: Buffer, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // a virtual final '.'
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part] = value;
      part++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255 || digits > 3) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

/** Writes the 16 octets of an IPv6 address (with `::` and an optional dotted IPv4 tail). */
export function writeIPv6(text: string, out: Buffer, at: number): boolean {
  const doubleColon = text.indexOf('::');
  if (doubleColon !== text.lastIndexOf('::')) return false;
  const headText = doubleColon >= 0 ? text.slice(0, doubleColon) : text;
  const tailText = doubleColon >= 0 ? text.slice(doubleColon + 2) : '';
  const head = parseGroups(headText);
  const tail = parseGroups(tailText);
  if (head === undefined || tail === undefined) return false;
  const total = head.length + tail.length;
  if (doubleColon >= 0 ? total > 7 : total !== 8) return false;
  out.fill(0, at, at + 16);
  for (let i = 0; i < head.length; i++) out.writeUInt16BE(head[i]!, at + 2 * i);
  for (let i = 0; i < tail.length; i++) out.writeUInt16BE(tail[i]!, at + 16 - 2 * (tail.length - i));
  return true;
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === parts.length - 1 && p.includes('.')) {
      const v4 = Buffer.alloc(4);
      if (!writeIPv4(p, v4, 0)) return undefined;
      groups.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
    groups.push(parseInt(p, 16));
  }
  return groups;
}

export function addressLength(family: AddressFamily): 4 | 16 {
  return family === 'ipv4' ? 4 : 16;
}

/** Octets the prefix takes in an NLRI field: one length octet and the significant address octets. */
export function prefixWireLength(length: number): number {
  return 1 + ((length + 7) >> 3);
}

export type ReadPrefixResult =
  { readonly prefix: Prefix; readonly next: number } | { readonly error: string };

/**
 * Reads one RFC 4271 4.3 / RFC 4760 5 prefix at `at`, not past `end`. Host bits beyond the length are
 * cleared so the text is canonical. Returns an error string rather than throwing: the caller knows
 * which NOTIFICATION (or RFC 7606 action) the field it is reading calls for.
 */
export function readPrefix(buf: Buffer, at: number, end: number, family: AddressFamily): ReadPrefixResult {
  const length = buf[at]!;
  const max = family === 'ipv4' ? 32 : 128;
  if (length > max) return { error: `prefix length ${length} exceeds ${max}` };
  const octets = (length + 7) >> 3;
  if (at + 1 + octets > end) return { error: `prefix /${length} runs past the end of its field` };
  const addr = family === 'ipv4' ? SCRATCH_V4 : SCRATCH_V6;
  addr.fill(0);
  buf.copy(addr, 0, at + 1, at + 1 + octets);
  if (length & 7) addr[octets - 1]! &= (0xff << (8 - (length & 7))) & 0xff;
  const address = family === 'ipv4' ? readIPv4(addr, 0) : readIPv6(addr, 0);
  return { prefix: { family, address, length }, next: at + 1 + octets };
}

const SCRATCH_V4 = Buffer.alloc(4);
const SCRATCH_V6 = Buffer.alloc(16);

/** Writes the prefix in NLRI form at `at`; returns the offset after it. */
export function writePrefix(prefix: Prefix, out: Buffer, at: number): number {
  const scratch = prefix.family === 'ipv4' ? SCRATCH_V4 : SCRATCH_V6;
  const ok =
    prefix.family === 'ipv4' ? writeIPv4(prefix.address, scratch, 0) : writeIPv6(prefix.address, scratch, 0);
  const max = prefix.family === 'ipv4' ? 32 : 128;
  if (!ok || prefix.length < 0 || prefix.length > max || !Number.isInteger(prefix.length)) {
    throw new RangeError(`cannot encode prefix ${prefix.address}/${prefix.length} as ${prefix.family}`);
  }
  const octets = (prefix.length + 7) >> 3;
  out[at] = prefix.length;
  scratch.copy(out, at + 1, 0, octets);
  if (prefix.length & 7) out[at + octets]! &= (0xff << (8 - (prefix.length & 7))) & 0xff;
  return at + 1 + octets;
}

/** Encodes an address of the given family into a fresh buffer; throws RangeError on bad text. */
export function addressBytes(text: string, family: AddressFamily): Buffer {
  const out = Buffer.alloc(addressLength(family));
  const ok = family === 'ipv4' ? writeIPv4(text, out, 0) : writeIPv6(text, out, 0);
  if (!ok) throw new RangeError(`"${text}" is not an ${family} address`);
  return out;
}

export function formatPrefix(p: Prefix): string {
  return `${p.address}/${p.length}`;
}

/** RFC 5952 text for any IPv6 spelling (`2001:0DB8::1` → `2001:db8::1`); undefined if not IPv6. */
export function canonicalIPv6(text: string): string | undefined {
  const b = Buffer.alloc(16);
  return writeIPv6(text, b, 0) ? readIPv6(b, 0) : undefined;
}
