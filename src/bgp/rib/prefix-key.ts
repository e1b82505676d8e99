/**
 * A prefix as one compact map key, because the RIB holds one entry per prefix per peer and a
 * full table is half a million prefixes: keeping the codec's `{family, address, length}` objects
 * (plus the address string) alive would cost ~80 bytes each for nothing.
 *
 * IPv4 `a.b.c.d/len` becomes the number `2^len + (address >>> (32 - len))`: the leading one bit
 * marks the length, so every (address, length) pair has its own key, and for lengths up to /30 the
 * key is a small integer V8 stores inline in a Map. IPv6 keys are the canonical `addr/len` text.
 * src/net/ip.ts works on bigint; this is the hot path (twice per received prefix), so it has its
 * own loops over char codes.
 */
import type { AddressFamily, Prefix } from '../types.js';
import { ipv4Text } from '../wire/address.js';

export type PrefixKey = number | string;

const TWO_POW_32 = 4294967296;

/** Parses dotted-quad text to an unsigned 32-bit integer; NaN when it is not one. */
export function parseIPv4(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return NaN;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      if (octet > 255) return NaN;
      digits++;
    } else {
      return NaN;
    }
  }
  if (digits === 0 || dots !== 3) return NaN;
  return value * 256 + octet;
}

export const formatIPv4 = ipv4Text;

/**
 * The key of a prefix. Host bits are cleared (the codec already gives canonical prefixes; this
 * makes the key canonical even when it did not). Throws on text that is not an address of the
 * prefix's family, naming the prefix, because a bad key would silently file routes under NaN.
 */
export function prefixKey(prefix: Prefix): PrefixKey {
  const { length } = prefix;
  if (prefix.family === 'ipv6') return `${prefix.address}/${length}`;
  const address = parseIPv4(prefix.address);
  if (Number.isNaN(address) || !(length >= 0 && length <= 32) || !Number.isInteger(length)) {
    throw new Error(
      `RIB: prefix ${prefix.address}/${length} is not an IPv4 prefix; the codec must give dotted-quad addresses with a length 0-32`,
    );
  }
  return ipv4PrefixKey(address, length);
}

/** The key of IPv4 `address/length` (address as an unsigned 32-bit number; host bits ignored). */
export function ipv4PrefixKey(address: number, length: number): number {
  const network = length === 0 ? 0 : Math.floor(address / 2 ** (32 - length));
  return 2 ** length + network;
}

export function familyOfKey(key: PrefixKey): AddressFamily {
  return typeof key === 'number' ? 'ipv4' : 'ipv6';
}

export function prefixFromKey(key: PrefixKey): Prefix {
  if (typeof key === 'string') {
    const slash = key.lastIndexOf('/');
    return { family: 'ipv6', address: key.slice(0, slash), length: Number(key.slice(slash + 1)) };
  }
  const length = key >= TWO_POW_32 ? 32 : 31 - Math.clz32(key);
  const network = key - 2 ** length;
  return { family: 'ipv4', address: formatIPv4(network * 2 ** (32 - length)), length };
}

/** `/0` … `/32`, so the text of a key is one concatenation. */
const LENGTH_TEXT: readonly string[] = Array.from({ length: 33 }, (_, i) => `/${i}`);

/**
 * `a.b.c.d/len` of a key, made straight from the number (no Prefix object on the way): the FIB
 * and the speaker format every prefix of a table.
 */
export function formatPrefixKey(key: PrefixKey): string {
  if (typeof key === 'string') return key;
  const length = key >= TWO_POW_32 ? 32 : 31 - Math.clz32(key);
  const network = key - 2 ** length;
  return formatIPv4(network * 2 ** (32 - length)) + (LENGTH_TEXT[length] as string);
}
