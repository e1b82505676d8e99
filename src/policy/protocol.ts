/**
 * Protocols as numbers. Rules name protocols (`TCP`, `tcp`, `ICMPv6`) or give their IANA number;
 * packets carry the number. Comparing numbers makes `protocol: 6` and `protocol: TCP` the same rule.
 */
import type { Protocol } from '../api/index.js';

const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  tcp: 6,
  udp: 17,
  icmp: 1,
  icmpv6: 58,
  sctp: 132,
  udplite: 136,
};

const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  6: 'tcp',
  17: 'udp',
  1: 'icmp',
  58: 'icmpv6',
  132: 'sctp',
  136: 'udplite',
};

/** The protocol number, or undefined for an unknown name or a number outside 1..255. */
export function protocolNumber(p: Protocol): number | undefined {
  if (typeof p === 'number') return Number.isInteger(p) && p >= 0 && p <= 255 ? p : undefined;
  if (/^\d+$/.test(p)) return protocolNumber(Number(p));
  return PROTOCOL_NUMBERS[p.toLowerCase()];
}

/** Lower-case name for a known number (`6` → `tcp`), otherwise the number as text. */
export function protocolName(n: number): string {
  return PROTOCOL_NAMES[n] ?? String(n);
}

/** Protocols whose packets have ports (rules with `ports` only make sense for these). */
export function protocolHasPorts(n: number): boolean {
  return n === 6 || n === 17 || n === 132 || n === 136;
}

export function protocolIsIcmp(n: number): boolean {
  return n === 1 || n === 58;
}
