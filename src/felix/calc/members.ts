/**
 * Endpoint addresses as ipset members. The calculation formats each endpoint's addresses once per
 * update (not once per set it is in), and a cluster's worth of endpoints arrives at start-up, so the
 * usual form, IPv4 text that is already canonical, is taken as it is rather than parsed and printed.
 */
import { canonicalCidr, formatCidr, parseIpOrCidr } from '../../net/ip.js';

export interface MemberTexts {
  readonly 4: readonly string[];
  readonly 6: readonly string[];
}

export const NO_TEXTS: readonly string[] = [];

/** IPv4 CIDR text that formats to itself: no leading zeros, octets to 255, prefix to 32. */
const CANONICAL_IPV4_CIDR =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(?:3[0-2]|[12]?\d)$/;

/**
 * An endpoint's addresses (a workload's ipNetworks, a host endpoint's expectedIPs) as ipset
 * members: each as the policy view parses and formats it, text that is already in that form as it
 * is (the usual `10.0.3.7/32`, without a round trip through the parser).
 */
export function memberTextsOf(networks: readonly string[]): MemberTexts {
  let v4: string[] | undefined;
  let v6: string[] | undefined;
  for (const text of networks) {
    if (CANONICAL_IPV4_CIDR.test(text)) {
      (v4 ??= []).push(text);
      continue;
    }
    const n = parseIpOrCidr(text);
    if (n === undefined) continue;
    if (n.family === 4) (v4 ??= []).push(formatCidr(n));
    else (v6 ??= []).push(formatCidr(n));
  }
  return { 4: v4 ?? NO_TEXTS, 6: v6 ?? NO_TEXTS };
}

/**
 * A network's canonical text (host bits cleared), as `canonicalCidr` gives it; a canonical-looking
 * IPv4 /32 (a workload's usual address) has no host bits, so it is its own canonical text.
 */
export function canonicalNetworkText(text: string): string {
  if (text.endsWith('/32') && CANONICAL_IPV4_CIDR.test(text)) return text;
  return canonicalCidr(text) ?? text;
}

/**
 * Whether an address or CIDR text is IPv6. IPv4 text never has a colon and IPv6 text always has
 * one, so the calculation can sort a host's addresses by family without parsing each of them.
 */
export const isIpv6Text = (text: string): boolean => text.includes(':');

/** The same texts without the IPv6 ones, for a host that does not program IPv6. */
export function withoutIpv6(texts: MemberTexts): MemberTexts {
  return texts[6].length === 0 ? texts : { 4: texts[4], 6: NO_TEXTS };
}
